// An RDS read-replica promotion that loses no acknowledged write, through the real runtime, the
// real strategy, the real AwsRdsAdapter (SDK clients over HTTP to the AWS emulator) and a real
// PostgreSQL pair behind the emulator's two instances (rds-pair.ts): the bot connects as an
// rds_superuser member, never as a superuser, fences the source over SQL, waits until the replica
// has replayed the source's last WAL position, sends PromoteReadReplica, and routes as soon as the
// replica completes a commit (RDS may still show it rebooting or backing-up).
import { Client } from 'pg';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import type { Strategy } from '../../../src/strategies/types';
import { startAwsEmulatorBeforeAll } from '../../support/services/aws/emulator';
import { APPROVER, startStrategyRuntime, stopRuntimeAndClean } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import {
  asRole,
  CLIENT_KINDS,
  missingRows,
  startClient,
  type ClientKind,
  type PgClient,
} from '../../support/services/pg-clients';
import type { PgPair } from '../../support/services/pg-pair';
import { freshQueueName } from '../../support/services/redis';
import { waitFor } from '../../support/wait-for';
import {
  BLUE_GREEN_TARGET as BLUE_GREEN,
  FENCED_STEP,
  FENCED_TARGET as TARGET,
  fencedStrategy,
  fencedTargetEnv,
  fencedTargets,
  freshRdsPair,
  UNFENCED_TARGET as UNFENCED,
} from './rds-fenced-runtime';
import { APP_ROLES, asSuperuser, canWrite, REPLICA_ID, SOURCE_ID } from './rds-pair';
import { startRun, targetOf, untilFinished, untilRun, untilState } from './rds-runtime';

jest.setTimeout(120_000);

/** Plan order of a fenced RDS promotion (planReplicaPromotion). */
const STEP = FENCED_STEP;
const env = fencedTargetEnv();

const emulator = startAwsEmulatorBeforeAll();
const schema = freshSchemaName('t_rds_fenced');
const pairs: PgPair[] = [];
let adapter: AwsRdsAdapter;
let strategy: Strategy;
let runtime: Runtime;

beforeAll(async () => {
  adapter = new AwsRdsAdapter({ minDelaySeconds: 0.01, maxDelaySeconds: 0.05 });
  strategy = fencedStrategy(adapter, env);
  runtime = await startStrategyRuntime({
    strategy,
    targets: fencedTargets(strategy, env),
    schema,
    queueName: freshQueueName('rds-fenced'),
  });
});

afterEach(async () => {
  for (const active of await runtime.store.listActiveRuns()) {
    await runtime.runs.abort(active.id, APPROVER, 'test cleanup');
    await untilFinished(runtime, active.id);
  }
});

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  adapter.destroy();
  await emulator.close();
  for (const pair of pairs) await pair.destroy();
});

function freshPair(): Promise<PgPair> {
  return freshRdsPair(emulator.get(), env, pairs);
}

async function approveOpenGate(run: Run): Promise<void> {
  const current = await runtime.store.getRun(run.id);
  const gate = current?.steps.find((step) => step.state === 'awaiting_approval' && step.gate !== null);
  if (!gate?.gate) {
    throw new Error(`run ${run.id} has no open gate (${current ? describeRun(current) : 'missing'})`);
  }
  const approved = await runtime.runs.approve(run.id, gate.index, gate.gate.round, APPROVER);
  if (!approved.ok) throw new Error(approved.error);
}

/** Until the run stops at a gate or ends. */
function untilStopped(run: Run): Promise<Run> {
  return untilState(runtime, run.id, 'awaiting_approval', 'succeeded', 'failed', 'aborted');
}

function describeRun(run: Run): string {
  const gate = run.steps.find((step) => step.state === 'awaiting_approval')?.gate?.message ?? '';
  return `${run.state}: ${run.outcome ?? ''} ${gate}`;
}

