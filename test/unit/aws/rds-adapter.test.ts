// AwsRdsAdapter against the AWS emulator, through real RDS and CloudWatch clients: the SDK
// serializes each call (RDS's Query protocol, CloudWatch's JSON), the emulator answers, the SDK
// parses the answer or the error (DBInstanceNotFound becomes DBInstanceNotFoundFault) and runs its
// DBInstanceAvailable waiter. The clients retry as production's do (standard mode, 5 attempts)
// with a 1 ms backoff. Time is a ManualClock that moves one STEP each time RDS answers a describe
// (every poll of a waiter sees the world a little later).
import { RDSClient } from '@aws-sdk/client-rds';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { AwsRdsAdapterOptions } from '../../../src/adapters/aws/rds-adapter';
import {
  promoteIfStillReplica,
  promotionVerified,
  replicaPreflight,
  switchoverIfReady,
} from '../../../src/strategies/replica-promotion/rds-decisions';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import { advancePerCall, useAwsEmulator } from '../../support/services/aws/emulator';
import type { RdsDurations } from '../../support/services/aws/emulator';
import { fastCloudWatchClient, fastRdsClient } from '../../support/services/aws/fast-retry-clients';
import { ManualClock } from '../../support/fakes/manual-clock';

const REGION = 'eu-west-1';
const NOW = new Date('2025-03-02T02:10:00Z');
/** How much emulated time one describe takes. */
const STEP = 1_000;
const emulator = useAwsEmulator();
const rdsClient = fastRdsClient(REGION);
const cloudWatchClient = fastCloudWatchClient(REGION);

afterAll(() => {
  rdsClient.destroy();
  cloudWatchClient.destroy();
});

function setup(durations: Partial<RdsDurations> = {}, options: AwsRdsAdapterOptions = {}) {
  const clock = new ManualClock();
  const aws = emulator().reset({ clock, rds: durations });
  advancePerCall(aws.rds, 'DescribeDBInstances', clock, STEP);
  advancePerCall(aws.rds, 'DescribeBlueGreenDeployments', clock, STEP);
  const adapter = new AwsRdsAdapter({
    rdsClient: () => rdsClient,
    cloudWatchClient: () => cloudWatchClient,
    minDelaySeconds: 0.01,
    maxDelaySeconds: 0.02,
    switchoverStartGraceSeconds: 0.2,
    clock: { now: () => NOW },
    ...options,
  });
  return { rds: aws.rds, cloudWatch: aws.cloudWatch, adapter };
}

