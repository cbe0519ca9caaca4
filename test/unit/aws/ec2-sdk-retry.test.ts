// The SDK's own retry and client configuration, exercised for real against the AWS emulator:
// throttling is retried by the SDK's standard strategy, not by us, and the production client
// factory finds the emulator through AWS_ENDPOINT_URL_EC2 and the credentials in the environment.
import { AwsEc2Adapter, defaultEc2ClientFactory } from '../../../src/adapters/aws/ec2-adapter';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import { useAwsEmulator } from '../../support/services/aws/emulator';
import { fastEc2Client } from '../../support/services/aws/fast-retry-clients';

const REGION = 'eu-west-1';
const I_OLD = 'i-0a000000000000001';
const I_NEW = 'i-0b000000000000002';
const VOL = 'vol-0c000000000000001';
const emulator = useAwsEmulator();
const adapters: AwsEc2Adapter[] = [];

afterEach(() => {
  for (const adapter of adapters.splice(0)) adapter.destroy();
});

/** Standard retry mode with `maxAttempts` and a 1 ms backoff, so tests do not sleep. */
function setup(maxAttempts: number) {
  const ec2 = emulator()
    .reset({ ec2: { detachMs: 0 } })
    .ec2.addInstance(I_OLD)
    .addInstance(I_NEW)
    .addVolume(VOL, { attachedTo: { instanceId: I_OLD, device: '/dev/sdf' } });
  const client = fastEc2Client(REGION, maxAttempts);
  const adapter = new AwsEc2Adapter({ ec2Client: () => client });
  adapters.push(adapter);
  return { ec2, adapter };
}

describe('SDK retry on throttling', () => {
  it('retries a throttled DescribeVolumes and completes', async () => {
    const { ec2, adapter } = setup(4);
    ec2.throttle('DescribeVolumes', { count: 2 });
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({ state: 'in-use' });
    expect(ec2.count('DescribeVolumes')).toBe(3);
    expect(ec2.count('DescribeVolumes', 'ok')).toBe(1);
  });

  it('a throttled DetachVolume is retried by the SDK and executed once', async () => {
    const { ec2, adapter } = setup(4);
    ec2.throttle('DetachVolume');
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    expect(ec2.history()).toEqual([
      `DetachVolume ${VOL} ${I_OLD} force=false -> RequestLimitExceeded`,
      `DetachVolume ${VOL} ${I_OLD} force=false`,
    ]);
    expect(ec2.calls.map((call) => call.headers['amz-sdk-request'])).toEqual([
      'attempt=1; max=4',
      'attempt=2; max=4',
    ]);
  });

  it('the DryRun answers are not retried', async () => {
    const { ec2, adapter } = setup(4);
    ec2.deny('AttachVolume');
    const error: unknown = await adapter
      .checkPermissions(REGION, VOL, I_OLD, I_NEW, '/dev/sdf')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unauthorized' });
    expect(ec2.count('DetachVolume', 'DryRunOperation')).toBe(1);
    expect(ec2.count('AttachVolume', 'UnauthorizedOperation')).toBe(1);
  });

  it('surfaces throttling that outlasts maxAttempts as throttled, retryable', async () => {
    const { ec2, adapter } = setup(3);
    ec2.throttle('AttachVolume', { count: 10 });
    const error: unknown = await adapter
      .attachVolume(REGION, VOL, I_NEW, '/dev/sdg')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsRefusal);
    expect(error).toMatchObject({ code: 'throttled', retryable: true });
    expect((error as AwsRefusal).awsCode).toBe('RequestLimitExceeded');
    expect(ec2.count('AttachVolume')).toBe(3);
  });

  it('does not retry IncorrectState', async () => {
    const { ec2, adapter } = setup(4);
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    const error: unknown = await adapter.detachVolume(REGION, VOL, I_OLD, false).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'incorrect_state' });
    expect(ec2.count('DetachVolume')).toBe(2);
  });

  it('a lost response is sent again by the SDK: the repeated detach finds it under way and changes nothing', async () => {
    const { ec2, adapter } = setup(4);
    emulator().reset({ ec2: { detachMs: 60_000 } });
    ec2.addInstance(I_OLD).addVolume(VOL, { attachedTo: { instanceId: I_OLD, device: '/dev/sdf' } });
    ec2.loseNextResponse('DetachVolume');
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    expect(ec2.calls.map((call) => call.outcome)).toEqual(['lost-response', 'ok']);
    expect(ec2.volume(VOL)?.attachments).toEqual([
      { instanceId: I_OLD, device: '/dev/sdf', state: 'detaching' },
    ]);
  });
});

describe('default clients: the SDK standard configuration', () => {
  it('use the standard retry mode with 5 attempts, and the target region', async () => {
    const client = defaultEc2ClientFactory('eu-central-1');
    await expect(client.config.region()).resolves.toBe('eu-central-1');
    await expect(client.config.maxAttempts()).resolves.toBe(5);
    await expect(client.config.retryStrategy()).resolves.toMatchObject({ mode: 'standard' });
    client.destroy();
  });

  it('find the emulator through AWS_ENDPOINT_URL_EC2 and sign with the env credentials; retry RequestLimitExceeded', async () => {
    expect(process.env.AWS_ENDPOINT_URL_EC2).toBe(emulator().url);
    const ec2 = emulator().reset().ec2.addInstance(I_OLD);
    ec2.throttle('StopInstances');
    const adapter = new AwsEc2Adapter();
    adapters.push(adapter);

    await adapter.stopInstance('eu-central-1', I_OLD);
    expect(ec2.actions()).toEqual([`StopInstances ${I_OLD}`]);
    // The emulator checks every signature: both attempts were signed with the environment's keys.
    expect(ec2.calls.map((call) => [call.region, call.outcome, call.headers['amz-sdk-request']])).toEqual([
      ['eu-central-1', 'RequestLimitExceeded', 'attempt=1; max=5'],
      ['eu-central-1', 'ok', 'attempt=2; max=5'],
    ]);
  });

  it('a wrong secret is refused by EC2 (AuthFailure) and read as unauthorized, not retried', async () => {
    const ec2 = emulator().reset().ec2.addInstance(I_OLD);
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    try {
      const adapter = new AwsEc2Adapter();
      adapters.push(adapter);
      const error: unknown = await adapter.describeInstance(REGION, I_OLD).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'unauthorized', retryable: false });
      expect((error as AwsRefusal).awsCode).toBe('AuthFailure');
      expect(ec2.count('DescribeInstances', 'AuthFailure')).toBe(1);
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  });
});