test('hostile clients write all along: every acknowledged write is on the promoted replica', async () => {
  const pair = await freshPair();
  const clients: PgClient[] = CLIENT_KINDS.map((kind) => startClient(pair.primaryUrl, kind));
  let done: Run;
  try {
    await waitFor('every client writing', async () =>
      clients.every((client) => client.acknowledged.length > 10) ? true : undefined,
    );
    const run = await startRun(runtime, TARGET);
    const atGate = await untilStopped(run);
    expect({ state: atGate.state, currentStep: atGate.currentStep }).toEqual({
      state: 'awaiting_approval',
      currentStep: STEP.gate,
    });
    await approveOpenGate(run);
    done = await untilFinished(runtime, run.id);
    // The clients go on at the source's address (nobody routes them here): whatever they are told
    // from now on is an error, never an acknowledged write that is lost.
    const errorsAt = clients.map((client) => Object.values(client.errors).reduce((a, b) => a + b, 0));
    await waitFor('every client refused after the cutover', async () =>
      clients.every(
        (client, i) => Object.values(client.errors).reduce((a, b) => a + b, 0) > (errorsAt[i] ?? 0),
      )
        ? true
        : undefined,
    );
  } finally {
    await Promise.all(clients.map((client) => client.stop()));
  }
  expect({ state: done.state, detail: describeRun(done) }).toMatchObject({ state: 'succeeded' });
  for (const client of clients) expect(client.acknowledged.length).toBeGreaterThan(10);
  expect(await missingRows(pair.standbyUrl, clients)).toEqual([]);

  // The promoted replica takes every application role's writes; the old source takes nobody's.
  for (const role of APP_ROLES) {
    expect(await canWrite(pair.standbyUrl, role)).toBe(true);
    expect(await canWrite(pair.primaryUrl, role)).toBe(false);
  }

  // Fenced before PromoteReadReplica went out, sent once, routed before RDS said `available`.
  const promoted = done.steps[STEP.promote];
  expect(promoted?.spec.name).toBe(FENCE_AND_PROMOTE_STEP);
  const output = promoted?.output ?? {};
  expect(output).toMatchObject({ mode: 'sql', fenced: true, promoteRequested: true, oldPrimarySealed: true });
  const { rds } = emulator.get();
  expect(rds.count('PromoteReadReplica')).toBe(1);
  const promoteCall = rds.calls.find((call) => call.action === 'PromoteReadReplica');
  expect(promoteCall?.at.getTime()).toBeGreaterThanOrEqual(Number(output['fencedAtMs']));
  expect(['rebooting', 'backing-up']).toContain(output['rdsStatusAtCommit']);
  expect(rds.instance(REPLICA_ID)).toMatchObject({ status: 'backing-up', sourceId: null });
  expect(output['routeReport']).toContain(`routing to 127.0.0.1:${pair.standbyPort}`);

  const report = done.steps[STEP.report]?.output?.['report'];
  expect(report).toContain('Bytes lost: 0');
  expect(report).toMatch(/3 role\(s\) could not log in during the window/);
});

test('the same clients without a fence (allowDataLoss): acknowledged writes are lost, as the report says', async () => {
  const pair = await freshPair();
  emulator.get().cloudWatch.addReplicaLag(REPLICA_ID, new Date(Date.now() - 60_000), 0.5);
  const kinds: ClientKind[] = ['plain', 'reconnect'];
  const clients: PgClient[] = kinds.map((kind) => startClient(pair.primaryUrl, kind));
  let done: Run;
  try {
    await waitFor('every client writing', async () =>
      clients.every((client) => client.acknowledged.length > 10) ? true : undefined,
    );
    const run = await startRun(runtime, UNFENCED);
    await untilStopped(run);
    await approveOpenGate(run);
    done = await untilFinished(runtime, run.id);
    // Nothing stops them: the old source acknowledges writes the promoted replica never gets.
    const ackedAt = clients.map((client) => client.acknowledged.length);
    await waitFor('every client acknowledged after the promotion', async () =>
      clients.every((client, i) => client.acknowledged.length > (ackedAt[i] ?? 0)) ? true : undefined,
    );
  } finally {
    await Promise.all(clients.map((client) => client.stop()));
  }
  expect({ state: done.state, detail: describeRun(done) }).toMatchObject({ state: 'succeeded' });
  expect((await missingRows(pair.standbyUrl, clients)).length).toBeGreaterThan(0);
  const report = done.steps.find((step) => step.spec.name === 'wait-available')?.output?.['report'];
  expect(report).toContain(':warning: Not fenced (allowDataLoss): ReplicaLag was 0.5 s at the re-check');
});

