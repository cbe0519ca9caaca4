// Every (run state × event type) pair: accepted or refused, and refusals change nothing.
import { transition } from '../../../src/engine/transition';
import type { Run, RunEvent, RunEventType, RunState } from '../../../src/engine/types';
import {
  ALICE,
  BOB,
  makeRun,
  Sim,
  action,
  at,
  check,
  fatal,
  gate,
  ms,
  retryable,
  stepOf,
  undo,
  wait,
  EVENT_TYPES,
} from './fixtures';

// 0 preflight (check) · 1 fence (action, undo) · 2 promote gate · 3 promote (action, undo) · 4 catch-up (wait)
const PLAN = [
  check('preflight'),
  action('fence', undo('fence')),
  gate('approve-promote'),
  action('promote', undo('promote')),
  wait('catch-up'),
];

const sim = (): Sim => Sim.of(PLAN);

/** Step 0 done, step 1 (fence) queued with attempt 1. */
function queued(): Sim {
  const s = sim();
  s.send({ type: 'start' });
  s.tick(1000).complete(0);
  return s.tick(1000);
}

/** Step 1 (fence) started: its executor is in flight. */
function inFlight(): Sim {
  const s = queued();
  s.send({ type: 'step_started', step: 1, attempt: 1 });
  return s.tick(1000);
}

/** Stopped at the planned gate (step 2) after steps 0 and 1 succeeded. */
function atPlannedGate(): Sim {
  const s = inFlight();
  s.send({ type: 'step_succeeded', step: 1, attempt: 1 });
  return s.tick(1000);
}

const STATES: Record<string, () => Run> = {
  scheduled: () => makeRun(PLAN, {}, at(3_600_000)),
  'running, not started yet': () => sim().run,
  'running, step queued': () => queued().run,
  'running, step running': () => inFlight().run,
  'running, step running, abort requested': () => {
    const s = inFlight();
    s.send({ type: 'abort', user: BOB, reason: 'window closed' });
    return s.tick(1000).run;
  },
  'awaiting_approval, planned gate': () => atPlannedGate().run,
  'awaiting_approval, planned gate expired': () => {
    const s = atPlannedGate();
    s.tickTo(ms(stepOf(s.run, 2).gate?.expiresAt ?? ''));
    s.send({ type: 'gate_expired', step: 2, round: 1 });
    return s.tick(1000).run;
  },
  'awaiting_approval, window gate': () => {
    const s = queued();
    s.send({
      type: 'window_closed',
      step: 1,
      attempt: 1,
      message: 'closes in 2 min',
      resumeAt: at(86_400_000),
    });
    return s.tick(1000).run;
  },
  'awaiting_approval, needs-human gate': () => {
    const s = inFlight();
    s.send({ type: 'step_failed', step: 1, attempt: 1, failure: { class: 'needs_human', message: 'lag' } });
    return s.tick(1000).run;
  },
  compensating: () => {
    const s = atPlannedGate();
    s.send({ type: 'abort', user: BOB, reason: 'window closed' });
    return s.tick(1000).run;
  },
  'awaiting_approval, undo gate': () => {
    const s = atPlannedGate();
    s.send({ type: 'abort', user: BOB, reason: 'window closed' });
    const step = s.run.currentStep;
    s.send({
      type: 'compensation_failed',
      step,
      attempt: s.run.steps[step]!.attempt,
      failure: { class: 'needs_human', message: 'the database may still run on the new server' },
    });
    return s.tick(1000).run;
  },
  succeeded: () => {
    const s = atPlannedGate();
    s.approve(2, ALICE);
    s.tick(1000).complete(3);
    s.tick(1000).complete(4);
    return s.tick(1000).run;
  },
  failed: () => {
    const s = sim();
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    s.send({ type: 'step_failed', step: 0, attempt: 1, failure: fatal() });
    return s.tick(1000).run;
  },
  aborted: () => {
    const s = queued();
    s.send({ type: 'abort', user: BOB, reason: 'window closed' });
    return s.tick(1000).run;
  },
};

/** A well-formed event of `type` aimed at the run's current step, attempt and round. */
function eventFor(type: RunEventType, run: Run): RunEvent {
  const index = Math.max(run.currentStep, 0);
  const step = stepOf(run, index);
  const attempt = step.attempt;
  const round = step.gate?.round ?? 1;
  const later = at(ms(run.updatedAt) + 1000);
  switch (type) {
    case 'start':
      return { type, at: later };
    case 'step_started':
    case 'step_succeeded':
      return { type, at: later, step: index, attempt };
    case 'step_waiting':
      return { type, at: later, step: index, attempt, delayMs: 5000 };
    case 'step_progress':
      return { type, at: later, step: index, attempt, output: { promoteRequested: true } };
    case 'step_failed':
      return { type, at: later, step: index, attempt, failure: retryable() };
    case 'window_closed':
      return { type, at: later, step: index, attempt, message: 'the window closes', resumeAt: null };
    case 'schedule_missed':
      return { type, at: later, reason: 'target busy at the scheduled time' };
    case 'approve':
      return { type, at: later, step: index, round, user: ALICE, confirmation: run.target };
    case 'gate_expired': {
      // At the expiry instant when there is one, so only the gate's state decides.
      const expiresAt = step.gate?.expiresAt;
      return { type, at: expiresAt && expiresAt > later ? expiresAt : later, step: index, round };
    }
    case 'gate_reopen':
      return { type, at: later, step: index, user: ALICE };
    case 'abort':
      return { type, at: later, user: BOB, reason: 'change freeze' };
    case 'compensation_succeeded':
      return { type, at: later, step: index, attempt };
    case 'compensation_waiting':
      return { type, at: later, step: index, attempt, delayMs: 2000 };
    case 'compensation_failed':
      return { type, at: later, step: index, attempt, failure: fatal('cannot unfence') };
  }
}

