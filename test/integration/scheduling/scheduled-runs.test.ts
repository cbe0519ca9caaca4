// Scheduled runs, maintenance windows and the cooldown, on the real runtime (PostgreSQL, BullMQ on
// Redis) with the Clock port: nothing here sleeps until a window opens.
import IORedis from 'ioredis';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import {
  APPROVER,
  REQUESTER,
  startTestRuntime,
  stopTestRuntime,
  testTarget,
} from '../../support/runtimes/harness';
import { ManualClock } from '../../support/fakes/manual-clock';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName, testRedisUrl } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import type { TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';

// Its own Redis database: the FLUSHDB below cannot touch suites running alongside.
const REDIS_DB = 8;
const schema = freshSchemaName('t_sched');
const queueName = freshQueueName('sched');
const clock = new ManualClock('2026-11-27T01:00:00.000Z');
const nightly = [{ cron: '0 2 * * *', durationMs: 2 * 3_600_000, timezone: 'UTC' }];
const targets = [
  { ...testTarget('nightly-db', { polls: 0 }), windows: nightly, requireWindow: true },
  { ...testTarget('busy-db', { polls: 0 }) },
  { ...testTarget('early-db', { polls: 0 }) },
  {
    ...testTarget('tight-db', { polls: 0 }),
    windows: [{ cron: '0 2 * * *', durationMs: 10 * 60_000, timezone: 'UTC' }],
    requireWindow: true,
  },
  { ...testTarget('cool-db', { polls: 0 }), cooldownMs: 3_600_000 },
];
const redis = new IORedis(testRedisUrl(REDIS_DB));
let runtime: Runtime;
let world: TestWorld;

async function start(): Promise<void> {
  ({ runtime, world } = await startTestRuntime({
    schema,
    queueName,
    redisDb: REDIS_DB,
    clock,
    // The tests drive the reconciler themselves (reconcileOnce) at the times they choose.
    reconcileIntervalMs: 3_600_000,
    targets,
  }));
}

beforeAll(start);

afterAll(async () => {
  await stopTestRuntime(runtime, world, schema);
  redis.disconnect();
});

function target(name: string) {
  const found = runtime.findTarget(name);
  if (!found) throw new Error(name);
  return found;
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states);
}

