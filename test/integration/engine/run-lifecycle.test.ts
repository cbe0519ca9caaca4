// A run of the test strategy through the real runtime: PostgreSQL store, BullMQ on Redis, workers.
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { Reconciler } from '../../../src/orchestrator/reconciler';
import { queueJobId } from '../../../src/ports/job-queue';
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
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_lifecycle');
let runtime: Runtime;
let world: TestWorld;

const targets = [
  testTarget('happy', { polls: 2 }),
  testTarget('abort-at-gate'),
  testTarget('fails', { actionFails: 'fatal' }),
  testTarget('flaky', { actionRetryableFailures: 2 }),
  testTarget('human', { actionFails: 'needs-human' }),
  testTarget('abort-running', { hangAfterEffectMs: 400 }),
  testTarget('slow-wait', { polls: 50, pollMs: 2000 }),
];

beforeAll(async () => {
  ({ runtime, world } = await startTestRuntime({ schema, queueName: freshQueueName('lifecycle'), targets }));
});

afterAll(async () => {
  await stopTestRuntime(runtime, world, schema);
});

function target(name: string) {
  const found = runtime.findTarget(name);
  if (!found) throw new Error(`no target ${name}`);
  return found;
}

async function start(name: string): Promise<Run> {
  const outcome = await runtime.runs.start({ target: target(name), requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states);
}

test('check -> wait -> gate -> action -> done, approved by a second person', async () => {
  const run = await start('happy');
  const atGate = await untilState(run.id, 'awaiting_approval');
  expect(atGate.steps.map((step) => step.state)).toEqual([
    'succeeded',
    'succeeded',
    'succeeded',
    'awaiting_approval',
    'pending',
  ]);
  // The wait step polled twice as delayed jobs, then was satisfied: three jobs, three attempts.
  expect(atGate.steps[2]?.attempt).toBe(3);

  const self = await runtime.runs.approve(run.id, 3, 1, REQUESTER, { lagBytes: 0 });
  expect(self.ok).toBe(false);
  if (!self.ok) expect(self.error).toMatch(/requester/);

  const approved = await runtime.runs.approve(run.id, 3, 1, APPROVER, { lagBytes: 0 });
  expect(approved.ok).toBe(true);

  const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  expect(await world.effects(run.id)).toEqual([
    'preflight',
    'take-lock',
    'poll-0',
    'poll-1',
    'poll-2',
    'switch',
  ]);

  const approvals = await runtime.store.listApprovals(run.id);
  expect(approvals).toEqual([
    expect.objectContaining({ step: 3, round: 1, userId: APPROVER, seen: { lagBytes: 0 } }),
  ]);
  const audit = await runtime.store.listAudit(run.id);
  expect(audit.map((entry) => entry.type)).toEqual(
    expect.arrayContaining(['run_created', 'start', 'refused:approve', 'approve', 'step_succeeded']),
  );
  expect(audit.find((entry) => entry.type === 'refused:approve')?.actor).toBe(REQUESTER);
});

test('abort at the gate undoes completed steps in reverse order', async () => {
  const run = await start('abort-at-gate');
  await untilState(run.id, 'awaiting_approval');
  const aborted = await runtime.runs.abort(run.id, APPROVER, 'not tonight');
  expect(aborted.ok).toBe(true);
  const done = await untilState(run.id, 'aborted', 'failed', 'succeeded');
  expect(done.state).toBe('aborted');
  expect(done.outcome).toBe(`aborted by ${APPROVER}: not tonight`);
  expect(await world.effects(run.id)).toEqual(['preflight', 'take-lock', 'poll-0', 'poll-1', 'release-lock']);
  expect(done.steps.map((step) => step.state)).toEqual([
    'succeeded',
    'compensated',
    'succeeded',
    'skipped',
    'skipped',
  ]);
});

test('a fatal action failure fails the run and runs compensations newest first', async () => {
  const run = await start('fails');
  await untilState(run.id, 'awaiting_approval');
  await runtime.runs.approve(run.id, 3, 1, APPROVER);
  const done = await untilState(run.id, 'failed', 'aborted', 'succeeded');
  expect(done.state).toBe('failed');
  expect(done.outcome).toBe('Switch failed: the switch broke');
  const effects = await world.effects(run.id);
  // The switch failed before acting, yet its undo runs: a step that was started may have touched the world.
  expect(effects.slice(-2)).toEqual(['switch-back', 'release-lock']);
});

test('retryable failures are retried with new attempts until the step succeeds', async () => {
  const run = await start('flaky');
  await untilState(run.id, 'awaiting_approval');
  await runtime.runs.approve(run.id, 3, 1, APPROVER);
  const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  expect(done.steps[4]).toMatchObject({ state: 'succeeded', retries: 2, attempt: 3 });
  expect((await world.effects(run.id)).filter((effect) => effect === 'switch')).toHaveLength(1);
});

test('a needs-human failure pauses at a new gate; approving it retries the step with the override', async () => {
  const run = await start('human');
  await untilState(run.id, 'awaiting_approval');
  await runtime.runs.approve(run.id, 3, 1, APPROVER);
  const paused = await waitFor('needs-human gate', async () => {
    const current = await runtime.store.getRun(run.id);
    return current?.steps[4]?.gate?.reason === 'needs_human' ? current : undefined;
  });
  expect(paused.state).toBe('awaiting_approval');
  expect(paused.steps[4]?.gate).toMatchObject({
    round: 1,
    expiresAt: null,
    message: expect.stringMatching(/person/),
  });
  await runtime.runs.approve(run.id, 4, 1, 'U0SECOND');
  const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  expect(done.steps[4]?.humanOverride).toBe(true);
});

test('abort while an action is running takes effect when it reports, and undoes it', async () => {
  const run = await start('abort-running');
  await untilState(run.id, 'awaiting_approval');
  await runtime.runs.approve(run.id, 3, 1, APPROVER);
  await waitFor('switch in flight', async () => (await world.has(run.id, 'switch')) || undefined);
  const requested = await runtime.runs.abort(run.id, REQUESTER, 'changed my mind');
  expect(requested.ok).toBe(true);
  if (requested.ok) expect(requested.run.abortRequested).toMatchObject({ user: REQUESTER });
  const done = await untilState(run.id, 'aborted', 'failed', 'succeeded');
  expect(done.state).toBe('aborted');
  expect((await world.effects(run.id)).slice(-2)).toEqual(['switch-back', 'release-lock']);
});

test('the same approval delivered twice at once is recorded once', async () => {
  const run = await start('happy');
  await untilState(run.id, 'awaiting_approval');
  const results = await Promise.all([1, 2, 3].map(() => runtime.runs.approve(run.id, 3, 1, APPROVER)));
  expect(results.filter((result) => result.ok)).toHaveLength(1);
  expect(await runtime.store.listApprovals(run.id)).toHaveLength(1);
  await untilState(run.id, 'succeeded');
});

test('two concurrent starts for the same target make exactly one run', async () => {
  const outcomes = await Promise.all(
    [1, 2, 3].map(() => runtime.runs.start({ target: target('abort-at-gate'), requestedBy: REQUESTER })),
  );
  const started = outcomes.filter((outcome) => outcome.ok);
  expect(started).toHaveLength(1);
  const refused = outcomes.filter((outcome) => !outcome.ok);
  for (const outcome of refused) {
    if (!outcome.ok) expect(outcome.reason).toBe('target_busy');
  }
  const runId = started[0]?.ok ? started[0].run.id : '';
  await untilState(runId, 'awaiting_approval');
  await runtime.runs.abort(runId, REQUESTER, 'cleanup');
  await untilState(runId, 'aborted');
});

test('reconcileOnce re-queues exactly the job the store expects when the queue lost it', async () => {
  const run = await start('slow-wait');
  await waitFor('first poll', async () => (await world.has(run.id, 'poll-0')) || undefined);
  const waiting = await waitFor('poll delayed', async () => {
    const current = await runtime.store.getRun(run.id);
    return current?.steps[2]?.state === 'queued' ? current : undefined;
  });
  const expected = Reconciler.expectedJob(waiting)!;
  expect(await runtime.queue.status(expected)).toBe('delayed');
  await runtime.queue.queue.remove(queueJobId(expected));
  expect(await runtime.queue.status(expected)).toBe('missing');

  const report = await runtime.reconciler.reconcileOnce();
  expect(report.requeued).toEqual([expected]);
  // The restored job keeps the delay the store recorded (notBefore), it does not run at once.
  expect(await runtime.queue.status(expected)).toBe('delayed');
  expect((await runtime.reconciler.reconcileOnce()).requeued).toEqual([]);

  await runtime.runs.abort(run.id, REQUESTER, 'done testing');
  await untilState(run.id, 'aborted');
});
