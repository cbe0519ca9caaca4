// Property: whatever events arrive, in whatever order, the state machine stays consistent.
import { isDeepStrictEqual } from 'node:util';

import fc from 'fast-check';

import { isTerminal, transition } from '../../../src/engine/transition';
import type {
  FailureInfo,
  GatePolicy,
  Run,
  RunEvent,
  RunEventType,
  StepSpec,
} from '../../../src/engine/types';
import { ACTIVE_STEP_STATES, ALICE, at, BOB, CAROL, makeRun, REQUESTER, EVENT_TYPES } from './fixtures';

const stepSpecArb: fc.Arbitrary<Omit<StepSpec, 'name' | 'title'>> = fc
  .record({
    kind: fc.constantFrom<StepSpec['kind']>('check', 'wait', 'gate', 'action'),
    undo: fc.boolean(),
    maxRetries: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  })
  .map(({ kind, undo, maxRetries }) => ({
    kind,
    ...(kind !== 'gate' ? { executor: `exec-${kind}` } : {}),
    ...(undo ? { compensation: { executor: 'undo', title: 'Undo' } } : {}),
    ...(maxRetries !== undefined ? { maxRetries } : {}),
  }));

const planArb: fc.Arbitrary<StepSpec[]> = fc
  .array(stepSpecArb, { minLength: 1, maxLength: 5 })
  .map((steps) => steps.map((step, i) => ({ ...step, name: `step-${i}`, title: `Step ${i}` })));

const policyArb: fc.Arbitrary<GatePolicy> = fc.record({
  approvalTimeoutMs: fc.constantFrom(60_000, 600_000),
  requiredApprovals: fc.integer({ min: 1, max: 2 }),
  allowSelfApproval: fc.boolean(),
});

/** Every event type, weighted towards the ones that move a run forward so runs also finish. */
const EVENT_WEIGHTS: Record<RunEventType, number> = {
  start: 2,
  step_started: 6,
  step_succeeded: 6,
  step_waiting: 3,
  step_progress: 2,
  step_failed: 2,
  window_closed: 2,
  schedule_missed: 1,
  approve: 5,
  gate_expired: 2,
  gate_reopen: 2,
  abort: 3,
  compensation_succeeded: 4,
  compensation_waiting: 2,
  compensation_failed: 2,
};
const eventTypeArb: fc.Arbitrary<RunEventType> = fc.oneof(
  ...EVENT_TYPES.map((type) => ({ weight: EVENT_WEIGHTS[type], arbitrary: fc.constant(type) })),
);

/** Mostly the run's current value (so events are often relevant), sometimes an arbitrary one. */
const pick = (max: number, min = 0): fc.Arbitrary<number | 'current'> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constant<'current'>('current') },
    { weight: 1, arbitrary: fc.integer({ min, max }) },
  );

const commandArb = fc.record({
  type: eventTypeArb,
  step: pick(6, -1),
  attempt: pick(10),
  round: pick(4),
  user: fc.constantFrom(REQUESTER, ALICE, BOB, CAROL),
  // Mostly small steps, sometimes long enough to pass an approval timeout.
  dtMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 700_000 })),
  failure: fc.constantFrom<FailureInfo['class']>('retryable', 'fatal', 'needs_human'),
  retryAfterMs: fc.option(fc.integer({ min: -10, max: 10_000 }), { nil: undefined }),
  delayMs: fc.integer({ min: -100, max: 10_000 }),
  withOutput: fc.boolean(),
});
type Command = typeof commandArb extends fc.Arbitrary<infer C> ? C : never;

function toEvent(cmd: Command, run: Run, atMs: number): RunEvent {
  const current = run.steps[run.currentStep];
  const step = cmd.step === 'current' ? Math.max(run.currentStep, 0) : cmd.step;
  const attempt = cmd.attempt === 'current' ? (current?.attempt ?? 0) : cmd.attempt;
  const round = cmd.round === 'current' ? (current?.gate?.round ?? 1) : cmd.round;
  const failure: FailureInfo = {
    class: cmd.failure,
    message: `${cmd.failure} failure`,
    ...(cmd.retryAfterMs !== undefined ? { retryAfterMs: cmd.retryAfterMs } : {}),
  };
  const output = cmd.withOutput ? { polled: atMs } : undefined;
  const time = at(atMs);
  switch (cmd.type) {
    case 'start':
      return { type: 'start', at: time };
    case 'step_started':
      return { type: 'step_started', at: time, step, attempt };
    case 'step_succeeded':
      return { type: 'step_succeeded', at: time, step, attempt, ...(output ? { output } : {}) };
    case 'step_waiting':
      return {
        type: 'step_waiting',
        at: time,
        step,
        attempt,
        delayMs: cmd.delayMs,
        ...(output ? { output } : {}),
      };
    case 'step_progress':
      return { type: 'step_progress', at: time, step, attempt, output: output ?? {} };
    case 'step_failed':
      return { type: 'step_failed', at: time, step, attempt, failure };
    case 'window_closed':
      return {
        type: 'window_closed',
        at: time,
        step,
        attempt,
        message: 'the window closes in 5 min',
        resumeAt: cmd.withOutput ? at(atMs + 3_600_000) : null,
      };
    case 'schedule_missed':
      return { type: 'schedule_missed', at: time, reason: 'target busy' };
    case 'approve':
      return { type: 'approve', at: time, step, round, user: cmd.user };
    case 'gate_expired':
      return { type: 'gate_expired', at: time, step, round };
    case 'gate_reopen':
      return { type: 'gate_reopen', at: time, step, user: cmd.user };
    case 'abort':
      return { type: 'abort', at: time, user: cmd.user, reason: 'random abort' };
    case 'compensation_succeeded':
      return { type: 'compensation_succeeded', at: time, step, attempt, ...(output ? { output } : {}) };
    case 'compensation_waiting':
      return { type: 'compensation_waiting', at: time, step, attempt, delayMs: 1000 };
    case 'compensation_failed':
      return { type: 'compensation_failed', at: time, step, attempt, failure };
  }
}

