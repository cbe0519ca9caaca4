// The SDK's own retry, endpoint and client configuration, exercised for real: the model sits where
// the network would be (inside the retry middleware), so throttling is retried by the SDK's
// standard strategy, not by us. No aws-sdk-client-mock in this file: it would replace send.
import { RDSClient } from '@aws-sdk/client-rds';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

import {
  AwsRdsAdapter,
  defaultCloudWatchClientFactory,
  defaultRdsClientFactory,
} from '../../../src/adapters/aws/rds-adapter';
import { AwsRefusal } from '../../../src/ports/rds';
import { RdsModel } from '../../support/aws/rds-model';

const REGION = 'eu-west-1';
const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-only-secret' };

/** Standard retry mode with a 1 ms backoff, so tests do not sleep. */
function fastClient(model: RdsModel, maxAttempts: number): RDSClient {
  const client = new RDSClient({
    region: REGION,
    credentials: TEST_CREDENTIALS,
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 1),
  });
  model.attachToRds(client);
  return client;
}

function adapterOn(client: RDSClient): AwsRdsAdapter {
  return new AwsRdsAdapter({ rdsClient: () => client, minDelaySeconds: 0.01, maxDelaySeconds: 0.02 });
}

describe('SDK retry on throttling', () => {
  it('retries a throttled DescribeDBInstances and completes', async () => {
    const model = new RdsModel(REGION).addInstance('orders').addReplica('orders-replica', 'orders');
    model.failNext('DescribeDBInstances', 2);
    const adapter = adapterOn(fastClient(model, 4));

    await expect(adapter.describeReplica(REGION, 'orders-replica')).resolves.toMatchObject({
      sourceId: 'orders',
      status: 'available',
    });
    expect(model.count('DescribeDBInstances')).toBe(3);
    expect(model.count('DescribeDBInstances', 'ok')).toBe(1);
  });

  it('a throttled PromoteReadReplica is retried by the SDK and executed once', async () => {
    const model = new RdsModel(REGION).addInstance('orders').addReplica('orders-replica', 'orders');
    model.failNext('PromoteReadReplica', 1, () => {
      const error = new Error('Request limit exceeded.');
      return Object.assign(error, {
        name: 'RequestLimitExceeded',
        $metadata: { httpStatusCode: 503 },
        $retryable: { throttling: true },
      });
    });
    const adapter = adapterOn(fastClient(model, 4));

    await adapter.promoteReadReplica(REGION, 'orders-replica');
    expect(model.count('PromoteReadReplica')).toBe(2);
    expect(model.count('PromoteReadReplica', 'ok')).toBe(1);
  });

  it('surfaces throttling that outlasts maxAttempts as throttled, retryable', async () => {
    const model = new RdsModel(REGION).addInstance('orders');
    model.failNext('DescribeDBInstances', 10);
    const adapter = adapterOn(fastClient(model, 3));

    const error: unknown = await adapter.describeReplica(REGION, 'orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsRefusal);
    expect(error).toMatchObject({ code: 'throttled', retryable: true, awsCode: 'Throttling' });
    expect(model.count('DescribeDBInstances')).toBe(3);
  });

  it('the waiter rides out throttling between polls', async () => {
    const model = new RdsModel(REGION, { modifying: 1, rebooting: 1 })
      .addInstance('orders')
      .addReplica('orders-replica', 'orders');
    const adapter = adapterOn(fastClient(model, 2));
    await adapter.promoteReadReplica(REGION, 'orders-replica');
    model.failNext('DescribeDBInstances', 5);

    await expect(
      adapter.waitAvailable(REGION, 'orders-replica', 10_000, { untilPromoted: true }),
    ).resolves.toMatchObject({ outcome: 'available', instance: { sourceId: null } });
  });
});

describe('default clients: the SDK standard configuration', () => {
  const touched = [
    'AWS_ENDPOINT_URL_RDS',
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
    const rds = defaultRdsClientFactory('eu-central-1');
    const cloudWatch = defaultCloudWatchClientFactory('eu-central-1');
    for (const client of [rds, cloudWatch]) {
      await expect(client.config.region()).resolves.toBe('eu-central-1');
      await expect(client.config.maxAttempts()).resolves.toBe(5);
      await expect(client.config.retryStrategy()).resolves.toMatchObject({ mode: 'standard' });
      client.destroy();
    }
  });

  it('honor AWS_ENDPOINT_URL_RDS and env credentials, and retry throttling with real backoff', async () => {
    process.env.AWS_ENDPOINT_URL_RDS = 'http://localhost:4566';
    process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const model = new RdsModel(REGION).addInstance('orders');
    model.failNext('DescribeDBInstances', 1);
    const requests: { hostname: string; port?: number; headers: Record<string, string> }[] = [];
    const adapter = new AwsRdsAdapter({
      rdsClient: (region) => {
        const client = defaultRdsClientFactory(region);
        model.attachToRds(client, (request) => requests.push(request as (typeof requests)[number]));
        return client;
      },
    });

    await expect(adapter.describeReplica(REGION, 'orders')).resolves.toMatchObject({ id: 'orders' });
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ hostname: 'localhost', port: 4566 });
    expect(requests[1]!.headers['amz-sdk-request']).toBe('attempt=2; max=5');
    expect(requests[0]!.headers.authorization).toContain(`Credential=${TEST_CREDENTIALS.accessKeyId}/`);
    adapter.destroy();
  });
});
