// A step worker that stops taking jobs while it still runs (BullMQ's has, after Redis outages and
// failovers: taskforcesh/bullmq#4378, #4585) must not stall a cutover: the reconciler sees a due
// job untaken while nothing runs in this process, and the runtime starts a new worker. A worker
// closed on purpose (shutdown, the crash tests) is left closed.
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { APPROVER, REQUESTER, startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';

const schema = freshSchemaName('t_watchdog');
const world = new TestWorld(testDatabaseUrl, `${schema}_world`);
const target = testTarget('watchdog-db', { polls: 3, pollMs: 50 });
let runtime: Runtime;

beforeAll(async () => {
  await world.setUp();
  runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets: [target] },
    schema,
    queueName: freshQueueName('watchdog'),
    // Untaken for 10 s (the floor) is a wedged worker.
    reconcileIntervalMs: 500,
    lagSampleIntervalMs: null,
  });
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await world.tearDown();
  await dropSchema(schema);
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states, 60_000);
}

test('a worker that runs but takes nothing is replaced; the run goes on to its end', async () => {
  const wedged = runtime.worker!;
  // Not closed, no error, taking nothing: what a wedged blocking connection looks like from outside.
  await wedged.pause(true);

  const started = await runtime.runs.start({ target, requestedBy: REQUESTER });
  if (!started.ok) throw new Error(started.message);
  const runId = started.run.id;
  const atGate = await untilState(runId, 'awaiting_approval', 'failed', 'aborted');
  expect(atGate.state).toBe('awaiting_approval');
  expect(runtime.worker).not.toBe(wedged);
  expect(wedged.closing).toBeDefined();

  expect((await runtime.runs.approve(runId, 3, 1, APPROVER)).ok).toBe(true);
  const done = await untilState(runId, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  expect((await world.effects(runId)).filter((effect) => effect === 'switch')).toHaveLength(1);
}, 90_000);

test('a worker closed on purpose stays closed', async () => {
  const current = runtime.worker!;
  await current.close();
  const started = await runtime.runs.start({ target, requestedBy: REQUESTER });
  if (!started.ok) throw new Error(started.message);
  // Longer than the 10 s after which a running worker would have been replaced.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  expect(runtime.worker).toBe(current);
  const run = await runtime.store.getRun(started.run.id);
  expect(run?.steps[0]?.state).toBe('queued');
}, 30_000);
