// Whole in-place RDS runs through the real runtime: PostgreSQL store, BullMQ on Redis, the step
// worker, the real strategy and AwsRdsAdapter. AWS is the AWS emulator over HTTP: snapshots go
// creating → available (the instance shows backing-up meanwhile and refuses ModifyDBInstance), a
// modification shows pending, then modifying, then applied.
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { finishedText } from '../../../src/slack/notifier/thread-text';
import { snapshotIdOf } from '../../../src/strategies/in-place/plan';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { startVsRuntime, stopVsRuntime } from '../volume-swap/vs-runtime';
import {
  abortActiveRuns,
  approveGate,
  inPlace,
  RDS_STEP,
  RDS_TARGETS_YAML,
  REBOOT_STEP,
  RdsWorld,
  startRun,
  untilFinished,
  untilRun,
} from './ip-runtime';

const schema = freshSchemaName('t_ip_rds');
const aws = new RdsWorld();
let runtime: Runtime;

const MUTATING = ['CreateDBSnapshot', 'ModifyDBInstance', 'ApplyPendingMaintenanceAction'] as const;

beforeAll(async () => {
  runtime = await startVsRuntime({
    schema,
    queueName: freshQueueName('ip-rds'),
    strategy: inPlace(aws.adapter()),
    yaml: RDS_TARGETS_YAML,
  });
});

afterEach(() => abortActiveRuns(runtime));

afterAll(async () => {
  await stopVsRuntime(runtime, schema);
  await aws.close();
});

async function atGate(run: Run): Promise<Run> {
  const seen = await untilRun(runtime, run.id, 'at the gate', (current) =>
    ['awaiting_approval', 'failed', 'aborted'].includes(current.state),
  );
  expect({ state: seen.state, outcome: seen.outcome }).toEqual({ state: 'awaiting_approval', outcome: null });
  return seen;
}

