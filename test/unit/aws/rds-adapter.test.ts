// AwsRdsAdapter against the stateful RDS model, through aws-sdk-client-mock (send is stubbed, so
// the SDK's retry middleware does not run here; rds-sdk-retry.test.ts covers it with real clients).
import {
  DescribeDBInstancesCommand,
  PromoteReadReplicaCommand,
  RDSClient,
  SwitchoverBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { AwsRdsAdapterOptions } from '../../../src/adapters/aws/rds-adapter';
import {
  promoteIfStillReplica,
  promotionVerified,
  replicaPreflight,
  switchoverIfReady,
} from '../../../src/strategies/replica-promotion/rds-decisions';
import { AwsRefusal } from '../../../src/ports/rds';
import { accessDeniedError, RdsModel, throttlingError } from '../../support/aws/rds-model';
import type { PromotionScript } from '../../support/aws/rds-model';

const REGION = 'eu-west-1';
const NOW = new Date('2025-03-02T02:10:00Z');

const rdsMock = mockClient(RDSClient);
const cloudWatchMock = mockClient(CloudWatchClient);

afterEach(() => {
  rdsMock.reset();
  cloudWatchMock.reset();
});

afterAll(() => {
  rdsMock.restore();
  cloudWatchMock.restore();
});

function setup(promotion: PromotionScript = {}, options: AwsRdsAdapterOptions = {}) {
  const model = new RdsModel(REGION, promotion);
  model.installOn(rdsMock, cloudWatchMock);
  const adapter = new AwsRdsAdapter({
    minDelaySeconds: 0.01,
    maxDelaySeconds: 0.02,
    switchoverStartGraceSeconds: 0.2,
    clock: { now: () => NOW },
    ...options,
  });
  return { model, adapter };
}

async function refusalOf(promise: Promise<unknown>): Promise<AwsRefusal> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AwsRefusal);
    return error as AwsRefusal;
  }
  throw new Error('expected an AwsRefusal');
}