/** Promotion phases measured in describes (each describe is one STEP later). */
function promotion(phases: {
  stale?: number;
  modifying?: number;
  rebooting?: number;
}): Partial<RdsDurations> {
  return {
    promoteStaleMs: (phases.stale ?? 0) * STEP,
    promoteModifyingMs: (phases.modifying ?? 2) * STEP,
    promoteRebootingMs: (phases.rebooting ?? 1) * STEP,
  };
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
    const { rds, adapter } = setup(promotion({ modifying: 2, rebooting: 2 }));
    rds.addInstance('orders').addReplica('orders-replica', 'orders');

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
    const describesBeforeWait = rds.count('DescribeDBInstances');

    const waited = await adapter.waitAvailable(REGION, 'orders-replica', 10_000, { untilPromoted: true });

    expect(waited.outcome).toBe('available');
    expect(waited.instance).toMatchObject({ status: 'available', sourceId: null });
    expect(promotionVerified(waited.instance)).toBe(true);
    expect(rds.count('PromoteReadReplica')).toBe(1);
    expect(rds.calls.find((call) => call.action === 'PromoteReadReplica')?.params).toEqual({
      DBInstanceIdentifier: 'orders-replica',
    });
    // modifying, modifying, rebooting, rebooting, then available: the waiter polled through them.
    const statusesSeen = rds.calls
      .slice(describesBeforeWait)
      .filter((call) => call.action === 'DescribeDBInstances').length;
    expect(statusesSeen).toBeGreaterThanOrEqual(4);
    expect(await adapter.describeReplica(REGION, 'orders')).toMatchObject({ replicaIds: [] });
  });

  it('does not stop at a stale `available` right after the request when waiting untilPromoted', async () => {
    const { rds, adapter } = setup(promotion({ stale: 2, modifying: 1, rebooting: 1 }));
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');

    const naive = await adapter.waitAvailable(REGION, 'orders-replica', 5_000);
    expect(naive).toMatchObject({ outcome: 'available', instance: { sourceId: 'orders' } });

    const promoted = await adapter.waitAvailable(REGION, 'orders-replica', 5_000, { untilPromoted: true });
    expect(promoted).toMatchObject({
      outcome: 'available',
      instance: { status: 'available', sourceId: null },
    });
    expect(rds.count('PromoteReadReplica')).toBe(1);
  });

  it('after a crash past PromoteReadReplica, describe-first never sends it again', async () => {
    const { rds, adapter } = setup(promotion({ stale: 1, modifying: 2, rebooting: 1 }));
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica'); // the attempt that "crashed"

    // RDS still shows an available replica: only the executor's record says it may have been sent.
    await expect(
      promoteIfStillReplica(adapter, REGION, 'orders-replica', { previouslyAttempted: true }),
    ).resolves.toBe('in_progress');
    // Now modifying: the world alone says not to send.
    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('in_progress');

    await adapter.waitAvailable(REGION, 'orders-replica', 5_000, { untilPromoted: true });
    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('already_promoted');
    expect(rds.count('PromoteReadReplica')).toBe(1);
  });

  it('when RDS refuses a promotion it already accepted (stale describe), asks for a later retry', async () => {
    const { rds, adapter } = setup(promotion({ stale: 3 }));
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');

    // The executor lost its record; describe shows an available replica; RDS says InvalidDBInstanceState.
    const refusal = await refusalOf(promoteIfStillReplica(adapter, REGION, 'orders-replica'));
    expect(refusal).toMatchObject({ code: 'invalid_state', retryable: true });
    // The retried step describes first and now sees the promotion.
    await expect(promoteIfStillReplica(adapter, REGION, 'orders-replica')).resolves.toBe('in_progress');
    expect(rds.count('PromoteReadReplica', 'ok')).toBe(1);
  });

  it('refuses to promote an instance that is not a replica with invalid_state', async () => {
    const { rds, adapter } = setup();
    rds.addInstance('orders');

    const refusal = await refusalOf(adapter.promoteReadReplica(REGION, 'orders'));
    expect(refusal).toMatchObject({
      code: 'invalid_state',
      retryable: false,
      awsCode: 'InvalidDBInstanceStateFault',
      httpStatusCode: 400,
    });
    await expect(promoteIfStillReplica(adapter, REGION, 'orders')).resolves.toBe('already_promoted');
    expect(rds.count('PromoteReadReplica')).toBe(1);
  });

  it('preflight names what blocks: wrong source, backing-up, pending modifications', async () => {
    const { rds, adapter } = setup();
    rds
      .addInstance('orders')
      .addInstance('billing')
      .addReplica('orders-replica', 'billing', {
        status: 'backing-up',
        pending: { DBInstanceClass: 'db.r6g.xlarge' },
      });

    const preflight = replicaPreflight(await adapter.describeReplica(REGION, 'orders-replica'), 'orders');
    expect(preflight.blockers).toEqual([
      'orders-replica replicates from billing, not from orders',
      'orders-replica is backing up; promotion waits for the backup',
    ]);
    expect(preflight.warnings).toEqual(['orders-replica has pending modifications']);
  });

  it('reports a missing instance as null / not_found, and a wait stops at the first answer', async () => {
    const { rds, adapter } = setup();
    await expect(adapter.describeReplica(REGION, 'ghost')).resolves.toBeNull();
    expect(await refusalOf(adapter.promoteReadReplica(REGION, 'ghost'))).toMatchObject({ code: 'not_found' });
    await expect(promoteIfStillReplica(adapter, REGION, 'ghost')).rejects.toMatchObject({
      code: 'not_found',
    });

    const describesBefore = rds.count('DescribeDBInstances');
    const refusal = await refusalOf(adapter.waitAvailable(REGION, 'ghost', 30_000));
    expect(refusal.code).toBe('not_found');
    expect(rds.count('DescribeDBInstances') - describesBefore).toBe(1);
  });

  it('classifies AccessDenied as unauthorized and stops a wait at once', async () => {
    const { rds, adapter } = setup();
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    rds.deny('DescribeDBInstances');

    expect(await refusalOf(adapter.describeReplica(REGION, 'orders-replica'))).toMatchObject({
      code: 'unauthorized',
      retryable: false,
      awsCode: 'AccessDenied',
      httpStatusCode: 403,
    });
    const describesBefore = rds.count('DescribeDBInstances');
    expect(await refusalOf(adapter.waitAvailable(REGION, 'orders-replica', 30_000))).toMatchObject({
      code: 'unauthorized',
    });
    expect(rds.count('DescribeDBInstances') - describesBefore).toBe(1);
  });

  it('classifies throttling that outlasted the SDK retries as throttled, retryable', async () => {
    const { rds, adapter } = setup();
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    rds.throttle('DescribeDBInstances', { count: 5 });

    expect(await refusalOf(adapter.describeReplica(REGION, 'orders-replica'))).toMatchObject({
      code: 'throttled',
      retryable: true,
      awsCode: 'Throttling',
      httpStatusCode: 400,
    });
    expect(rds.count('DescribeDBInstances', 'Throttling')).toBe(5);
    await expect(adapter.describeReplica(REGION, 'orders-replica')).resolves.toMatchObject({
      sourceId: 'orders',
    });
  });

  it('keeps waiting through polls throttled beyond the SDK retries', async () => {
    const { rds, adapter } = setup(promotion({ modifying: 1, rebooting: 1 }));
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');
    rds.throttle('DescribeDBInstances', { count: 7 });

    const waited = await adapter.waitAvailable(REGION, 'orders-replica', 10_000, { untilPromoted: true });
    expect(waited).toMatchObject({ outcome: 'available', instance: { sourceId: null } });
    expect(rds.count('DescribeDBInstances', 'Throttling')).toBe(7);
  });

  it('times out with the state it last saw', async () => {
    const { rds, adapter } = setup();
    rds.addReplica('stuck', 'orders', { status: 'modifying' });

    const waited = await adapter.waitAvailable(REGION, 'stuck', 300);
    expect(waited).toMatchObject({ outcome: 'timed_out', instance: { status: 'modifying' } });
  });

  it('ends a wait on a state that will not become available', async () => {
    const { rds, adapter } = setup();
    rds.addReplica('broken', 'orders', { status: 'incompatible-parameters' });

    const waited = await adapter.waitAvailable(REGION, 'broken', 10_000);
    expect(waited).toMatchObject({ outcome: 'failed', instance: { status: 'incompatible-parameters' } });
  });

  it('creates one client per region and asks for the right instance', async () => {
    const regions: string[] = [];
    const { rds, adapter } = setup(
      {},
      {
        rdsClient: (region) => {
          regions.push(region);
          return new RDSClient({ region });
        },
      },
    );
    rds.addInstance('orders');
    await adapter.describeReplica('eu-west-1', 'orders');
    await adapter.describeReplica('eu-west-1', 'orders');
    await adapter.describeReplica('us-east-1', 'orders');
    expect(regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(rds.calls.map((call) => [call.region, call.params])).toEqual([
      ['eu-west-1', { DBInstanceIdentifier: 'orders' }],
      ['eu-west-1', { DBInstanceIdentifier: 'orders' }],
      ['us-east-1', { DBInstanceIdentifier: 'orders' }],
    ]);
    adapter.destroy();
  });
});