describe('in-place RDS ModifyDBInstance', () => {
  test('happy path: preflight, snapshot until available, gate, modify once (ApplyImmediately), wait, verify, report', async () => {
    aws.reset();
    aws.rds.addInstance('billing-db');
    const run = await startRun(runtime, 'billing');
    const snapshotId = snapshotIdOf('billing-db', run.id);

    const gate = await atGate(run);
    expect(gate.currentStep).toBe(RDS_STEP.gate);
    expect(gate.steps[RDS_STEP.snapshot]?.output).toMatchObject({ snapshotId });
    // Before the approval: reads, and the snapshot (made once, polled until available). No change.
    expect(aws.commands()).toEqual([
      'DescribeDBInstances',
      'DescribeDBSnapshots!DBSnapshotNotFound',
      'CreateDBSnapshot',
      'DescribeDBSnapshots',
      'DescribeDBSnapshots',
      'DescribeDBSnapshots',
    ]);
    expect(aws.rds.snapshot(snapshotId)).toMatchObject({ status: 'available', instanceId: 'billing-db' });

    const callsAtApproval = aws.rds.calls.length;
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.steps.map((step) => step.state)).toEqual(Array(7).fill('succeeded'));
    // After the approval: describe, the snapshot re-checked, one ModifyDBInstance, then describes.
    const after = aws.commands(callsAtApproval);
    expect(after.slice(0, 3)).toEqual(['DescribeDBInstances', 'DescribeDBSnapshots', 'ModifyDBInstance']);
    expect(new Set(after.slice(3))).toEqual(new Set(['DescribeDBInstances']));
    expect(aws.count('ModifyDBInstance')).toBe(1);
    // As it went on the wire.
    expect(aws.rds.calls.find((call) => call.action === 'ModifyDBInstance')?.params).toEqual({
      DBInstanceIdentifier: 'billing-db',
      DBInstanceClass: 'db.r6g.large',
      AllocatedStorage: '200',
      ApplyImmediately: 'true',
    });
    // The world, in order: the modification went out only after the snapshot was available.
    expect(aws.rds.events).toEqual([
      `CreateDBSnapshot ${snapshotId}`,
      `snapshot ${snapshotId} available`,
      'ModifyDBInstance billing-db ApplyImmediately=true',
      'billing-db applied',
    ]);
    const sequence = (command: string): number => aws.rds.calls.findIndex((call) => call.action === command);
    expect(sequence('ModifyDBInstance')).toBeGreaterThan(sequence('CreateDBSnapshot'));
    expect(aws.rds.instance('billing-db')).toMatchObject({
      status: 'available',
      settings: { DBInstanceClass: 'db.r6g.large', AllocatedStorage: 200 },
      pending: {},
    });

    expect(done.steps[RDS_STEP.change]?.output).toMatchObject({ result: 'modified', snapshotId });
    expect(done.steps[RDS_STEP.verify]?.output?.['health']).toEqual(expect.any(String));
    const report = done.steps[RDS_STEP.report]?.output;
    expect(report?.['writeUnavailableMs']).toEqual(expect.any(Number));
    expect(report?.['report']).toMatch(/Write-unavailable window \(change request → healthy\): \d+\.\d s/);
    expect(report?.['report']).toContain(snapshotId);
  });

  test('RDS refuses the modification (InvalidParameterCombination): the run fails once, naming the snapshot', async () => {
    aws.reset();
    aws.rds.addInstance('metrics-db', { settings: { StorageType: 'gp2' } });
    const run = await startRun(runtime, 'metrics');
    const snapshotId = snapshotIdOf('metrics-db', run.id);
    await atGate(run);
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('failed');
    expect(aws.commands()).toContain('ModifyDBInstance!InvalidParameterCombination');
    // Refused for sure: not sent again.
    expect(aws.count('ModifyDBInstance')).toBe(1);
    const failure = done.steps[RDS_STEP.change]?.error?.message ?? '';
    expect(failure).toContain('InvalidParameterCombination');
    expect(failure).toContain('Nothing was changed');
    expect(failure).toContain(snapshotId);
    expect(failure).toContain('no automatic restore');
    // The thread's last word says it too, and the snapshot is still there.
    expect(finishedText(done)).toContain(snapshotId);
    expect(aws.rds.snapshot(snapshotId)?.status).toBe('available');
    expect(done.steps.slice(RDS_STEP.wait).map((step) => step.state)).toEqual([
      'skipped',
      'skipped',
      'skipped',
    ]);
  });

  test('a throttled ModifyDBInstance is sent again (throttling is a definite no), once accepted', async () => {
    aws.reset();
    aws.rds.addInstance('billing-db').throttle('ModifyDBInstance');
    const run = await startRun(runtime, 'billing');
    await atGate(run);
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('succeeded');
    expect(aws.count('ModifyDBInstance')).toBe(2);
    expect(aws.count('ModifyDBInstance', 'ok')).toBe(1);
  });

  test('a lost answer to ModifyDBInstance: not sent again; the step describes, waits and the run succeeds', async () => {
    aws.reset();
    aws.rds.addInstance('billing-db');
    aws.rds.loseNextResponse('ModifyDBInstance');
    const run = await startRun(runtime, 'billing');
    await atGate(run);
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(aws.count('ModifyDBInstance')).toBe(1);
    expect(done.steps[RDS_STEP.change]).toMatchObject({ retries: 1, output: { result: 'in_progress' } });
    expect(aws.rds.instance('billing-db')?.settings).toMatchObject({
      DBInstanceClass: 'db.r6g.large',
      AllocatedStorage: 200,
    });
  });

  test('a snapshot that does not become available in time stops at a needs-human gate, nothing changed', async () => {
    aws.reset({ snapshotDescribes: 1_000_000 });
    aws.rds.addInstance('billing-db');
    const run = await startRun(runtime, 'slow-snapshot');
    const stopped = await atGate(run);
    expect(stopped.currentStep).toBe(RDS_STEP.snapshot);
    expect(stopped.steps[RDS_STEP.snapshot]?.gate).toMatchObject({ reason: 'needs_human' });
    expect(stopped.steps[RDS_STEP.snapshot]?.gate?.message).toMatch(
      /DB snapshot cutover-billing-db-\w+ is still creating .*nothing was changed/,
    );
    expect(aws.count('CreateDBSnapshot')).toBe(1);
    expect(aws.count('ModifyDBInstance')).toBe(0);
  });

  test.each([
    {
      what: 'modifications already pending',
      target: 'billing',
      world: () => aws.rds.addInstance('billing-db', { pending: { DBInstanceClass: 'db.r6g.xlarge' } }),
      message: 'billing-db already has pending modifications (DBInstanceClass)',
    },
    {
      what: 'nothing to change',
      target: 'billing',
      world: () =>
        aws.rds.addInstance('billing-db', {
          settings: { DBInstanceClass: 'db.r6g.large', AllocatedStorage: 200 },
        }),
      message: 'nothing to change: billing-db already has DBInstanceClass db.r6g.large, AllocatedStorage 200',
    },
    {
      what: 'instance not available',
      target: 'billing',
      world: () => aws.rds.addInstance('billing-db', { status: 'storage-optimization' }),
      message: 'billing-db is storage-optimization, not available',
    },
    {
      what: 'storage would shrink',
      target: 'billing',
      world: () => aws.rds.addInstance('billing-db', { settings: { AllocatedStorage: 500 } }),
      message: 'AllocatedStorage 200 GiB < 500 GiB: RDS storage cannot shrink',
    },
    {
      what: 'no such maintenance action pending',
      target: 'audit',
      world: () => aws.rds.addInstance('audit-db').addMaintenance('audit-db', 'db-upgrade'),
      message: 'no pending system-update for audit-db: nothing to apply (pending actions: db-upgrade)',
    },
  ])('preflight refuses ($what) before any mutating call', async ({ target, world, message }) => {
    aws.reset();
    world();
    const run = await startRun(runtime, target);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('failed');
    expect(done.steps[RDS_STEP.preflight]?.error?.message).toContain(`preflight refused: ${message}`);
    for (const command of MUTATING) expect(aws.count(command)).toBe(0);
    expect(aws.rds.snapshotIds()).toEqual([]);
  });
});