describe('read-replica promotion', () => {
  it('describes, promotes once, waits through modifying and rebooting, verifies', async () => {
    const { model, adapter } = setup({ modifying: 2, rebooting: 2 });
    model.addInstance('orders').addReplica('orders-replica', 'orders');

    const before = await adapter.describeReplica(REGION, 'orders-replica');
    expect(before).toMatchObject({
      id: 'orders-replica',
      status: 'available',
      sourceId: 'orders',
      pendingModifications: false,
      endpoint: { address: expect.stringContaining('orders-replica.'), port: 5432 },
    });
    expect(replicaPreflight(before, 'orders')).toEqual({ blockers: [], warnings: [] });

    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('promoted');
    const describesBeforeWait = model.count('DescribeDBInstances');

    const waited = await adapter.waitAvailable(REGION, 'orders-replica', 10_000, { untilPromoted: true });

    expect(waited.outcome).toBe('available');
    expect(waited.instance).toMatchObject({ status: 'available', sourceId: null });
    expect(promotionVerified(waited.instance)).toBe(true);
    expect(model.count('PromoteReadReplica')).toBe(1);
    expect(rdsMock.commandCalls(PromoteReadReplicaCommand)).toHaveLength(1);
    // modifying, modifying, rebooting, rebooting, then available: the waiter polled through them.
    const statusesSeen = model.calls
      .slice(describesBeforeWait)
      .filter((call) => call.command === 'DescribeDBInstances').length;
    expect(statusesSeen).toBeGreaterThanOrEqual(4);
    expect(await adapter.describeReplica(REGION, 'orders')).toMatchObject({ replicaIds: [] });
  });

  it('does not stop at a stale `available` right after the request when waiting untilPromoted', async () => {
    const { model, adapter } = setup({ stale: 2, modifying: 1, rebooting: 1 });
    model.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');

    const naive = await adapter.waitAvailable(REGION, 'orders-replica', 5_000);
    expect(naive).toMatchObject({ outcome: 'available', instance: { sourceId: 'orders' } });

    const promoted = await adapter.waitAvailable(REGION, 'orders-replica', 5_000, { untilPromoted: true });
    expect(promoted).toMatchObject({
      outcome: 'available',
      instance: { status: 'available', sourceId: null },
    });
    expect(model.count('PromoteReadReplica')).toBe(1);
  });

  it('after a crash past PromoteReadReplica, describe-first never sends it again', async () => {
    const { model, adapter } = setup({ stale: 1, modifying: 2, rebooting: 1 });
    model.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica'); // the attempt that "crashed"

    // RDS still shows an available replica: only the executor's record says it may have been sent.
    await expect(
      promoteIfStillReplica(adapter, REGION, 'orders-replica', { previouslyAttempted: true }),
    ).resolves.toBe('in_progress');
    // Now modifying: the world alone says not to send.
    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('in_progress');

    await adapter.waitAvailable(REGION, 'orders-replica', 5_000, { untilPromoted: true });
    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('already_promoted');
    expect(model.count('PromoteReadReplica')).toBe(1);
  });

  it('when RDS refuses a promotion it already accepted (stale describe), asks for a later retry', async () => {
    const { model, adapter } = setup({ stale: 3 });
    model.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');

    // The executor lost its record; describe shows an available replica; RDS says InvalidDBInstanceState.
    const refusal = await refusalOf(promoteIfStillReplica(adapter, REGION, 'orders-replica'));
    expect(refusal).toMatchObject({ code: 'invalid_state', retryable: true });
    // The retried step describes first and now sees the promotion.
    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('in_progress');
    expect(model.count('PromoteReadReplica', 'ok')).toBe(1);
  });

  it('refuses to promote an instance that is not a replica with invalid_state', async () => {
    const { model, adapter } = setup();
    model.addInstance('orders');

    const refusal = await refusalOf(adapter.promoteReadReplica(REGION, 'orders'));
    expect(refusal).toMatchObject({
      code: 'invalid_state',
      retryable: false,
      awsCode: 'InvalidDBInstanceStateFault',
      httpStatusCode: 400,
    });
    await expect(promoteIfStillReplica(adapter, REGION, 'orders')).resolves.toBe('already_promoted');
    expect(model.count('PromoteReadReplica')).toBe(1);
  });

  it('preflight names what blocks: wrong source, backing-up, pending modifications', async () => {
    const { model, adapter } = setup();
    model
      .addInstance('orders')
      .addInstance('billing')
      .addReplica('orders-replica', 'billing', { status: 'backing-up', pendingModifications: true });

    const preflight = replicaPreflight(await adapter.describeReplica(REGION, 'orders-replica'), 'orders');
    expect(preflight.blockers).toEqual([
      'orders-replica replicates from billing, not from orders',
      'orders-replica is backing up; promotion waits for the backup',
    ]);
    expect(preflight.warnings).toEqual(['orders-replica has pending modifications']);
  });

  it('reports a missing instance as null / not_found, fast', async () => {
    const { adapter } = setup();
    await expect(adapter.describeReplica(REGION, 'ghost')).resolves.toBeNull();
    expect(await refusalOf(adapter.promoteReadReplica(REGION, 'ghost'))).toMatchObject({ code: 'not_found' });
    await expect(promoteIfStillReplica(adapter, REGION, 'ghost')).rejects.toMatchObject({
      code: 'not_found',
    });

    const started = Date.now();
    const refusal = await refusalOf(adapter.waitAvailable(REGION, 'ghost', 30_000));
    expect(refusal.code).toBe('not_found');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('classifies AccessDenied as unauthorized and stops a wait at once', async () => {
    const { model, adapter } = setup();
    model.addInstance('orders').addReplica('orders-replica', 'orders');
    model.failAlways('DescribeDBInstances', () => accessDeniedError());

    expect(await refusalOf(adapter.describeReplica(REGION, 'orders-replica'))).toMatchObject({
      code: 'unauthorized',
      retryable: false,
      awsCode: 'AccessDenied',
      httpStatusCode: 403,
    });
    const started = Date.now();
    expect(await refusalOf(adapter.waitAvailable(REGION, 'orders-replica', 30_000))).toMatchObject({
      code: 'unauthorized',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('classifies throttling that outlasted the SDK retries as throttled, retryable', async () => {
    const { model, adapter } = setup();
    model.addInstance('orders').addReplica('orders-replica', 'orders');
    model.failNext('DescribeDBInstances', 1, () => throttlingError('RequestLimitExceeded'));

    expect(await refusalOf(adapter.describeReplica(REGION, 'orders-replica'))).toMatchObject({
      code: 'throttled',
      retryable: true,
    });
    await expect(adapter.describeReplica(REGION, 'orders-replica')).resolves.toMatchObject({
      sourceId: 'orders',
    });
  });

  it('keeps waiting through throttled polls', async () => {
    const { model, adapter } = setup({ modifying: 1, rebooting: 1 });
    model.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');
    model.failNext('DescribeDBInstances', 3);

    const waited = await adapter.waitAvailable(REGION, 'orders-replica', 10_000, { untilPromoted: true });
    expect(waited).toMatchObject({ outcome: 'available', instance: { sourceId: null } });
  });

  it('times out with the state it last saw', async () => {
    const { model, adapter } = setup();
    model.addReplica('stuck', 'orders', { status: 'modifying' });

    const waited = await adapter.waitAvailable(REGION, 'stuck', 300);
    expect(waited).toMatchObject({ outcome: 'timed_out', instance: { status: 'modifying' } });
  });

  it('ends a wait on a state that will not become available', async () => {
    const { model, adapter } = setup();
    model.addReplica('broken', 'orders', { status: 'incompatible-parameters' });

    const waited = await adapter.waitAvailable(REGION, 'broken', 10_000);
    expect(waited).toMatchObject({ outcome: 'failed', instance: { status: 'incompatible-parameters' } });
  });

  it('creates one client per region and asks for the right instance', async () => {
    const regions: string[] = [];
    const { model, adapter } = setup(
      {},
      {
        rdsClient: (region) => {
          regions.push(region);
          return new RDSClient({ region });
        },
      },
    );
    model.addInstance('orders');
    await adapter.describeReplica('eu-west-1', 'orders');
    await adapter.describeReplica('eu-west-1', 'orders');
    await adapter.describeReplica('us-east-1', 'orders');
    expect(regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(rdsMock.commandCalls(DescribeDBInstancesCommand)[0]!.args[0].input).toEqual({
      DBInstanceIdentifier: 'orders',
    });
    adapter.destroy();
  });
});

describe('CloudWatch ReplicaLag', () => {
  const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

  it('returns the newest datapoint of the last few minutes', async () => {
    const { model, adapter } = setup();
    model
      .addLagDatapoint('orders-replica', minutesAgo(10), 99)
      .addLagDatapoint('orders-replica', minutesAgo(3), 4)
      .addLagDatapoint('orders-replica', minutesAgo(1), 1.5)
      .addLagDatapoint('orders-replica', minutesAgo(2), 9);

    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBe(1.5);
    const input = cloudWatchMock.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      StartTime: minutesAgo(5),
      EndTime: NOW,
      MetricDataQueries: [
        {
          MetricStat: {
            Metric: {
              Namespace: 'AWS/RDS',
              MetricName: 'ReplicaLag',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-replica' }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    });
  });

  it('returns null when there is no datapoint, or RDS reports -1 (not replicating)', async () => {
    const { model, adapter } = setup();
    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBeNull();
    model.addLagDatapoint('orders-replica', minutesAgo(1), -1);
    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBeNull();
  });

  it('classifies a CloudWatch refusal', async () => {
    const { model, adapter } = setup();
    model.failAlways('GetMetricData', () => accessDeniedError('cloudwatch:GetMetricData'));
    expect(await refusalOf(adapter.replicaLagSeconds(REGION, 'orders-replica'))).toMatchObject({
      code: 'unauthorized',
    });
  });
});

describe('Blue/Green switchover', () => {
  it('preflight, switchover with SwitchoverTimeout, completed', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'completed', inProgressDescribes: 3 },
    });

    const before = await adapter.describeBlueGreen(REGION, 'bgd-orders');
    expect(before).toMatchObject({
      id: 'bgd-orders',
      status: 'AVAILABLE',
      switchoverReady: true,
      source: model.arn('orders'),
      target: model.arn('orders-green'),
      members: [{ status: 'AVAILABLE' }],
    });

    await expect(switchoverIfReady(adapter, REGION, 'bgd-orders', 600)).resolves.toBe('switched');
    expect(rdsMock.commandCalls(SwitchoverBlueGreenDeploymentCommand)[0]!.args[0].input).toEqual({
      BlueGreenDeploymentIdentifier: 'bgd-orders',
      SwitchoverTimeout: 600,
    });

    const result = await adapter.waitSwitchover(REGION, 'bgd-orders', 10_000);
    expect(result.outcome).toBe('SWITCHOVER_COMPLETED');
    expect(result.deployment).toMatchObject({ members: [{ status: 'SWITCHOVER_COMPLETED' }] });

    // Re-entry after completion does not send again.
    await expect(switchoverIfReady(adapter, REGION, 'bgd-orders', 600)).resolves.toBe('already_completed');
    expect(model.count('SwitchoverBlueGreenDeployment')).toBe(1);
  });

  it('reports SWITCHOVER_FAILED as failed, with the details', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'failed' },
    });

    await adapter.switchoverBlueGreen(REGION, 'bgd-orders', 300);
    const result = await adapter.waitSwitchover(REGION, 'bgd-orders', 10_000);
    expect(result.outcome).toBe('SWITCHOVER_FAILED');
    expect(result.deployment?.statusDetails).toMatch(/failed/);
  });

  it('reports a rollback after SwitchoverTimeout as ROLLED_BACK, not success', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'rolled_back', inProgressDescribes: 2 },
    });

    await adapter.switchoverBlueGreen(REGION, 'bgd-orders', 120);
    const result = await adapter.waitSwitchover(REGION, 'bgd-orders', 10_000);
    expect(result).toMatchObject({
      outcome: 'ROLLED_BACK',
      deployment: { status: 'AVAILABLE', statusDetails: expect.stringContaining('120 seconds') },
    });
    // The executor re-entering after this does not switch again on its own.
    await expect(
      switchoverIfReady(adapter, REGION, 'bgd-orders', 120, { previouslyAttempted: true }),
    ).resolves.toBe('in_progress');
    expect(model.count('SwitchoverBlueGreenDeployment')).toBe(1);
  });

  it('reports AVAILABLE that never went in progress as NOT_STARTED after the grace period', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', { source: 'orders', target: 'orders-green' });

    const result = await adapter.waitSwitchover(REGION, 'bgd-orders', 10_000);
    expect(result.outcome).toBe('NOT_STARTED');
  });

  it('can be waited for in short slices: the grace period counts from the request', async () => {
    const { model, adapter } = setup();
    // More in-progress answers than a 1 ms slice can ask for (each poll sleeps at least 1 ms), so
    // slice 1 cannot see the end however fast the machine is.
    model.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'rolled_back', inProgressDescribes: 6 },
    });
    const requestedAt = new Date();
    await adapter.switchoverBlueGreen(REGION, 'bgd-orders', 30);

    // Slice 1 sees it in progress and runs out.
    await expect(adapter.waitSwitchover(REGION, 'bgd-orders', 1, { requestedAt })).resolves.toMatchObject({
      outcome: 'TIMED_OUT',
      deployment: { status: 'SWITCHOVER_IN_PROGRESS' },
    });
    await new Promise((resolve) => setTimeout(resolve, 250)); // past the 0.2 s grace
    // Rolled back meanwhile: somebody else's describes see it in progress until it is AVAILABLE.
    for (let i = 0; i < 10; i += 1) {
      if ((await adapter.describeBlueGreen(REGION, 'bgd-orders'))?.status === 'AVAILABLE') break;
    }

    // Slice 2 sees AVAILABLE only: not a success, and said on its first look rather than after
    // another slice.
    const describesBefore = model.count('DescribeBlueGreenDeployments');
    await expect(
      adapter.waitSwitchover(REGION, 'bgd-orders', 10_000, { requestedAt }),
    ).resolves.toMatchObject({ outcome: 'NOT_STARTED', deployment: { status: 'AVAILABLE' } });
    expect(model.count('DescribeBlueGreenDeployments') - describesBefore).toBe(1);
  });

  it('keeps polling a switchover through throttling that outlasted the SDK retries', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', { source: 'orders', target: 'orders-green' });
    await adapter.switchoverBlueGreen(REGION, 'bgd-orders', 300);
    model.failNext('DescribeBlueGreenDeployments', 2);

    await expect(adapter.waitSwitchover(REGION, 'bgd-orders', 10_000)).resolves.toMatchObject({
      outcome: 'SWITCHOVER_COMPLETED',
    });
    expect(model.count('DescribeBlueGreenDeployments', 'ok')).toBeGreaterThanOrEqual(2);
  });

  it('is not ready while tasks run; switchoverIfReady refuses and sends nothing', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      tasks: [{ name: 'CREATING_READ_REPLICA_OF_SOURCE', status: 'IN_PROGRESS' }],
      memberStatus: 'PROVISIONING',
    });

    await expect(adapter.describeBlueGreen(REGION, 'bgd-orders')).resolves.toMatchObject({
      status: 'AVAILABLE',
      switchoverReady: false,
    });
    const refusal = await refusalOf(switchoverIfReady(adapter, REGION, 'bgd-orders', 300));
    expect(refusal.code).toBe('invalid_state');
    expect(model.count('SwitchoverBlueGreenDeployment')).toBe(0);
  });

  it('maps InvalidBlueGreenDeploymentStateFault to invalid_state', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', { source: 'orders', target: 'orders-green', status: 'PROVISIONING' });

    expect(await refusalOf(adapter.switchoverBlueGreen(REGION, 'bgd-orders', 300))).toMatchObject({
      code: 'invalid_state',
      awsCode: 'InvalidBlueGreenDeploymentStateFault',
    });
  });

  it('times out while the switchover is still in progress', async () => {
    const { model, adapter } = setup();
    model.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'completed', inProgressDescribes: 1_000 },
    });
    await adapter.switchoverBlueGreen(REGION, 'bgd-orders', 300);

    await expect(adapter.waitSwitchover(REGION, 'bgd-orders', 200)).resolves.toMatchObject({
      outcome: 'TIMED_OUT',
      deployment: { status: 'SWITCHOVER_IN_PROGRESS' },
    });
  });

  it('reports a missing deployment as null / NOT_FOUND / not_found', async () => {
    const { adapter } = setup();
    await expect(adapter.describeBlueGreen(REGION, 'bgd-ghost')).resolves.toBeNull();
    await expect(adapter.waitSwitchover(REGION, 'bgd-ghost', 1_000)).resolves.toEqual({
      outcome: 'NOT_FOUND',
      deployment: null,
    });
    expect(await refusalOf(adapter.switchoverBlueGreen(REGION, 'bgd-ghost', 300))).toMatchObject({
      code: 'not_found',
    });
  });

  it('rejects a SwitchoverTimeout that is not a positive whole number of seconds', async () => {
    const { adapter } = setup();
    await expect(adapter.switchoverBlueGreen(REGION, 'bgd-orders', 0)).rejects.toThrow(RangeError);
    await expect(adapter.switchoverBlueGreen(REGION, 'bgd-orders', 1.5)).rejects.toThrow(RangeError);
  });
});
