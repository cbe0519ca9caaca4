// A worker dies after RDS accepted CreateDBSnapshot and before the step recorded it. Simulated as in
// replica-promotion-rds/promote-crash.test.ts: runtime A's adapter sends CreateDBSnapshot (RDS
// accepts it) and then never returns; A's worker is force-closed (its job lock lapses) and A
// shut down. Runtime B on the same schema and queue picks the stalled job up: the snapshot step
// resumes, describes the deterministic snapshot id first, finds the one A made, and waits for it.
// One snapshot, one CreateDBSnapshot.
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { DbSnapshotDescription } from '../../../src/ports/rds-maintenance';
import { snapshotIdOf } from '../../../src/strategies/in-place/plan';
import { CrashAndResume, CrashPoint } from '../../support/runtimes/in-process-crash';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { startVsRuntime } from '../volume-swap/vs-runtime';
import {
  approveGate,
  inPlace,
  RDS_STEP,
  RDS_TARGETS_YAML,
  RdsWorld,
  startRun,
  untilFinished,
  untilRun,
} from './ip-runtime';

const schema = freshSchemaName('t_ip_crash');
const queueName = freshQueueName('ip-crash');
const aws = new RdsWorld();
const crash = new CrashAndResume(schema);

/** Forwards CreateDBSnapshot, then the process is "gone": the call never returns. */
class DiesAfterCreateSnapshot extends AwsRdsAdapter {
  private readonly point = new CrashPoint();
  readonly createAccepted = this.point.reached;

  override async createDbSnapshot(
    region: string,
    instanceId: string,
    snapshotId: string,
  ): Promise<{ created: boolean; snapshot: DbSnapshotDescription }> {
    await super.createDbSnapshot(region, instanceId, snapshotId);
    return this.point.hang();
  }
}

afterAll(async () => {
  await crash.cleanUp();
  await aws.close();
});

test('resumed after a crash past CreateDBSnapshot: one snapshot, found by its id, then the run goes on', async () => {
  aws.reset();
  aws.rds.addInstance('billing-db');
  const dying = new DiesAfterCreateSnapshot(aws.adapterOptions());
  const first = await startVsRuntime({
    schema,
    queueName,
    yaml: RDS_TARGETS_YAML,
    strategy: inPlace(dying),
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  crash.keep(first);

  const run = await startRun(first, 'billing');
  const snapshotId = snapshotIdOf('billing-db', run.id);
  await dying.createAccepted;
  const crashed = await first.store.getRun(run.id);
  expect(crashed?.steps[RDS_STEP.snapshot]).toMatchObject({ state: 'running', output: null });
  expect(aws.count('CreateDBSnapshot', 'ok')).toBe(1);

  await crash.crash(first);
  dying.destroy();

  const second = await startVsRuntime({
    schema,
    queueName,
    yaml: RDS_TARGETS_YAML,
    strategy: inPlace(aws.adapter()),
    stalledIntervalMs: 300,
  });
  crash.keep(second);

  const gate = await untilRun(second, run.id, 'at the gate', (current) =>
    ['awaiting_approval', 'failed', 'aborted'].includes(current.state),
  );
  expect(gate.state).toBe('awaiting_approval');
  expect(gate.steps[RDS_STEP.snapshot]?.output).toMatchObject({ snapshotId });
  await approveGate(second, run, RDS_STEP.gate);
  const done = await untilFinished(second, run.id);

  expect(done.state).toBe('succeeded');
  expect(aws.count('CreateDBSnapshot')).toBe(1);
  expect(aws.rds.snapshotIds()).toEqual([snapshotId]);
  expect(aws.count('ModifyDBInstance')).toBe(1);
  expect(aws.rds.events).toEqual([
    `CreateDBSnapshot ${snapshotId}`,
    `snapshot ${snapshotId} available`,
    'ModifyDBInstance billing-db ApplyImmediately=true',
    'billing-db applied',
  ]);
});