describe('in-place RDS: a change is done only when it is in effect', () => {
  test('a new parameter group left pending-reboot: the reboot step reboots once inside the window', async () => {
    aws.reset();
    aws.rds.addInstance('billing-db');
    const run = await startRun(runtime, 'params');
    await atGate(run);
    await approveGate(runtime, run, REBOOT_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.steps[REBOOT_STEP.wait]?.output).toMatchObject({ parameterApplyStatus: 'pending-reboot' });
    expect(done.steps[REBOOT_STEP.reboot]?.output).toMatchObject({ result: 'rebooted' });
    expect(aws.count('RebootDBInstance')).toBe(1);
    // The reboot after the change was applied, and the health check after the reboot.
    expect(aws.rds.events.slice(-2)).toEqual(['billing-db applied', 'RebootDBInstance billing-db']);
    const report = done.steps[REBOOT_STEP.report]?.output;
    expect(report).toMatchObject({ inEffect: true });
    expect(report?.['report']).toContain('billing-db was rebooted inside the window');
  });

  test('without reboot: the run ends, and the report says the change is not in effect', async () => {
    aws.reset();
    aws.rds.addInstance('billing-db');
    const run = await startRun(runtime, 'params-no-reboot');
    await atGate(run);
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(aws.count('RebootDBInstance')).toBe(0);
    const report = done.steps[RDS_STEP.report]?.output;
    expect(report).toMatchObject({ inEffect: false });
    expect(report?.['report']).toMatch(/^:warning: \*Changed in place, not in effect yet\.\*/);
    expect(report?.['report']).toContain("billing-db's parameter group is pending-reboot");
  });

  test('a major upgrade whose pre-upgrade check fails: the run fails at once with RDS’s event', async () => {
    aws.reset();
    aws.rds.addInstance('billing-db').addEngineVersion('postgres', '15.5', ['16.4']);
    const event =
      'Database instance is in a state that cannot be upgraded: PreUpgrade checks failed: The instance could not be ' +
      'upgraded because the reg* data types are used in user tables.';
    aws.rds.failNextUpgradePrecheck('billing-db', event);
    const run = await startRun(runtime, 'upgrade');
    await atGate(run);
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('failed');
    const failure = done.steps[RDS_STEP.wait]?.error?.message ?? '';
    expect(failure).toContain(`billing-db was not upgraded to 16.4: RDS says "${event}"`);
    expect(failure).toContain('It is available on 15.5.');
    expect(failure).toContain(snapshotIdOf('billing-db', run.id));
    // Failed at the first look after RDS gave up, not after modifyTimeout (2 h of describes).
    expect(aws.count('DescribeEvents')).toBe(1);
    expect(aws.rds.instance('billing-db')?.settings.EngineVersion).toBe('15.5');
  });
});

describe('in-place RDS pending maintenance action', () => {
  test('snapshot, gate, ApplyPendingMaintenanceAction (immediate) once, wait until gone, verify', async () => {
    aws.reset();
    aws.rds.addInstance('audit-db').addMaintenance('audit-db', 'system-update');
    const run = await startRun(runtime, 'audit');
    const snapshotId = snapshotIdOf('audit-db', run.id);
    await atGate(run);
    expect(aws.count('ApplyPendingMaintenanceAction')).toBe(0);
    await approveGate(runtime, run, RDS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(aws.rds.events).toEqual([
      `CreateDBSnapshot ${snapshotId}`,
      `snapshot ${snapshotId} available`,
      'ApplyPendingMaintenanceAction audit-db system-update',
      'audit-db system-update applied',
    ]);
    expect(aws.rds.calls.find((call) => call.action === 'ApplyPendingMaintenanceAction')?.params).toEqual({
      ResourceIdentifier: aws.rds.arn('audit-db'),
      ApplyAction: 'system-update',
      OptInType: 'immediate',
    });
    expect(aws.count('ApplyPendingMaintenanceAction')).toBe(1);
    expect(done.steps[RDS_STEP.wait]?.output).toMatchObject({ status: 'available' });
    expect(done.steps[RDS_STEP.report]?.output?.['report']).toContain(snapshotId);
  });
});
