// The step processor against the real store: a job of a run this worker knows starts its step
// without a read first (the locked `step_started` transition is the stale check), and still tells
// a resumed step from a fresh one. Jobs are handed to the processor directly: the runtime here is
// the web role, so no worker takes them from the queue.
import pino from 'pino';
import type { Run, StepJobRef } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { StepProcessor } from '../../../src/orchestrator/step-processor';
import type { RunStore } from '../../../src/ports/run-store';
import { registryOf, type Strategy } from '../../../src/strategies/types';
import { REQUESTER, startTestRuntime, stopTestRuntime, testTarget } from '../../support/runtimes/harness';
import { ManualClock } from '../../support/fakes/manual-clock';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { createTestStrategy, type TestWorld } from '../../support/fakes/test-strategy';

const schema = freshSchemaName('t_stepproc');
// 01:00 UTC: outside the windowed target's 02:00–04:00 window.
const clock = new ManualClock('2026-11-27T01:00:00.000Z');
const targets = [
  testTarget('plain-db', { polls: 0 }),
  testTarget('resume-db', { polls: 0 }),
  {
    ...testTarget('windowed-db', { polls: 0 }),
    windows: [{ cron: '0 2 * * *', durationMs: 2 * 3_600_000, timezone: 'UTC' }],
    requireWindow: true,
  },
];
let runtime: Runtime;
let world: TestWorld;

interface Harness {
  processor: StepProcessor;
  /** Executor calls: step name and whether the processor said it was resumed. */
  calls: { step: string; resumed: boolean }[];
  reads: () => number;
}

/** A processor of its own (its own memory of runs), counting the store's run reads. */
function newProcessor(): Harness {
  const calls: Harness['calls'] = [];
  let reads = 0;
  const inner = createTestStrategy(world);
  const strategy: Strategy = {
    ...inner,
    executors: Object.fromEntries(
      Object.entries(inner.executors).map(([name, executor]) => [
        name,
        {
          execute: (ctx) => {
            calls.push({ step: ctx.step.spec.name, resumed: ctx.resumed });
            return executor.execute(ctx);
          },
        },
      ]),
    ),
  };
  const store: RunStore = Object.create(runtime.store) as RunStore;
  store.getRun = (runId) => {
    reads += 1;
    return runtime.store.getRun(runId);
  };
  const processor = new StepProcessor({
    store,
    runs: runtime.runs,
    strategies: registryOf([strategy]),
    findTarget: runtime.findTarget,
    clock,
    log: pino({ level: 'silent' }),
  });
  return { processor, calls, reads: () => reads };
}

function job(run: Run, step: number, attempt = 1): StepJobRef {
  return { runId: run.id, step, attempt, mode: 'execute' };
}

async function startRun(target: string): Promise<Run> {
  const outcome = await runtime.runs.start({ target: runtime.findTarget(target)!, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

beforeAll(async () => {
  ({ runtime, world } = await startTestRuntime({
    schema,
    queueName: freshQueueName('stepproc'),
    role: 'web',
    clock,
    targets,
  }));
});

afterAll(async () => {
  await stopTestRuntime(runtime, world, schema);
});

test('a known run: the next steps start without a read; a repeated job is stale and runs nothing', async () => {
  const h = newProcessor();
  const run = await startRun('plain-db');
  expect(await h.processor.process(job(run, 0))).toBe('executed');
  expect(h.reads()).toBe(1); // the first job of a run this processor did not know
  expect(await h.processor.process(job(run, 1))).toBe('executed');
  expect(await h.processor.process(job(run, 2))).toBe('executed');
  expect(h.reads()).toBe(1);
  expect(h.calls).toEqual([
    { step: 'preflight', resumed: false },
    { step: 'take-lock', resumed: false },
    { step: 'wait-ready', resumed: false },
  ]);

  // A redelivered job of a finished step, and a job for a step that is not current: nothing runs.
  expect(await h.processor.process(job(run, 1))).toBe('stale');
  expect(await h.processor.process(job(run, 4))).toBe('stale');
  expect(h.calls).toHaveLength(3);
  const stored = await runtime.store.getRun(run.id);
  expect(stored?.state).toBe('awaiting_approval');
  expect(stored?.steps.slice(0, 3).map((step) => step.state)).toEqual([
    'succeeded',
    'succeeded',
    'succeeded',
  ]);
  await runtime.runs.abort(run.id, REQUESTER, 'test done');
});

test('a step already started (a worker died in it) is resumed, with and without a read first', async () => {
  const known = newProcessor();
  const run = await startRun('resume-db');
  expect(await known.processor.process(job(run, 0))).toBe('executed');
  // An earlier attempt recorded "started" for step 1 and died before reporting.
  const started = await runtime.runs.apply(
    run.id,
    { type: 'step_started', at: clock.now().toISOString(), step: 1, attempt: 1 },
    'worker',
  );
  expect(started.ok).toBe(true);
  expect(await known.processor.process(job(run, 1))).toBe('executed');
  expect(known.calls).toEqual([
    { step: 'preflight', resumed: false },
    { step: 'take-lock', resumed: true },
  ]);
  expect(known.reads()).toBe(1);

  // A new worker that never saw the run reads it and finds the same.
  await runtime.runs.apply(
    run.id,
    { type: 'step_started', at: clock.now().toISOString(), step: 2, attempt: 1 },
    'worker',
  );
  const fresh = newProcessor();
  expect(await fresh.processor.process(job(run, 2))).toBe('executed');
  expect(fresh.calls).toEqual([{ step: 'wait-ready', resumed: true }]);
  expect(fresh.reads()).toBe(1);
  await runtime.runs.abort(run.id, REQUESTER, 'test done');
});

test('a target with a required window is read before every step: an action outside it is not started', async () => {
  const h = newProcessor();
  const run = await startRun('windowed-db');
  expect(await h.processor.process(job(run, 0))).toBe('executed'); // a check: not held by the window
  // take-lock is an action and 01:00 is outside 02:00–04:00: a window gate instead of the step.
  expect(await h.processor.process(job(run, 1))).toBe('executed');
  expect(h.reads()).toBe(2);
  expect(h.calls).toEqual([{ step: 'preflight', resumed: false }]);
  const stored = await runtime.store.getRun(run.id);
  expect(stored?.state).toBe('awaiting_approval');
  expect(stored?.steps[1]?.gate?.reason).toBe('window');
  expect(await world.has(run.id, 'take-lock')).toBe(false);
  await runtime.runs.abort(run.id, REQUESTER, 'test done');
});
