// The launch half of rolling-replace's EC2 mode, at the port: the AwsEc2Adapter on a real EC2Client
// against the AWS emulator (EC2's ClientToken rules, launch template lookups, capacity and
// throttling refusals classified for the executors). The client retries as production's does
// (standard mode, 5 attempts) with a 1 ms backoff; time is a ManualClock the tests step.
import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import { isDryRun, useAwsEmulator } from '../../support/services/aws/emulator';
import type { Ec2Emulator } from '../../support/services/aws/emulator';
import { fastEc2Client } from '../../support/services/aws/fast-retry-clients';
import { ManualClock } from '../../support/fakes/manual-clock';

const LAUNCH_MS = 1_000;
const emulator = useAwsEmulator();
const client = fastEc2Client('eu-west-1');
const adapter = new AwsEc2Adapter({ ec2Client: () => client });
let ec2: Ec2Emulator;
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock();
  ec2 = emulator()
    .reset({ clock, ec2: { launchMs: LAUNCH_MS, terminateMs: LAUNCH_MS } })
    .ec2.addLaunchTemplate('broker', { id: 'lt-0123456789abcdef0', latestVersion: 3 });
});

afterAll(() => client.destroy());

const request = (tags: Record<string, string> = { 'cutover-bot:node': 'a' }) => ({
  launchTemplate: { name: 'broker' },
  clientToken: 'cutover-bot-token-a',
  tags,
});

async function refusal(promise: Promise<unknown>): Promise<AwsRefusal> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AwsRefusal);
  return error as AwsRefusal;
}

test('the same ClientToken returns the same instance; pending, then running', async () => {
  const first = await adapter.runInstance('eu-west-1', request());
  const again = await adapter.runInstance('eu-west-1', request());
  expect(again.id).toBe(first.id);
  expect(ec2.launched).toEqual([first.id]);
  expect(first.state).toBe('pending');
  expect((await adapter.describeInstance('eu-west-1', first.id))?.state).toBe('pending');
  clock.advance(LAUNCH_MS);
  expect((await adapter.describeInstance('eu-west-1', first.id))?.state).toBe('running');
  expect(ec2.tagsOf(first.id)).toEqual({ 'cutover-bot:node': 'a' });
});

test('the same ClientToken with other parameters is IdempotentParameterMismatch, and nothing is launched', async () => {
  await adapter.runInstance('eu-west-1', request());
  const refused = await refusal(adapter.runInstance('eu-west-1', request({ 'cutover-bot:node': 'b' })));
  expect(refused.code).toBe('idempotency_mismatch');
  expect(refused.retryable).toBe(false);
  expect(ec2.launched).toHaveLength(1);
});

test('no capacity is its own refusal (retryable later), throttling is throttled', async () => {
  ec2.setCapacity(false);
  const capacity = await refusal(adapter.runInstance('eu-west-1', request()));
  expect(capacity).toMatchObject({ code: 'insufficient_capacity', retryable: true });
  // EC2 answers it with a 500: the SDK tried 5 times before giving up.
  expect(ec2.count('RunInstances', 'InsufficientInstanceCapacity')).toBe(5);
  ec2.setCapacity(true).throttle('RunInstances', { count: 5 });
  expect((await refusal(adapter.runInstance('eu-west-1', request()))).code).toBe('throttled');
  expect((await adapter.runInstance('eu-west-1', request())).id).toBe(ec2.launched[0]);
  expect(ec2.launched).toHaveLength(1);
});

test('launch templates: found by name or id, null when missing; an unknown version is not_found', async () => {
  expect(await adapter.describeLaunchTemplate('eu-west-1', { name: 'broker' })).toEqual({
    id: 'lt-0123456789abcdef0',
    name: 'broker',
    defaultVersion: 1,
    latestVersion: 3,
  });
  expect(await adapter.describeLaunchTemplate('eu-west-1', { id: 'lt-0123456789abcdef0' })).not.toBeNull();
  expect(await adapter.describeLaunchTemplate('eu-west-1', { name: 'nope' })).toBeNull();
  expect(await adapter.describeLaunchTemplate('eu-west-1', { id: 'lt-0fffffffffffffff0' })).toBeNull();
  const missing = await refusal(
    adapter.runInstance('eu-west-1', { ...request(), launchTemplate: { name: 'broker', version: '9' } }),
  );
  expect(missing.code).toBe('not_found');
  expect(missing.awsCode).toBe('InvalidLaunchTemplateId.VersionNotFound');
});

test('the DryRun permission check: allowed, or unauthorized when RunInstances is denied', async () => {
  await expect(adapter.checkLaunchPermission('eu-west-1', { name: 'broker' })).resolves.toBeUndefined();
  ec2.deny('RunInstances');
  expect((await refusal(adapter.checkLaunchPermission('eu-west-1', { name: 'broker' }))).code).toBe(
    'unauthorized',
  );
  expect(ec2.launched).toEqual([]);
  expect(ec2.calls.every((call) => isDryRun(call.params))).toBe(true);
});

test('terminate: shutting-down, then terminated; the data volume it held is let go', async () => {
  ec2.addInstance('i-0a000000000000001').addVolume('vol-0c000000000000001', {
    attachedTo: { instanceId: 'i-0a000000000000001', device: '/dev/sdf' },
  });
  await adapter.terminateInstance('eu-west-1', 'i-0a000000000000001');
  expect((await adapter.describeInstance('eu-west-1', 'i-0a000000000000001'))?.state).toBe('shutting-down');
  clock.advance(LAUNCH_MS);
  expect((await adapter.describeInstance('eu-west-1', 'i-0a000000000000001'))?.state).toBe('terminated');
  expect((await adapter.describeVolume('eu-west-1', 'vol-0c000000000000001'))?.state).toBe('available');
});