describe('what a fenced promotion and an in-place change read', () => {
  it('describes the settings the plan sets side by side', async () => {
    const { rds, adapter } = setup();
    rds
      .addInstance('orders', {
        settings: { MultiAZ: true, DBInstanceClass: 'db.r6g.large' },
        deletionProtection: true,
      })
      .addReplica('orders-replica', 'orders');
    expect(await adapter.describeReplica(REGION, 'orders')).toMatchObject({
      instanceClass: 'db.r6g.large',
      engineVersion: '15.5',
      multiAZ: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      parameterGroup: 'default.postgres15',
      replicaIds: ['orders-replica'],
    });
    expect(await adapter.describeReplica(REGION, 'orders-replica')).toMatchObject({
      multiAZ: false,
      backupRetentionPeriod: 0,
      deletionProtection: false,
    });
  });

  it('waits for a promotion to serve: backing-up counts, with orBackingUp', async () => {
    const { rds, adapter } = setup({
      ...promotion({ modifying: 1, rebooting: 1 }),
      promoteBackingUpMs: 1_000 * STEP,
    });
    rds.addInstance('orders').addReplica('orders-replica', 'orders');
    await adapter.promoteReadReplica(REGION, 'orders-replica');
    const waited = await adapter.waitAvailable(REGION, 'orders-replica', 5_000, {
      untilPromoted: true,
      orBackingUp: true,
    });
    expect(waited).toMatchObject({
      outcome: 'available',
      instance: { status: 'backing-up', sourceId: null },
    });
  });

  it('reboots once (one attempt, never retried by the SDK) and reads the events since a time', async () => {
    const { rds, adapter } = setup({ rebootMs: STEP });
    rds.addInstance('orders');
    rds.loseNextResponse('RebootDBInstance');
    const lost = await refusalOf(adapter.rebootInstance(REGION, 'orders'));
    expect(lost.code).toBe('other');
    expect(rds.count('RebootDBInstance')).toBe(1);
    await adapter.describeReplica(REGION, 'orders'); // one STEP later: restarted
    const events = await adapter.instanceEvents(REGION, 'orders', new Date(0));
    expect(events).toEqual([
      { date: expect.any(String), message: 'DB instance restarted', categories: ['availability'] },
    ]);
    expect(await adapter.instanceEvents(REGION, 'orders', new Date(Date.parse(events[0]!.date) + 1))).toEqual(
      [],
    );
  });
});

