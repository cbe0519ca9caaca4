// The launch half of rolling-replace's EC2 mode, at the port: the AwsEc2Adapter on a stubbed
// EC2Client answered by the stateful Ec2Model (EC2's ClientToken rules, launch template lookups,
// capacity and throttling refusals classified for the executors).
import { EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { Ec2Refusal } from '../../../src/ports/ec2';
import { Ec2Model } from '../../support/aws/ec2-model';

const client = new EC2Client({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-only-secret' },
});
const mock = mockClient(client);
const adapter = new AwsEc2Adapter({ ec2Client: () => client });
let model: Ec2Model;

beforeEach(() => {
  mock.reset();
  model = new Ec2Model('eu-west-1', { launchDescribes: 1 }).addLaunchTemplate('broker', {
    id: 'lt-0123456789abcdef0',
    latestVersion: 3,
  });
  model.installOn(mock);
});

afterAll(() => {
  mock.restore();
  client.destroy();
});

const request = (tags: Record<string, string> = { 'cutover-bot:node': 'a' }) => ({
  launchTemplate: { name: 'broker' },
  clientToken: 'cutover-bot-token-a',
  tags,
});

async function refusal(promise: Promise<unknown>): Promise<Ec2Refusal> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Ec2Refusal);
  return error as Ec2Refusal;
}

test('the same ClientToken returns the same instance; pending, then running', async () => {
  const first = await adapter.runInstance('eu-west-1', request());
  const again = await adapter.runInstance('eu-west-1', request());
  expect(again.id).toBe(first.id);
  expect(model.launched).toEqual([first.id]);
  expect(first.state).toBe('pending');
  expect((await adapter.describeInstance('eu-west-1', first.id))?.state).toBe('pending');
  expect((await adapter.describeInstance('eu-west-1', first.id))?.state).toBe('running');
  expect(model.tagsOf(first.id)).toEqual({ 'cutover-bot:node': 'a' });
});

test('the same ClientToken with other parameters is IdempotentParameterMismatch, and nothing is launched', async () => {
  await adapter.runInstance('eu-west-1', request());
  const refused = await refusal(adapter.runInstance('eu-west-1', request({ 'cutover-bot:node': 'b' })));
  expect(refused.code).toBe('idempotency_mismatch');
  expect(refused.retryable).toBe(false);
  expect(model.launched).toHaveLength(1);
});

test('no capacity is its own refusal (retryable later), throttling is throttled', async () => {
  model.setCapacity(false);
  const capacity = await refusal(adapter.runInstance('eu-west-1', request()));
  expect(capacity).toMatchObject({ code: 'insufficient_capacity', retryable: true });
  model.setCapacity(true).failNext('RunInstances', 1);
  expect((await refusal(adapter.runInstance('eu-west-1', request()))).code).toBe('throttled');
  expect((await adapter.runInstance('eu-west-1', request())).id).toBe(model.launched[0]);
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
});

test('the DryRun permission check: allowed, or unauthorized when RunInstances is denied', async () => {
  await expect(adapter.checkLaunchPermission('eu-west-1', { name: 'broker' })).resolves.toBeUndefined();
  model.deny('RunInstances');
  expect((await refusal(adapter.checkLaunchPermission('eu-west-1', { name: 'broker' }))).code).toBe(
    'unauthorized',
  );
  expect(model.launched).toEqual([]);
});

test('terminate: shutting-down, then terminated; the data volume it held is let go', async () => {
  model.addInstance('i-0a000000000000001').addVolume('vol-0c000000000000001', {
    attachedTo: { instanceId: 'i-0a000000000000001', device: '/dev/sdf' },
  });
  await adapter.terminateInstance('eu-west-1', 'i-0a000000000000001');
  expect((await adapter.describeInstance('eu-west-1', 'i-0a000000000000001'))?.state).toBe('shutting-down');
  expect((await adapter.describeInstance('eu-west-1', 'i-0a000000000000001'))?.state).toBe('terminated');
  expect((await adapter.describeVolume('eu-west-1', 'vol-0c000000000000001'))?.state).toBe('available');
});
