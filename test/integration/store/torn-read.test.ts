// PgRunStore.getRun reads the run row and its step rows in one statement (one snapshot): two plain
// statements could straddle a commit and return a run row older than its steps (e.g. state
// 'running' with a needs-human gate already on a step), which the step processor, the notifier and
// the Slack handlers would then act on.
//
// Deterministic interleaving: a second connection holds an ACCESS EXCLUSIVE lock on `steps`, so
// getRun blocks on the steps; meanwhile that connection changes the run and a step and commits.
import { Client } from 'pg';
import { PgRunStore } from '../../../src/adapters/store/pg-run-store';
import { createRun, transition } from '../../../src/engine/transition';
import type { Run } from '../../../src/engine/types';
import { REQUESTER } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { waitFor } from '../../support/wait-for';

const schema = freshSchemaName('t_torn_read');
let store: PgRunStore;
let locker: Client;

beforeAll(async () => {
  store = await PgRunStore.open({ connectionString: testDatabaseUrl, schema });
  locker = new Client({ connectionString: testDatabaseUrl });
  await locker.connect();
});

afterAll(async () => {
  await locker.end();
  await store.close();
  await dropSchema(schema);
});

async function startedRun(): Promise<Run> {
  const run = createRun({
    id: '6f1c2a9e-0000-4000-8000-000000000001',
    plan: {
      strategy: 'test',
      target: 'torn',
      steps: [{ name: 'check', kind: 'check', title: 'Check', executor: 'check' }],
    },
    requestedBy: REQUESTER,
    channel: null,
    policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at: new Date().toISOString(),
  });
  const inserted = await store.insertRun(run, REQUESTER);
  if (!inserted.ok) throw new Error('insert refused');
  const started = await store.applyEvent(
    run.id,
    { type: 'start', at: new Date().toISOString() },
    REQUESTER,
    transition,
  );
  if (!started.ok || !started.run) throw new Error('start refused');
  return started.run;
}

test('getRun returns one consistent snapshot of a run and its steps', async () => {
  const run = await startedRun();
  expect([run.state, run.steps[0]?.state]).toEqual(['running', 'queued']);
  const q = `"${schema}"`;

  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${q}.steps IN ACCESS EXCLUSIVE MODE`);
  const reading = store.getRun(run.id);
  await waitFor('getRun blocked on the steps table', async () => {
    const blocked = await locker.query(
      `SELECT 1 FROM pg_locks WHERE relation = $1::regclass AND NOT granted`,
      [`${q}.steps`],
    );
    return (blocked.rowCount ?? 0) > 0;
  });
  // One transition, committed while getRun waits for the steps table.
  await locker.query(`UPDATE ${q}.runs SET state = 'failed', outcome = 'Check failed: no' WHERE id = $1`, [
    run.id,
  ]);
  await locker.query(`UPDATE ${q}.steps SET state = 'failed' WHERE run_id = $1 AND idx = 0`, [run.id]);
  await locker.query('COMMIT');

  const read = await reading;
  // Before or after the transition, never half of each.
  expect([
    ['running', 'queued'],
    ['failed', 'failed'],
  ]).toContainEqual([read?.state, read?.steps[0]?.state]);
});