describe('the fence with what rds_superuser can do, and nothing less', () => {
  let pair: PgPair;
  beforeAll(async () => {
    pair = await freshPair();
  });

  const cases = [
    {
      what: 'a bot role without CREATEROLE',
      change: 'ALTER ROLE cutover_bot NOCREATEROLE',
      undo: 'ALTER ROLE cutover_bot CREATEROLE',
      detail:
        "the fence needs CREATEROLE (to make the application roles NOLOGIN), and the bot's role cutover_bot lacks it. " +
        'On RDS, grant rds_superuser to the bot’s own role (it has both)',
    },
    {
      what: 'a bot role that may not end other sessions',
      change: 'REVOKE rds_superuser FROM cutover_bot; GRANT pg_monitor TO cutover_bot',
      undo: 'REVOKE pg_monitor FROM cutover_bot; GRANT rds_superuser TO cutover_bot',
      detail:
        "the fence needs membership in pg_signal_backend (to end their sessions), and the bot's role cutover_bot lacks it. " +
        'On RDS, grant rds_superuser to the bot’s own role (it has both)',
    },
    {
      what: 'an application role that is a real superuser',
      change: 'ALTER ROLE app_super SUPERUSER',
      undo: 'ALTER ROLE app_super NOSUPERUSER',
      detail:
        "roles that may log in cannot be locked out by the bot's role cutover_bot: app_super (a superuser). " +
        'Take their LOGIN away, or list them in managedRoles if the provider alone logs in as them',
    },
  ];

  test.each(cases)(
    '$what: refused before anything is fenced, saying why',
    async ({ change, undo, detail }) => {
      await asSuperuser(pair.primaryUrl, change);
      try {
        // What /cutover plan shows.
        expect(await strategy.preflight(targetOf(runtime, TARGET))).toContainEqual({
          name: 'fence',
          ok: false,
          detail,
        });
        const run = await startRun(runtime, TARGET);
        const done = await untilFinished(runtime, run.id);
        expect(done.state).toBe('failed');
        expect(done.outcome).toContain(detail);
        expect(emulator.get().rds.count('PromoteReadReplica')).toBe(0);
        for (const role of ['app_plain', 'app_role_rw'])
          expect(await canWrite(pair.primaryUrl, role)).toBe(true);
      } finally {
        await asSuperuser(pair.primaryUrl, undo);
      }
    },
  );
});

test('a prepared transaction: the run asks first; approved, it moves to the new primary still prepared', async () => {
  const pair = await freshPair();
  const holder = new Client({ connectionString: asRole(pair.primaryUrl, 'app_plain') });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query("INSERT INTO ledger (client, n) VALUES ('prepared', 1)");
  await holder.query("PREPARE TRANSACTION 'cutover-test-1'");
  await holder.end();

  const run = await startRun(runtime, TARGET);
  await untilStopped(run);
  await approveOpenGate(run);
  const asked = await untilRun(
    runtime,
    run.id,
    'the prepare step asks',
    (current) =>
      ['awaiting_approval', 'failed', 'succeeded'].includes(current.state) &&
      current.currentStep === STEP.prepare,
  );
  expect(asked.steps[STEP.prepare]?.gate?.message).toMatch(
    /^1 prepared transaction\(s\) on the source: cutover-test-1/,
  );
  expect(emulator.get().rds.count('PromoteReadReplica')).toBe(0);

  await approveOpenGate(run);
  const done = await untilFinished(runtime, run.id);
  expect({ state: done.state, detail: describeRun(done) }).toMatchObject({ state: 'succeeded' });

  // Committed on the new primary, where it is still prepared; nobody can log in to commit it on the old.
  await asSuperuser(pair.standbyUrl, "COMMIT PREPARED 'cutover-test-1'");
  const check = new Client({ connectionString: pair.standbyUrl });
  await check.connect();
  const rows = await check.query("SELECT n FROM ledger WHERE client = 'prepared'");
  await check.end();
  expect(rows.rows).toEqual([{ n: 1 }]);
  expect(await canWrite(pair.primaryUrl, 'app_plain')).toBe(false);
});