async function schedule(name: string, at: string): Promise<Run> {
  const outcome = await runtime.runs.schedule({
    target: target(name),
    requestedBy: REQUESTER,
    at: new Date(at),
  });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

test('a scheduled run survives a restart of every process and a Redis FLUSHDB, and starts on time', async () => {
  clock.set('2026-11-27T01:00:00.000Z');
  const run = await schedule('nightly-db', '2026-11-27T02:00:00.000Z');
  expect(run.state).toBe('scheduled');
  expect(await runtime.queue.status({ runId: run.id, mode: 'start' })).toBe('delayed');
  expect((await runtime.store.listScheduledRuns()).map((r) => r.id)).toContain(run.id);

  // Every process stops; Redis loses everything; new processes come up half an hour later.
  await runtime.worker?.close();
  await runtime.close();
  await redis.flushdb();
  clock.set('2026-11-27T01:30:00.000Z');
  expect(await redis.dbsize()).toBe(0);
  await start();
  // The reconciler's first pass at start-up puts the start job back, delayed by what is left.
  await waitFor(
    'the restored start job',
    async () => (await runtime.queue.status({ runId: run.id, mode: 'start' })) === 'delayed' || undefined,
  );
  const job = await runtime.queue.queue.getJob(`run.${run.id}.start`);
  expect(job?.opts.delay).toBe(30 * 60_000);
  expect((await runtime.reconciler.reconcileOnce()).restoredStarts).toEqual([]);
  expect((await runtime.store.getRun(run.id))?.state).toBe('scheduled'); // not early

  // Its time comes (by the Clock port): the reconciler sees it due and starts it.
  clock.set('2026-11-27T02:00:00.000Z');
  await runtime.reconciler.reconcileOnce();
  const atGate = await untilState(run.id, 'awaiting_approval', 'failed');
  expect(atGate.state).toBe('awaiting_approval');
  expect(Date.parse(atGate.steps[0]!.startedAt!)).toBeGreaterThanOrEqual(
    Date.parse('2026-11-27T02:00:00.000Z'),
  );
  expect(await world.has(run.id, 'take-lock')).toBe(true);
  const audit = (await runtime.store.listAudit(run.id)).map((entry) => [entry.type, entry.actor]);
  expect(audit).toContainEqual(['start', 'scheduler']);
  await runtime.runs.abort(run.id, APPROVER, 'test over');
  await untilState(run.id, 'aborted');
});

test("BullMQ's delay delivers the start; a job that fires before the clock says so waits again", async () => {
  clock.set('2026-11-27T03:00:00.000Z');
  const run = await schedule('early-db', '2026-11-27T03:00:01.500Z');
  // The job fires after about 1.5 s of real time, finds the (manual) clock still early and goes
  // back to delayed for the 1.5 s the clock says are left.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect((await runtime.store.getRun(run.id))?.state).toBe('scheduled');
  expect(await runtime.queue.status({ runId: run.id, mode: 'start' })).toBe('delayed');
  clock.set('2026-11-27T03:00:01.500Z');
  const started = await untilState(run.id, 'awaiting_approval', 'failed');
  expect(started.state).toBe('awaiting_approval');
  await runtime.runs.abort(run.id, APPROVER, 'test over');
  await untilState(run.id, 'aborted');
});

test('a reminder is sent once, within the reminder lead time before the start', async () => {
  clock.set('2026-11-27T04:00:00.000Z');
  const run = await schedule('busy-db', '2026-11-27T05:00:00.000Z');
  clock.set('2026-11-27T04:30:00.000Z');
  expect((await runtime.reconciler.reconcileOnce()).reminded).toEqual([]);
  clock.set('2026-11-27T04:46:00.000Z');
  expect((await runtime.reconciler.reconcileOnce()).reminded).toEqual([run.id]);
  expect((await runtime.reconciler.reconcileOnce()).reminded).toEqual([]);
  await runtime.runs.abort(run.id, REQUESTER, 'not tonight');
  const cancelled = await untilState(run.id, 'aborted');
  expect(cancelled.steps.every((step) => step.state === 'skipped')).toBe(true);
  expect(await world.effects(run.id)).toEqual([]);
});

test('a scheduled run whose target is busy at its time fails and says why; the other run is untouched', async () => {
  clock.set('2026-11-27T06:00:00.000Z');
  const scheduled = await schedule('busy-db', '2026-11-27T07:00:00.000Z');
  const active = await runtime.runs.start({ target: target('busy-db'), requestedBy: REQUESTER });
  if (!active.ok) throw new Error(active.message);
  await untilState(active.run.id, 'awaiting_approval');
  // A second schedule for the same target is refused while one is waiting.
  const again = await runtime.runs.schedule({
    target: target('busy-db'),
    requestedBy: REQUESTER,
    at: new Date('2026-11-27T08:00:00.000Z'),
  });
  expect(again).toMatchObject({ ok: false, reason: 'already_scheduled', activeRunId: scheduled.id });

  clock.set('2026-11-27T07:00:00.000Z');
  await runtime.reconciler.reconcileOnce();
  const missed = await untilState(scheduled.id, 'failed');
  expect(missed.outcome).toMatch(/^not started at the scheduled time: busy-db has an active run \(/);
  expect(await world.effects(scheduled.id)).toEqual([]);
  expect((await runtime.store.getRun(active.run.id))?.state).toBe('awaiting_approval');
  await runtime.runs.abort(active.run.id, APPROVER, 'test over');
  await untilState(active.run.id, 'aborted');
});

test('a mutating step that would overrun the window is not started; the run pauses and says so', async () => {
  // Two minutes of a ten-minute window left; the lock step is estimated at five (no history yet).
  clock.set('2026-11-27T02:08:00.000Z');
  const outcome = await runtime.runs.start({ target: target('tight-db'), requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  const paused = await untilState(outcome.run.id, 'awaiting_approval', 'failed');
  const lock = paused.steps[1]!;
  expect(lock.spec.name).toBe('take-lock');
  expect(lock.state).toBe('awaiting_approval');
  expect(lock.startedAt).toBeNull();
  expect(lock.gate).toMatchObject({ reason: 'window', resumeAt: '2026-11-28T02:00:00.000Z' });
  expect(lock.gate?.message).toMatch(
    /^Take the lock needs about 5 m \(no earlier runs; default\) but the maintenance window closes in 2 m\. Next window that can hold it: .*28 Nov 02:00/,
  );
  expect(await world.has(outcome.run.id, 'take-lock')).toBe(false);

  // "Continue in the next window": queued for its start, not before.
  await runtime.runs.approve(outcome.run.id, 1, lock.gate!.round, APPROVER);
  const waiting = await untilState(outcome.run.id, 'running');
  expect(waiting.steps[1]).toMatchObject({ state: 'queued', notBefore: '2026-11-28T02:00:00.000Z' });
  expect(await world.has(outcome.run.id, 'take-lock')).toBe(false);
  await runtime.runs.abort(outcome.run.id, APPROVER, 'test over');
  const aborted = await untilState(outcome.run.id, 'aborted');
  expect(aborted.steps[1]?.state).toBe('skipped');
  expect(await world.has(outcome.run.id, 'take-lock')).toBe(false);
});

test('cooldown: a second cutover within it needs --force and a reason, which the audit log keeps', async () => {
  clock.set('2026-11-27T09:00:00.000Z');
  const first = await runtime.runs.start({ target: target('cool-db'), requestedBy: REQUESTER });
  if (!first.ok) throw new Error(first.message);
  await untilState(first.run.id, 'awaiting_approval');
  await runtime.runs.approve(first.run.id, 3, 1, APPROVER);
  expect((await untilState(first.run.id, 'succeeded', 'failed')).state).toBe('succeeded');

  clock.set('2026-11-27T09:20:00.000Z');
  const refused = await runtime.runs.start({ target: target('cool-db'), requestedBy: REQUESTER });
  expect(refused).toMatchObject({ ok: false, reason: 'cooldown' });
  if (refused.ok) throw new Error('started');
  expect(refused.message).toMatch(
    /cool-db was cut over at .* its cooldown lasts until 2026-11-27T10:0\d.*--force --reason/,
  );
  const scheduledTooSoon = await runtime.runs.schedule({
    target: target('cool-db'),
    requestedBy: REQUESTER,
    at: new Date('2026-11-27T09:30:00.000Z'),
  });
  expect(scheduledTooSoon).toMatchObject({ ok: false, reason: 'cooldown' });

  const forced = await runtime.runs.start({
    target: target('cool-db'),
    requestedBy: REQUESTER,
    force: { reason: 'the first cutover picked the wrong replica' },
  });
  if (!forced.ok) throw new Error(forced.message);
  const overridden = (await runtime.store.listAudit(forced.run.id)).find(
    (e) => e.type === 'cooldown_overridden',
  );
  expect(overridden).toMatchObject({
    actor: REQUESTER,
    payload: { reason: 'the first cutover picked the wrong replica' },
  });
  await runtime.runs.abort(forced.run.id, APPROVER, 'test over');
  await untilState(forced.run.id, 'aborted');
});
