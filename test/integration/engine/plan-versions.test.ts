// A worker starting with runs in flight that another build planned (the test strategy, plan
// version 1): a run from a newer build keeps it from starting; a run whose next step names an
// executor this build lacks is undone at once, before it can reach that step.
import { PgRunStore } from '../../../src/adapters/store/pg-run-store';
import { createRun } from '../../../src/engine/transition';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import {
  REQUESTER,
  startStrategyRuntime,
  stopRuntimeAndClean,
  testTarget,
} from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';

const schemas = [freshSchemaName('t_plan_newer'), freshSchemaName('t_plan_older')];
const world = new TestWorld(testDatabaseUrl, `${schemas[1]!}_world`);
const target = testTarget('versioned-db');
const strategy = createTestStrategy(world);
const stores: PgRunStore[] = [];
let runtime: Runtime | undefined;

beforeAll(async () => {
  await world.setUp();
});

afterAll(async () => {
  for (const store of stores) await store.close();
  if (runtime) await stopRuntimeAndClean(runtime, schemas[1]!);
  await world.tearDown();
  for (const schema of schemas) await dropSchema(schema);
});

async function storeIn(schema: string): Promise<PgRunStore> {
  const store = await PgRunStore.open({ connectionString: testDatabaseUrl, schema });
  stores.push(store);
  return store;
}

/** A run of the test strategy waiting at its gate, `take-lock` done, as another build left it. */
function runAtGate(id: string, version: number, switchExecutor: string): Run {
  const plan = strategy.plan(target);
  const steps = plan.steps.map((step) =>
    step.name === 'switch' ? { ...step, executor: switchExecutor } : step,
  );
  const at = new Date().toISOString();
  const run = createRun({
    id,
    plan: { ...plan, version, steps },
    requestedBy: REQUESTER,
    channel: target.channel,
    policy: { approvalTimeoutMs: 15 * 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at,
  });
  const gate = run.steps.findIndex((step) => step.spec.kind === 'gate');
  run.state = 'awaiting_approval';
  run.currentStep = gate;
  for (const step of run.steps.slice(0, gate))
    Object.assign(step, { state: 'succeeded', attempt: 1, startedAt: at, finishedAt: at });
  Object.assign(run.steps[gate]!, {
    state: 'awaiting_approval',
    startedAt: at,
    gate: {
      reason: 'planned',
      round: 1,
      openedAt: at,
      expiresAt: null,
      requiredApprovals: 1,
      approvedBy: [],
      expired: false,
      message: null,
    },
  });
  return run;
}

function start(schema: string): Promise<Runtime> {
  return startStrategyRuntime({
    strategy,
    targets: { path: 'test', targets: [target] },
    schema,
    queueName: freshQueueName('plan-versions'),
    reconcileIntervalMs: null,
    lagSampleIntervalMs: null,
  });
}

test('a run planned by a newer build: the worker refuses to start and says which run', async () => {
  const store = await storeIn(schemas[0]!);
  const newer = runAtGate('00000000-0000-4000-8000-0000000000b1', 2, 'switch');
  expect((await store.insertRun(newer, REQUESTER)).ok).toBe(true);
  expect((await store.getRun(newer.id))?.planVersion).toBe(2);

  await expect(start(schemas[0]!)).rejects.toThrow(
    `run ${newer.id} on versioned-db was planned by test plan version 2, newer than this build (this build runs versions 1–1)`,
  );
  // Nothing was done to it.
  expect((await store.getRun(newer.id))?.state).toBe('awaiting_approval');
});

test('a run whose next step this build cannot run: undone at start-up, before anyone can approve it', async () => {
  const store = await storeIn(schemas[1]!);
  const older = runAtGate('00000000-0000-4000-8000-0000000000b2', 1, 'switch-v0');
  expect((await store.insertRun(older, REQUESTER)).ok).toBe(true);
  await world.record(older.id, 'take-lock');

  runtime = await start(schemas[1]!);
  const done = await untilRunState(runtime.store, older.id, ['aborted', 'failed', 'succeeded'], 30_000);
  expect(done.state).toBe('aborted');
  expect(done.outcome).toBe(
    `aborted by cutover-bot: run ${older.id} on versioned-db was planned by test plan version 1; its next steps need "switch-v0", which this build does not have: undone before it reaches a step it cannot run`,
  );
  // The gate it waited at is closed as failed; the switch never ran.
  expect(done.steps.map((step) => step.state)).toEqual([
    'succeeded',
    'compensated',
    'succeeded',
    'failed',
    'skipped',
  ]);
  expect(await world.effects(older.id)).toEqual(['take-lock', 'release-lock']);
});