test('the replica cannot catch up: a person decides; abort unfences the source, nothing promoted', async () => {
  const pair = await freshPair();
  const run = await startRun(runtime, TARGET);
  await untilStopped(run);
  // The fence's own WAL (the NOLOGINs) is then never replayed.
  await pair.pauseReplay();
  try {
    await approveOpenGate(run);
    const stuck = await untilRun(
      runtime,
      run.id,
      'catch-up needs a person',
      (current) =>
        ['awaiting_approval', 'failed', 'succeeded'].includes(current.state) &&
        current.currentStep === STEP.promote,
    );
    expect(stuck.steps[STEP.promote]?.gate?.message).toMatch(
      /^the replica has not replayed the fenced source's WAL up to [0-9A-F]+\/[0-9A-F]+ \d+ s after the fence; not promoting/,
    );
    expect(await canWrite(pair.primaryUrl, 'app_plain')).toBe(false);

    const aborted = await runtime.runs.abort(run.id, APPROVER, 'replica stuck');
    expect(aborted.ok).toBe(true);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('aborted');
    expect(done.steps[STEP.promote]?.state).toBe('compensated');
  } finally {
    await pair.resumeReplay();
  }
  for (const role of APP_ROLES) expect(await canWrite(pair.primaryUrl, role)).toBe(true);
  expect(emulator.get().rds.count('PromoteReadReplica')).toBe(0);
  expect(emulator.get().rds.instance(REPLICA_ID)?.sourceId).toBe(SOURCE_ID);
});

test('Blue/Green: the preflight reads blue over SQL for what logical replication will not carry', async () => {
  const pair = await freshPair();
  await asSuperuser(
    pair.primaryUrl,
    `CREATE TABLE audit_log (at timestamptz, line text);
     CREATE TABLE keyed_by_index (id int NOT NULL);
     CREATE UNIQUE INDEX keyed_by_index_id ON keyed_by_index (id);
     ALTER TABLE keyed_by_index REPLICA IDENTITY USING INDEX keyed_by_index_id;
     SELECT lo_from_bytea(0, 'a scanned contract');`,
  );
  emulator
    .get()
    .rds.addInstance('orders-green')
    .addBlueGreen('bgd-orders', { source: SOURCE_ID, target: 'orders-green' });

  const checks = await strategy.preflight(targetOf(runtime, BLUE_GREEN));

  expect(checks.filter((check) => !check.ok)).toEqual([]);
  expect(checks.filter((check) => check.warning).map((check) => check.detail)).toEqual([
    expect.stringContaining('DDL run on blue after the deployment was created'),
    '1 table(s) in postgres have no primary key (nor replica identity): public.audit_log; their UPDATE and DELETE ' +
      'are not replicated to green (add a primary key, or REPLICA IDENTITY FULL)',
    '1 large object(s) in postgres: large objects are not replicated; green does not have those written since the ' +
      'deployment was created',
  ]);
});

test('the plan of a fenced RDS promotion', () => {
  const plan = strategy.plan(targetOf(runtime, TARGET));
  expect(plan.steps.map((step) => step.name)).toEqual([
    'preflight',
    'wait-for-lag',
    'approve-promotion',
    'recheck-lag',
    'prepare',
    FENCE_AND_PROMOTE_STEP,
    'report',
  ]);
  expect(plan.steps[STEP.promote]?.compensation?.executor).toBe('rds-unfence');
});