describe('CloudWatch ReplicaLag', () => {
  const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

  it('returns the newest datapoint of the last few minutes', async () => {
    const { cloudWatch, adapter } = setup();
    cloudWatch
      .addReplicaLag('orders-replica', minutesAgo(10), 99)
      .addReplicaLag('orders-replica', minutesAgo(3), 4)
      .addReplicaLag('orders-replica', minutesAgo(1), 1.5)
      .addReplicaLag('orders-replica', minutesAgo(2), 9);

    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBe(1.5);
    // What went on the wire (JSON, timestamps in epoch seconds).
    expect(cloudWatch.calls[0]?.params).toMatchObject({
      StartTime: minutesAgo(5).getTime() / 1000,
      EndTime: NOW.getTime() / 1000,
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
    const { cloudWatch, adapter } = setup();
    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBeNull();
    cloudWatch.addReplicaLag('orders-replica', minutesAgo(1), -1);
    await expect(adapter.replicaLagSeconds(REGION, 'orders-replica')).resolves.toBeNull();
  });

  it('classifies a CloudWatch refusal', async () => {
    const { cloudWatch, adapter } = setup();
    cloudWatch.deny('GetMetricData');
    expect(await refusalOf(adapter.replicaLagSeconds(REGION, 'orders-replica'))).toMatchObject({
      code: 'unauthorized',
      awsCode: 'AccessDenied',
      httpStatusCode: 403,
    });
  });
});

describe('Blue/Green switchover', () => {
  it('preflight, switchover with SwitchoverTimeout, completed', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'completed', durationMs: 3 * STEP },
    });

    const before = await adapter.describeBlueGreen(REGION, 'bgd-orders');
    expect(before).toMatchObject({
      id: 'bgd-orders',
      status: 'AVAILABLE',
      switchoverReady: true,
      source: rds.arn('orders'),
      target: rds.arn('orders-green'),
      members: [{ status: 'AVAILABLE' }],
    });

    await expect(switchoverIfReady(adapter, REGION, 'bgd-orders', 600)).resolves.toBe('switched');
    expect(rds.calls.find((call) => call.action === 'SwitchoverBlueGreenDeployment')?.params).toEqual({
      BlueGreenDeploymentIdentifier: 'bgd-orders',
      SwitchoverTimeout: '600',
    });

    const result = await adapter.waitSwitchover(REGION, 'bgd-orders', 10_000);
    expect(result.outcome).toBe('SWITCHOVER_COMPLETED');
    expect(result.deployment).toMatchObject({ members: [{ status: 'SWITCHOVER_COMPLETED' }] });

    // Re-entry after completion does not send again.
    await expect(switchoverIfReady(adapter, REGION, 'bgd-orders', 600)).resolves.toBe('already_completed');
    expect(rds.count('SwitchoverBlueGreenDeployment')).toBe(1);
  });

  it('reports SWITCHOVER_FAILED as failed, with the details', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', {
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
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'rolled_back', durationMs: 2 * STEP },
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
    expect(rds.count('SwitchoverBlueGreenDeployment')).toBe(1);
  });

  it('reports AVAILABLE that never went in progress as NOT_STARTED after the grace period', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', { source: 'orders', target: 'orders-green' });

    const result = await adapter.waitSwitchover(REGION, 'bgd-orders', 10_000);
    expect(result.outcome).toBe('NOT_STARTED');
  });

  it('can be waited for in short slices: the grace period counts from the request', async () => {
    const { rds, adapter } = setup();
    // More in-progress answers than a 1 ms slice can ask for (each poll sleeps at least 1 ms), so
    // slice 1 cannot see the end however fast the machine is.
    rds.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'rolled_back', durationMs: 6 * STEP },
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
    const describesBefore = rds.count('DescribeBlueGreenDeployments');
    await expect(
      adapter.waitSwitchover(REGION, 'bgd-orders', 10_000, { requestedAt }),
    ).resolves.toMatchObject({ outcome: 'NOT_STARTED', deployment: { status: 'AVAILABLE' } });
    expect(rds.count('DescribeBlueGreenDeployments') - describesBefore).toBe(1);
  });

  it('keeps polling a switchover through throttling that outlasted the SDK retries', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      // Throttled describes take time too: still in progress once they are over.
      switchover: { result: 'completed', durationMs: 10 * STEP },
    });
    await adapter.switchoverBlueGreen(REGION, 'bgd-orders', 300);
    rds.throttle('DescribeBlueGreenDeployments', { count: 7 });

    await expect(adapter.waitSwitchover(REGION, 'bgd-orders', 10_000)).resolves.toMatchObject({
      outcome: 'SWITCHOVER_COMPLETED',
    });
    expect(rds.count('DescribeBlueGreenDeployments', 'Throttling')).toBe(7);
    expect(rds.count('DescribeBlueGreenDeployments', 'ok')).toBeGreaterThanOrEqual(2);
  });

  it('is not ready while tasks run; switchoverIfReady refuses and sends nothing', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', {
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
    expect(rds.count('SwitchoverBlueGreenDeployment')).toBe(0);
  });

  it('maps InvalidBlueGreenDeploymentStateFault to invalid_state', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', { source: 'orders', target: 'orders-green', status: 'PROVISIONING' });

    expect(await refusalOf(adapter.switchoverBlueGreen(REGION, 'bgd-orders', 300))).toMatchObject({
      code: 'invalid_state',
      awsCode: 'InvalidBlueGreenDeploymentStateFault',
    });
  });

  it('times out while the switchover is still in progress', async () => {
    const { rds, adapter } = setup();
    rds.addBlueGreen('bgd-orders', {
      source: 'orders',
      target: 'orders-green',
      switchover: { result: 'completed', durationMs: 1_000 * STEP },
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
