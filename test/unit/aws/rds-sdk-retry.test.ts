// The SDK's own retry, endpoint and client configuration, exercised for real against the AWS
// emulator: throttling of reads is retried by the SDK's standard strategy, not by us; irreversible
// requests go out once per call (the SDK would send them again after a lost answer); the
// production client factories find the emulator through AWS_ENDPOINT_URL_RDS / _CLOUDWATCH and the
// credentials in the environment.
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import {
  defaultCloudWatchClientFactory,
  defaultRdsClientFactory,
  defaultRdsSendOnceClientFactory,
} from '../../../src/adapters/aws/rds-clients';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import {
  OutcomeUnknown,
  promoteIfStillReplica,
} from '../../../src/strategies/replica-promotion/rds-decisions';
import { rdsError, useAwsEmulator } from '../../support/services/aws/emulator';
import { fastRdsClient } from '../../support/services/aws/fast-retry-clients';

const REGION = 'eu-west-1';
const emulator = useAwsEmulator();
const adapters: AwsRdsAdapter[] = [];

afterEach(() => {
  for (const adapter of adapters.splice(0)) adapter.destroy();
});

/** Standard retry mode with `maxAttempts` and a 1 ms backoff, so tests do not sleep. */
function adapterWith(maxAttempts: number): AwsRdsAdapter {
  const client = fastRdsClient(REGION, maxAttempts);
  const adapter = new AwsRdsAdapter({
    rdsClient: () => client,
    minDelaySeconds: 0.01,
    maxDelaySeconds: 0.02,
  });
  adapters.push(adapter);
  return adapter;
}

function replicaPair() {
  return emulator().reset().rds.addInstance('orders').addReplica('orders-replica', 'orders');
}

describe('SDK retry on throttling', () => {
  it('retries a throttled DescribeDBInstances and completes', async () => {
    const rds = replicaPair();
    rds.throttle('DescribeDBInstances', { count: 2 });
    const adapter = adapterWith(4);

    await expect(adapter.describeReplica(REGION, 'orders-replica')).resolves.toMatchObject({
      sourceId: 'orders',
      status: 'available',
    });
    expect(rds.count('DescribeDBInstances')).toBe(3);
    expect(rds.count('DescribeDBInstances', 'ok')).toBe(1);
  });

  it('a throttled PromoteReadReplica is not retried by the SDK: throttled, retryable, nothing promoted', async () => {
    const rds = replicaPair();
    rds.throttle('PromoteReadReplica');
    const adapter = adapterWith(4);

    const error: unknown = await adapter
      .promoteReadReplica(REGION, 'orders-replica')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'throttled', retryable: true, awsCode: 'Throttling' });
    expect(rds.events).toEqual([]);
    await adapter.promoteReadReplica(REGION, 'orders-replica');
    expect(rds.commands()).toEqual(['PromoteReadReplica!Throttling', 'PromoteReadReplica']);
  });

  it('surfaces throttling that outlasts maxAttempts as throttled, retryable', async () => {
    const rds = emulator().reset().rds.addInstance('orders');
    rds.throttle('DescribeDBInstances', { count: 10 });
    const adapter = adapterWith(3);

    const error: unknown = await adapter.describeReplica(REGION, 'orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsRefusal);
    expect(error).toMatchObject({ code: 'throttled', retryable: true, awsCode: 'Throttling' });
    expect(rds.count('DescribeDBInstances')).toBe(3);
  });

  it('the waiter rides out throttling between polls', async () => {
    const rds = replicaPair();
    const adapter = adapterWith(2);
    await adapter.promoteReadReplica(REGION, 'orders-replica');
    rds.throttle('DescribeDBInstances', { count: 5 });

    await expect(
      adapter.waitAvailable(REGION, 'orders-replica', 10_000, { untilPromoted: true }),
    ).resolves.toMatchObject({ outcome: 'available', instance: { sourceId: null } });
    expect(rds.count('DescribeDBInstances', 'Throttling')).toBe(5);
  });

  it('a lost PromoteReadReplica answer is not sent again by the SDK: the outcome is unknown to the caller', async () => {
    // With the standard retry the SDK would send it a second time; RDS would refuse that one
    // (InvalidDBInstanceState) and the caller would read "refused" about a request carried out.
    const rds = replicaPair();
    rds.loseNextResponse('PromoteReadReplica');
    const adapter = adapterWith(4);

    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).rejects.toBeInstanceOf(
      OutcomeUnknown,
    );
    expect(rds.commands()).toEqual(['DescribeDBInstances', 'PromoteReadReplica!lost-response']);
    expect(rds.events).toEqual(['PromoteReadReplica orders-replica']);
  });

  it('a 5xx answer to ModifyDBInstance is not retried (RDS may have acted); to a describe it is', async () => {
    const { rds } = emulator().reset();
    rds.addInstance('billing-db');
    rds.failNext('ModifyDBInstance', rdsError('InternalFailure', 500, 'An internal error occurred'));
    rds.failNext('DescribeDBInstances', rdsError('InternalFailure', 500, 'An internal error occurred'));
    const adapter = adapterWith(4);

    const error: unknown = await adapter
      .modifyInstance(REGION, 'billing-db', { DBInstanceClass: 'db.r6g.large' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'other', retryable: true, httpStatusCode: 500 });
    await expect(adapter.describeInstanceSettings(REGION, 'billing-db')).resolves.toMatchObject({
      id: 'billing-db',
    });
    expect(rds.commands()).toEqual([
      'ModifyDBInstance!InternalFailure',
      'DescribeDBInstances!InternalFailure',
      'DescribeDBInstances',
    ]);
  });
});