/** Accepted pairs and the run state each leads to; every pair not listed must be refused. */
const ACCEPTED: Record<string, Partial<Record<RunEventType, RunState>>> = {
  scheduled: { start: 'running', abort: 'aborted', schedule_missed: 'failed' },
  'running, not started yet': { start: 'running', abort: 'aborted' },
  'running, step queued': {
    step_started: 'running',
    window_closed: 'awaiting_approval', // a mutating step that does not fit: paused, not started
    step_failed: 'running', // retryable: queued again
    abort: 'aborted', // fence never started: nothing to undo
  },
  'running, step running': {
    step_started: 'running', // a redelivered job reports started again
    step_succeeded: 'awaiting_approval', // next step is the gate
    step_waiting: 'running',
    step_progress: 'running', // the output recorded mid-step; the step keeps running
    step_failed: 'running',
    abort: 'running', // recorded; acted on when the step reports
  },
  'running, step running, abort requested': {
    step_started: 'running',
    step_succeeded: 'compensating',
    step_waiting: 'compensating',
    step_progress: 'running', // still in flight: the abort waits for it to report
    step_failed: 'compensating',
  },
  'awaiting_approval, planned gate': {
    approve: 'running',
    gate_expired: 'awaiting_approval',
    abort: 'compensating',
  },
  'awaiting_approval, planned gate expired': { gate_reopen: 'awaiting_approval', abort: 'compensating' },
  'awaiting_approval, needs-human gate': { approve: 'running', abort: 'compensating' },
  // An undo that stopped for a person: approve retries the undo; abort gives it up (the rollback of
  // the older steps goes on, the run ends failed).
  'awaiting_approval, undo gate': { approve: 'compensating', abort: 'failed' },
  'awaiting_approval, window gate': {
    approve: 'running', // queued for the next window
    gate_expired: 'awaiting_approval',
    abort: 'aborted', // the fence never started: nothing to undo
  },
  compensating: {
    compensation_succeeded: 'aborted',
    compensation_waiting: 'compensating',
    compensation_failed: 'failed',
  },
  succeeded: {},
  failed: {},
  aborted: {},
};

describe('transition: every run state × event type', () => {
  it('covers every state and event type', () => {
    expect(Object.keys(ACCEPTED).sort()).toEqual(Object.keys(STATES).sort());
    const runStates = new Set(Object.values(STATES).map((build) => build().state));
    expect([...runStates].sort()).toEqual(
      ['aborted', 'awaiting_approval', 'compensating', 'failed', 'running', 'scheduled', 'succeeded'].sort(),
    );
  });

  it('builds the representative runs it claims to', () => {
    const build = (name: string): Run => {
      const factory = STATES[name];
      if (!factory) throw new Error(name);
      return factory();
    };
    expect(stepOf(build('running, step queued'), 1).state).toBe('queued');
    expect(stepOf(build('running, step running'), 1).state).toBe('running');
    expect(build('running, step running, abort requested').abortRequested).not.toBeNull();
    expect(stepOf(build('awaiting_approval, planned gate'), 2).gate).toMatchObject({ reason: 'planned' });
    expect(stepOf(build('awaiting_approval, planned gate expired'), 2).gate).toMatchObject({ expired: true });
    expect(stepOf(build('awaiting_approval, window gate'), 1).gate).toMatchObject({
      reason: 'window',
      resumeAt: at(86_400_000),
    });
    expect(stepOf(build('awaiting_approval, needs-human gate'), 1).gate).toMatchObject({
      reason: 'needs_human',
    });
    expect(stepOf(build('compensating'), 1).state).toBe('compensating');
    const undoGate = build('awaiting_approval, undo gate');
    expect(undoGate.unwindTo).toBe('aborted');
    expect(stepOf(undoGate, undoGate.currentStep).gate).toMatchObject({ reason: 'needs_human' });
  });

  const cases = Object.keys(STATES).flatMap((state) =>
    EVENT_TYPES.map((type) => {
      const next = ACCEPTED[state]?.[type];
      return { state, type, verdict: next ? `accepted -> ${next}` : 'refused', next };
    }),
  );

  it.each(cases)('$state + $type: $verdict', ({ state, type, next }) => {
    const build = STATES[state];
    if (!build) throw new Error(`unknown state ${state}`);
    const run = build();
    const snapshot = structuredClone(run);
    const event = eventFor(type, run);

    const result = transition(run, event);

    expect(run).toStrictEqual(snapshot); // the input is never changed, accepted or not
    if (next) {
      if (!result.ok) throw new Error(`refused: ${result.error}`);
      expect(result.run.state).toBe(next);
      expect(result.run.updatedAt).toBe(event.at);
    } else {
      expect(result.ok).toBe(false);
      expect(result.run).toStrictEqual(snapshot);
      if (!result.ok) expect(result.error).toEqual(expect.any(String));
    }
  });
});
