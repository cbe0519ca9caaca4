// Crash safety with real processes: a worker is SIGKILLed while an action is running; a new
// worker resumes the run, and the action's side effect happened exactly once.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import {
  APPROVER,
  REQUESTER,
  startTestRuntime,
  stopTestRuntime,
  testTarget,
} from '../../support/runtimes/harness';
import type { TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';
import { ChildWorkers, exited } from '../../support/runtimes/child-worker';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_crash');
const queueName = freshQueueName('crash');
const targetSettings = [
  { name: 'crashy', settings: { hangAfterEffectMs: 120_000, polls: 0 } },
  { name: 'graceful', settings: { hangAfterEffectMs: 1_000, polls: 0 } },
];
let web: Runtime;
let world: TestWorld;
const workers = new ChildWorkers(path.join(__dirname, '../../support/runtimes/worker-main.ts'));

function startWorker(): Promise<ChildProcess> {
  return workers.start({
    TEST_SCHEMA: schema,
    TEST_QUEUE: queueName,
    TEST_TARGETS: JSON.stringify(targetSettings),
    TEST_LOCK_MS: '1500',
    TEST_RECONCILE_MS: '500',
  });
}

beforeAll(async () => {
  // The test process is the web side only: it starts and approves runs; workers are children.
  ({ runtime: web, world } = await startTestRuntime({
    schema,
    queueName,
    role: 'web',
    targets: targetSettings.map((t) => testTarget(t.name, t.settings)),
  }));
});

afterAll(async () => {
  await workers.killAll();
  await stopTestRuntime(web, world, schema);
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(web.store, runId, states, 45_000);
}

test('SIGKILL during an action: the next worker resumes and the side effect happens once', async () => {
  const first = await startWorker();
  const outcome = await web.runs.start({ target: web.findTarget('crashy')!, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  const runId = outcome.run.id;
  await untilState(runId, 'awaiting_approval');
  await web.runs.approve(runId, 3, 1, APPROVER);

  // The action has done its side effect and hangs before reporting: kill it there.
  await waitFor('switch side effect', async () => (await world.has(runId, 'switch')) || undefined);
  const before = await web.store.getRun(runId);
  expect(before?.steps[4]?.state).toBe('running');
  first.kill('SIGKILL');
  await exited(first);

  await startWorker();
  const done = await untilState(runId, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  expect((await world.effects(runId)).filter((effect) => effect === 'switch')).toHaveLength(1);
  // The resumed executor found the effect in the world and did not act again.
  expect(done.steps[4]?.output).toEqual({ alreadyDone: true });
});

test('SIGTERM lets the running step finish, records it, then exits 0', async () => {
  // Only this test's worker may pick up the step.
  await workers.killAll();
  const worker = await startWorker();
  const outcome = await web.runs.start({ target: web.findTarget('graceful')!, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  const runId = outcome.run.id;
  await untilState(runId, 'awaiting_approval');
  await web.runs.approve(runId, 3, 1, APPROVER);
  await waitFor('switch in flight', async () => (await world.has(runId, 'switch')) || undefined);
  worker.kill('SIGTERM');
  await exited(worker);
  expect(worker.exitCode).toBe(0);
  // The step in flight was allowed to finish and its result was stored before the process left.
  const run = await web.store.getRun(runId);
  expect(run?.state).toBe('succeeded');
  expect(run?.steps[4]?.output).toEqual({ done: 'switch' });
});
