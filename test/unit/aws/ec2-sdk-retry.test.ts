// The SDK's own retry and client configuration, exercised for real: the model sits where the
// network would be (inside the retry middleware), so throttling is retried by the SDK's standard
// strategy, not by us. No aws-sdk-client-mock in this file: it would replace send.
import { EC2Client } from '@aws-sdk/client-ec2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

import { AwsEc2Adapter, defaultEc2ClientFactory } from '../../../src/adapters/aws/ec2-adapter';
import { Ec2Refusal } from '../../../src/ports/ec2';
import { Ec2Model } from '../../support/aws/ec2-model';

const REGION = 'eu-west-1';
const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-only-secret' };

/** Standard retry mode with a 1 ms backoff, so tests do not sleep. */
function fastClient(model: Ec2Model, maxAttempts: number): EC2Client {
  const client = new EC2Client({
    region: REGION,
    credentials: TEST_CREDENTIALS,
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 1),
  });
  model.attachTo(client);
  return client;
}

function setup(maxAttempts: number) {
  const model = new Ec2Model(REGION, { detachDescribes: 0 })
    .addInstance('i-old')
    .addInstance('i-new')
    .addVolume('vol-1', { attachedTo: { instanceId: 'i-old', device: '/dev/sdf' } });
  const client = fastClient(model, maxAttempts);
  return { model, adapter: new AwsEc2Adapter({ ec2Client: () => client }) };
}

describe('SDK retry on throttling', () => {
  it('retries a throttled DescribeVolumes and completes', async () => {
    const { model, adapter } = setup(4);
    model.failNext('DescribeVolumes', 2);
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({ state: 'in-use' });
    expect(model.count('DescribeVolumes')).toBe(3);
    expect(model.count('DescribeVolumes', 'ok')).toBe(1);
  });

  it('a throttled DetachVolume is retried by the SDK and executed once', async () => {
    const { model, adapter } = setup(4);
    model.failNext('DetachVolume', 1);
    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    expect(model.history()).toEqual([
      'DetachVolume vol-1 i-old force=false -> RequestLimitExceeded',
      'DetachVolume vol-1 i-old force=false',
    ]);
  });

  it('the DryRun answers are not retried', async () => {
    const { model, adapter } = setup(4);
    model.deny('AttachVolume');
    const error: unknown = await adapter
      .checkPermissions(REGION, 'vol-1', 'i-old', 'i-new', '/dev/sdf')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unauthorized' });
    expect(model.count('DetachVolume', 'DryRunOperation')).toBe(1);
    expect(model.count('AttachVolume', 'UnauthorizedOperation')).toBe(1);
  });

  it('surfaces throttling that outlasts maxAttempts as throttled, retryable', async () => {
    const { model, adapter } = setup(3);
    model.failNext('AttachVolume', 10);
    const error: unknown = await adapter
      .attachVolume(REGION, 'vol-1', 'i-new', '/dev/sdg')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Ec2Refusal);
    expect(error).toMatchObject({ code: 'throttled', retryable: true });
    expect((error as Ec2Refusal).details.awsCode).toBe('RequestLimitExceeded');
    expect(model.count('AttachVolume')).toBe(3);
  });

  it('does not retry IncorrectState', async () => {
    const { model, adapter } = setup(4);
    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    const error: unknown = await adapter
      .detachVolume(REGION, 'vol-1', 'i-old', false)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'incorrect_state' });
    expect(model.count('DetachVolume')).toBe(2);
  });
});

describe('default clients: the SDK standard configuration', () => {
  const touched = [
    'AWS_ENDPOINT_URL_EC2',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
  ] as const;
  const saved = Object.fromEntries(touched.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of touched) {
      const value = saved[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('use the standard retry mode with 5 attempts, and the target region', async () => {
    const client = defaultEc2ClientFactory('eu-central-1');
    await expect(client.config.region()).resolves.toBe('eu-central-1');
    await expect(client.config.maxAttempts()).resolves.toBe(5);
    await expect(client.config.retryStrategy()).resolves.toMatchObject({ mode: 'standard' });
    client.destroy();
  });

  it('honor AWS_ENDPOINT_URL_EC2 and env credentials, and retry RequestLimitExceeded', async () => {
    process.env.AWS_ENDPOINT_URL_EC2 = 'http://localhost:4566';
    process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const model = new Ec2Model(REGION).addInstance('i-old');
    model.failNext('StopInstances', 1);
    const requests: { hostname: string; port?: number; headers: Record<string, string> }[] = [];
    const adapter = new AwsEc2Adapter({
      ec2Client: (region) => {
        const client = defaultEc2ClientFactory(region);
        model.attachTo(client, (request) => requests.push(request as (typeof requests)[number]));
        return client;
      },
    });

    await adapter.stopInstance(REGION, 'i-old');
    expect(model.actions()).toEqual(['StopInstances i-old']);
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ hostname: 'localhost', port: 4566 });
    expect(requests[1]!.headers['amz-sdk-request']).toBe('attempt=2; max=5');
    expect(requests[0]!.headers.authorization).toContain(`Credential=${TEST_CREDENTIALS.accessKeyId}/`);
    adapter.destroy();
  }, 20_000);
});