function activeSteps(run: Run): string[] {
  return run.steps.filter((s) => ACTIVE_STEP_STATES.includes(s.state)).map((s) => `${s.index}:${s.state}`);
}

/** A cheap assertion for the hot loop (jest's expect costs too much per event here). */
function invariant(holds: boolean, message: string, detail?: unknown): void {
  if (!holds) throw new Error(detail === undefined ? message : `${message}: ${JSON.stringify(detail)}`);
}

/** Checks every invariant of one transition; throws on the first broken one. */
function checkTransition(before: Run, event: RunEvent): Run {
  const snapshot = structuredClone(before);
  const result = transition(before, event); // must not throw

  // The input is never changed (expect only on failure, for its diff).
  if (!isDeepStrictEqual(before, snapshot)) expect(before).toStrictEqual(snapshot);

  // Terminal states are absorbing.
  invariant(!isTerminal(snapshot) || !result.ok, `a ${snapshot.state} run accepted ${event.type}`);
  if (!result.ok) {
    // A refusal returns the run as it was.
    if (!isDeepStrictEqual(result.run, snapshot)) expect(result.run).toStrictEqual(snapshot);
    invariant(typeof result.error === 'string' && result.error.length > 0, 'a refusal says why');
    return before;
  }

  const run = result.run;
  // At most one step is queued, running, compensating or awaiting approval at any time...
  const active = activeSteps(run);
  invariant(active.length <= 1, `more than one active step after ${event.type}`, active);
  // ...and none once the run has ended.
  invariant(!isTerminal(run) || active.length === 0, `${run.state} run with active steps`, active);

  for (const effect of result.effects) {
    if (effect.type !== 'enqueue') continue;
    const step = run.steps[effect.job.step];
    // Every job asked for carries the step's attempt in the new run (so job ids are never reused).
    invariant(step?.attempt === effect.job.attempt, 'enqueue attempt differs from the step attempt', {
      job: effect.job,
      stepAttempt: step?.attempt,
    });
    invariant(effect.job.runId === run.id, 'enqueue for another run', effect.job);
    invariant(effect.delayMs >= 0, 'negative enqueue delay', effect);
    const expected = effect.job.mode === 'execute' ? 'queued' : 'compensating';
    invariant(step?.state === expected, `a ${effect.job.mode} job for a step that is not ${expected}`, {
      job: effect.job,
      state: step?.state,
    });
  }
  // Attempts never go backwards.
  run.steps.forEach((step, i) =>
    invariant(step.attempt >= (snapshot.steps[i]?.attempt ?? 0), `attempt of step ${i} went backwards`),
  );
  // A run_finished effect is emitted exactly when the run becomes terminal.
  const finished = result.effects.filter((e) => e.type === 'run_finished').length;
  invariant(finished === (isTerminal(run) ? 1 : 0), `${finished} run_finished effects, run is ${run.state}`);
  return run;
}

describe('transition: random event sequences', () => {
  it('never throws, refusals change nothing, terminal is absorbing, one active step, enqueue attempts match', () => {
    fc.assert(
      fc.property(
        planArb,
        policyArb,
        fc.boolean(),
        fc.array(commandArb, { minLength: 1, maxLength: 60, size: 'max' }),
        (plan, policy, scheduled, commands) => {
          let run = makeRun(plan, policy, scheduled ? at(3_600_000) : undefined);
          let now = 0;
          let afterEnd = 0;
          for (const cmd of commands) {
            now += cmd.dtMs; // times are monotonic
            run = checkTransition(run, toEvent(cmd, run, now));
            // Terminal is absorbing: a few events after the end prove it; the rest would only cost time.
            if (isTerminal(run) && (afterEnd += 1) > 5) break;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reaches every run state and accepts every event type, so the property above is not vacuous', () => {
    const states = new Set<string>();
    const accepted = new Set<string>();
    fc.assert(
      fc.property(
        planArb,
        policyArb,
        fc.boolean(),
        fc.array(commandArb, { maxLength: 60, size: 'max' }),
        (plan, policy, scheduled, commands) => {
          let run = makeRun(plan, policy, scheduled ? at(3_600_000) : undefined);
          let now = 0;
          for (const cmd of commands) {
            now += cmd.dtMs;
            const result = transition(run, toEvent(cmd, run, now));
            if (result.ok) accepted.add(cmd.type);
            run = result.run;
            states.add(run.state);
          }
        },
      ),
      { numRuns: 1000, seed: 42 },
    );
    expect([...states].sort()).toEqual(
      ['aborted', 'awaiting_approval', 'compensating', 'failed', 'running', 'scheduled', 'succeeded'].sort(),
    );
    expect([...accepted].sort()).toEqual([...EVENT_TYPES].sort());
  });
});