describe('default clients: the SDK standard configuration', () => {
  it('use the standard retry mode with 5 attempts, and the target region; irreversible requests one attempt', async () => {
    const sendOnce = defaultRdsSendOnceClientFactory('eu-central-1');
    await expect(sendOnce.config.region()).resolves.toBe('eu-central-1');
    await expect(sendOnce.config.maxAttempts()).resolves.toBe(1);
    sendOnce.destroy();
    const rds = defaultRdsClientFactory('eu-central-1');
    const cloudWatch = defaultCloudWatchClientFactory('eu-central-1');
    for (const client of [rds, cloudWatch]) {
      await expect(client.config.region()).resolves.toBe('eu-central-1');
      await expect(client.config.maxAttempts()).resolves.toBe(5);
      await expect(client.config.retryStrategy()).resolves.toMatchObject({ mode: 'standard' });
      client.destroy();
    }
  });

  it('find the emulator through AWS_ENDPOINT_URL_RDS and sign with the env credentials; retry throttling with real backoff', async () => {
    expect(process.env.AWS_ENDPOINT_URL_RDS).toBe(emulator().url);
    const rds = emulator().reset().rds.addInstance('orders');
    rds.throttle('DescribeDBInstances');
    const adapter = new AwsRdsAdapter();
    adapters.push(adapter);

    await expect(adapter.describeReplica('eu-central-1', 'orders')).resolves.toMatchObject({ id: 'orders' });
    // The emulator checks every signature: both attempts were signed with the environment's keys.
    expect(rds.calls.map((call) => [call.region, call.outcome, call.headers['amz-sdk-request']])).toEqual([
      ['eu-central-1', 'Throttling', 'attempt=1; max=5'],
      ['eu-central-1', 'ok', 'attempt=2; max=5'],
    ]);
  });

  it('find CloudWatch through AWS_ENDPOINT_URL_CLOUDWATCH and read ReplicaLag', async () => {
    const { cloudWatch } = emulator().reset();
    cloudWatch.addReplicaLag('orders-replica', new Date(Date.now() - 60_000), 3.5);
    const adapter = new AwsRdsAdapter();
    adapters.push(adapter);

    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBe(3.5);
    expect(cloudWatch.calls.map((call) => [call.region, call.outcome])).toEqual([[REGION, 'ok']]);
  });

  it('an unknown access key is refused by RDS (InvalidClientTokenId) and read as unauthorized', async () => {
    const rds = emulator().reset().rds.addInstance('orders');
    const saved = process.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_ACCESS_KEY_ID = 'AKIANOTKNOWNTOTHEEMU';
    try {
      const adapter = new AwsRdsAdapter();
      adapters.push(adapter);
      const error: unknown = await adapter.describeReplica(REGION, 'orders').catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'unauthorized',
        retryable: false,
        awsCode: 'InvalidClientTokenId',
        httpStatusCode: 403,
      });
      expect(rds.count('DescribeDBInstances', 'InvalidClientTokenId')).toBe(1);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved;
    }
  });
});
