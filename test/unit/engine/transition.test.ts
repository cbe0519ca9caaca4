// Scenario tests for the pure run state machine.
import { createRun, DEFAULT_MAX_RETRIES, retryDelayMs, transition } from '../../../src/engine/transition';
import type { Effect } from '../../../src/engine/types';
import {
  ACTIVE_STEP_STATES,
  ALICE,
  at,
  BOB,
  CAROL,
  check,
  DEFAULT_POLICY,
  execJob,
  fatal,
  gate,
  makeRun,
  needsHuman,
  reject,
  REQUESTER,
  retryable,
  RUN_ID,
  Sim,
  TIMEOUT_MS,
  undo,
  undoJob,
  wait,
  action,
} from './fixtures';

describe('retryDelayMs', () => {
  it('doubles from one second and caps at a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => retryDelayMs(n))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
    expect(retryDelayMs(0)).toBe(1000);
  });

  it('honours the delay the executor asked for, never negative, not capped', () => {
    expect(retryDelayMs(3, retryable('429', { retryAfterMs: 30_000 }))).toBe(30_000);
    expect(retryDelayMs(3, retryable('429', { retryAfterMs: 0 }))).toBe(0);
    expect(retryDelayMs(3, retryable('429', { retryAfterMs: -5 }))).toBe(0);
    expect(retryDelayMs(1, retryable('429', { retryAfterMs: 120_000 }))).toBe(120_000);
    expect(retryDelayMs(2, retryable())).toBe(2000);
  });
});

describe('createRun and start', () => {
  it('creates a run with every step pending and nothing queued', () => {
    const run = makeRun([check('preflight'), gate('go')]);
    expect(run).toMatchObject({
      id: RUN_ID,
      target: 'orders-db',
      strategy: 'pgLogical',
      state: 'running',
      requestedBy: REQUESTER,
      channel: 'C_OPS',
      createdAt: at(0),
      updatedAt: at(0),
      finishedAt: null,
      currentStep: -1,
      outcome: null,
      abortRequested: null,
      unwindTo: null,
      policy: DEFAULT_POLICY,
    });
    expect(run.steps.map((s) => [s.index, s.state, s.attempt, s.retries, s.gate, s.humanOverride])).toEqual([
      [0, 'pending', 0, 0, null, false],
      [1, 'pending', 0, 0, null, false],
    ]);
  });

  it('opens a gate at once when the first step is a gate', () => {
    const s = Sim.of([gate('go'), action('promote')]);
    expect(s.send({ type: 'start' })).toEqual([
      { type: 'gate_opened', step: 0, round: 1, expiresAt: at(TIMEOUT_MS) },
    ]);
    expect(s.run).toMatchObject({ state: 'awaiting_approval', currentStep: 0 });
  });

  it('refuses a second start and a plan without steps', () => {
    const s = Sim.of([check('preflight')]);
    s.send({ type: 'start' });
    s.refuse({ type: 'start' }, /already started/);
    reject(makeRun([]), { type: 'start', at: at(1) }, /no steps/);
  });

  it('does not share state between the input and the result', () => {
    const run = makeRun([check('preflight')]);
    const result = transition(run, { type: 'start', at: at(1) });
    expect(result.ok).toBe(true);
    expect(result.run).not.toBe(run);
    expect(result.run.steps[0]).not.toBe(run.steps[0]);
    expect(run.steps[0]?.state).toBe('pending');
  });
});

describe('a full run: check → wait (two polls) → gate → action', () => {
  it('succeeds with the expected effects at every step', () => {
    const s = Sim.of([
      check('replication-healthy'),
      wait('lag-below-threshold'),
      gate('approve-promote'),
      action('promote'),
    ]);

    expect(s.send({ type: 'start' })).toEqual([execJob(0, 1)]);
    expect(s.run).toMatchObject({ state: 'running', currentStep: 0 });
    expect(s.step(0)).toMatchObject({ state: 'queued', attempt: 1, notBefore: null });

    s.tick(100).send({ type: 'step_started', step: 0, attempt: 1 });
    expect(s.step(0)).toMatchObject({ state: 'running', startedAt: at(100) });
    s.tick(100);
    expect(s.send({ type: 'step_succeeded', step: 0, attempt: 1, output: { lagBytes: 12 } })).toEqual([
      execJob(1, 1),
    ]);
    expect(s.step(0)).toMatchObject({ state: 'succeeded', finishedAt: at(200), output: { lagBytes: 12 } });
    expect(s.step(1)).toMatchObject({ state: 'queued', attempt: 1 });

    // First poll: not yet, come back in five seconds.
    s.tick(100).send({ type: 'step_started', step: 1, attempt: 1 });
    s.tick(100);
    expect(s.send({ type: 'step_waiting', step: 1, attempt: 1, delayMs: 5000, output: { lag: 9 } })).toEqual([
      execJob(1, 2, 5000),
    ]);
    expect(s.step(1)).toMatchObject({
      state: 'queued',
      attempt: 2,
      retries: 0,
      notBefore: at(400 + 5000),
      output: { lag: 9 },
      startedAt: at(300),
    });

    // Second poll: still not.
    s.tickTo(5400).send({ type: 'step_started', step: 1, attempt: 2 });
    expect(s.step(1)).toMatchObject({ state: 'running', notBefore: null, startedAt: at(300) });
    expect(s.send({ type: 'step_waiting', step: 1, attempt: 2, delayMs: 5000 })).toEqual([
      execJob(1, 3, 5000),
    ]);
    expect(s.step(1)).toMatchObject({ attempt: 3, retries: 0 });

    // Third poll: caught up; the gate opens.
    s.tickTo(10_400).send({ type: 'step_started', step: 1, attempt: 3 });
    s.tick(100);
    expect(s.send({ type: 'step_succeeded', step: 1, attempt: 3 })).toEqual([
      { type: 'gate_opened', step: 2, round: 1, expiresAt: at(10_500 + TIMEOUT_MS) },
    ]);
    expect(s.run).toMatchObject({ state: 'awaiting_approval', currentStep: 2 });
    expect(s.step(2)).toMatchObject({ state: 'awaiting_approval', attempt: 0 });
    expect(s.step(2).gate).toEqual({
      round: 1,
      reason: 'planned',
      openedAt: at(10_500),
      expiresAt: at(10_500 + TIMEOUT_MS),
      requiredApprovals: 1,
      approvedBy: [],
      expired: false,
    });

    s.tick(60_000);
    expect(s.approve(2, ALICE)).toEqual([
      { type: 'gate_closed', step: 2, round: 1, outcome: 'approved' },
      execJob(3, 1),
    ]);
    expect(s.step(2)).toMatchObject({ state: 'succeeded', finishedAt: at(70_500) });
    expect(s.step(2).gate?.approvedBy).toEqual([ALICE]);
    expect(s.run).toMatchObject({ state: 'running', currentStep: 3 });

    s.tick(100).send({ type: 'step_started', step: 3, attempt: 1 });
    s.tick(100);
    expect(s.send({ type: 'step_succeeded', step: 3, attempt: 1 })).toEqual([
      { type: 'run_finished', state: 'succeeded', outcome: null },
    ]);
    expect(s.run).toMatchObject({
      state: 'succeeded',
      finishedAt: at(70_700),
      updatedAt: at(70_700),
      outcome: null,
      currentStep: 3,
    });
    expect(s.run.steps.map((step) => step.state)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);

    // Terminal: nothing more is accepted.
    s.refuse({ type: 'abort', user: ALICE, reason: 'late' }, /already succeeded/);
  });

  it('refuses reports for a queued step that has not started, and from steps other than the current', () => {
    const s = Sim.of([check('a'), check('b')]);
    s.send({ type: 'start' });
    s.refuse({ type: 'step_succeeded', step: 0, attempt: 1 }, /not started/);
    s.refuse({ type: 'step_waiting', step: 0, attempt: 1, delayMs: 10 }, /not started/);
    s.refuse({ type: 'step_started', step: 1, attempt: 0 }, /not the current step/);
    s.refuse({ type: 'step_started', step: 7, attempt: 1 }, /not the current step/);
  });
});

describe('gates', () => {
  const plan = [check('preflight'), gate('approve-promote'), action('promote')];

  function atGate(policy: Partial<typeof DEFAULT_POLICY> = {}): Sim {
    const s = Sim.of(plan, policy);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    return s.tick(1000);
  }

  it('needs two distinct approvers when the policy says two', () => {
    const s = atGate({ requiredApprovals: 2 });
    expect(s.step(1).gate?.requiredApprovals).toBe(2);

    expect(s.approve(1, ALICE)).toEqual([]);
    expect(s.run.state).toBe('awaiting_approval');
    expect(s.step(1).gate?.approvedBy).toEqual([ALICE]);

    s.tick(1000).refuse({ type: 'approve', step: 1, round: 1, user: ALICE }, /already approved/);

    s.tick(1000);
    expect(s.approve(1, BOB)).toEqual([
      { type: 'gate_closed', step: 1, round: 1, outcome: 'approved' },
      execJob(2, 1),
    ]);
    expect(s.step(1).gate?.approvedBy).toEqual([ALICE, BOB]);
    expect(s.run.state).toBe('running');
  });

  it('refuses the requester as approver unless self-approval is allowed', () => {
    const s = atGate();
    s.refuse({ type: 'approve', step: 1, round: 1, user: REQUESTER }, /cannot approve their own run/);

    const self = atGate({ allowSelfApproval: true });
    expect(self.approve(1, REQUESTER)).toEqual([
      { type: 'gate_closed', step: 1, round: 1, outcome: 'approved' },
      execJob(2, 1),
    ]);
  });

  it('refuses approvals for another step, another round, or when no gate is open', () => {
    const s = atGate();
    s.refuse({ type: 'approve', step: 0, round: 1, user: ALICE }, /not the current step/);
    s.refuse({ type: 'approve', step: 2, round: 1, user: ALICE }, /not the current step/);
    s.refuse({ type: 'approve', step: 1, round: 2, user: ALICE }, /replaced/);
    s.refuse({ type: 'approve', step: 1, round: 0, user: ALICE }, /replaced/);
    s.approve(1, ALICE);
    s.refuse({ type: 'approve', step: 1, round: 1, user: BOB }, /no gate is open/);
  });

  it('refuses stale attempts from executors', () => {
    const s = Sim.of([wait('lag'), check('after')]);
    s.send({ type: 'start' });
    s.refuse({ type: 'step_started', step: 0, attempt: 0 }, /stale/);
    s.refuse({ type: 'step_started', step: 0, attempt: 2 }, /stale/);
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    s.send({ type: 'step_waiting', step: 0, attempt: 1, delayMs: 1000 });
    // The first poll's job reports again (a redelivery): it is stale now.
    s.refuse({ type: 'step_succeeded', step: 0, attempt: 1 }, /stale/);
    s.refuse({ type: 'step_failed', step: 0, attempt: 1, failure: fatal() }, /stale/);
    s.refuse({ type: 'step_started', step: 0, attempt: 1 }, /stale/);
    s.send({ type: 'step_started', step: 0, attempt: 2 });
    expect(s.send({ type: 'step_succeeded', step: 0, attempt: 2 })).toEqual([execJob(1, 1)]);
  });

  it('expires: approve refused at expiry, gate_expired refused before it, reopen then approve', () => {
    const s = atGate();
    const expiresAt = at(1000 + TIMEOUT_MS);
    expect(s.step(1).gate?.expiresAt).toBe(expiresAt);

    s.tickTo(1000 + TIMEOUT_MS - 1);
    s.refuse({ type: 'gate_expired', step: 1, round: 1 }, /not expired yet/);
    s.refuse({ type: 'gate_reopen', step: 1, user: ALICE }, /only an expired/);

    // At the expiry instant the approval is already too late, even before gate_expired arrives.
    s.tickTo(1000 + TIMEOUT_MS);
    s.refuse({ type: 'approve', step: 1, round: 1, user: ALICE }, /expired/);
    s.refuse({ type: 'gate_expired', step: 1, round: 2 }, /replaced or expired/);
    expect(s.send({ type: 'gate_expired', step: 1, round: 1 })).toEqual([
      { type: 'gate_closed', step: 1, round: 1, outcome: 'expired' },
    ]);
    expect(s.run.state).toBe('awaiting_approval');
    expect(s.step(1)).toMatchObject({ state: 'awaiting_approval' });
    expect(s.step(1).gate).toMatchObject({ round: 1, expired: true });
    s.refuse({ type: 'gate_expired', step: 1, round: 1 }, /replaced or expired/);
    s.refuse({ type: 'approve', step: 1, round: 1, user: ALICE }, /expired/);

    s.tick(60_000);
    expect(s.send({ type: 'gate_reopen', step: 1, user: CAROL })).toEqual([
      { type: 'gate_opened', step: 1, round: 2, expiresAt: at(1000 + TIMEOUT_MS + 60_000 + TIMEOUT_MS) },
    ]);
    expect(s.step(1).gate).toMatchObject({ round: 2, expired: false, approvedBy: [], reason: 'planned' });
    s.refuse({ type: 'gate_reopen', step: 1, user: CAROL }, /only an expired/);
    s.refuse({ type: 'approve', step: 1, round: 1, user: ALICE }, /replaced/);

    s.tick(1000);
    expect(s.approve(1, ALICE)).toEqual([
      { type: 'gate_closed', step: 1, round: 2, outcome: 'approved' },
      execJob(2, 1),
    ]);
  });

  it('forgets approvals of an expired round', () => {
    const s = atGate({ requiredApprovals: 2 });
    s.approve(1, ALICE);
    s.tickTo(1000 + TIMEOUT_MS).send({ type: 'gate_expired', step: 1, round: 1 });
    s.send({ type: 'gate_reopen', step: 1, user: ALICE });
    expect(s.approve(1, BOB)).toEqual([]);
    expect(s.step(1).gate?.approvedBy).toEqual([BOB]);
    expect(s.approve(1, ALICE)).toEqual([
      { type: 'gate_closed', step: 1, round: 2, outcome: 'approved' },
      execJob(2, 1),
    ]);
  });
});

describe('abort', () => {
  it('at a gate after two completed steps with compensations: undoes newest first, ends aborted', () => {
    const s = Sim.of([
      action('fence', undo('fence')),
      action('detach', undo('detach')),
      gate('approve-promote'),
      action('promote', undo('promote')),
      check('verify'),
    ]);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.tick(1000).complete(1);
    expect(s.run.state).toBe('awaiting_approval');

    s.tick(1000);
    expect(s.send({ type: 'abort', user: ALICE, reason: 'replica lagging' })).toEqual([
      { type: 'gate_closed', step: 2, round: 1, outcome: 'aborted' },
      undoJob(1, 2),
    ]);
    expect(s.run).toMatchObject({
      state: 'compensating',
      currentStep: 1,
      unwindTo: 'aborted',
      outcome: `aborted by ${ALICE}: replica lagging`,
    });
    expect(s.run.steps.map((step) => step.state)).toEqual([
      'succeeded',
      'compensating',
      'skipped',
      'skipped',
      'skipped',
    ]);
    expect(s.step(2).finishedAt).toBe(at(3000));

    s.refuse({ type: 'abort', user: BOB, reason: 'again' }, /already being rolled back/);
    s.refuse({ type: 'compensation_succeeded', step: 0, attempt: 2 }, /not the current step/);
    s.refuse({ type: 'compensation_succeeded', step: 1, attempt: 1 }, /stale/);

    s.tick(1000);
    expect(s.send({ type: 'compensation_succeeded', step: 1, attempt: 2 })).toEqual([undoJob(0, 2)]);
    expect(s.run).toMatchObject({ state: 'compensating', currentStep: 0 });
    expect(s.step(1).state).toBe('compensated');

    s.tick(1000);
    expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 })).toEqual([
      { type: 'run_finished', state: 'aborted', outcome: `aborted by ${ALICE}: replica lagging` },
    ]);
    expect(s.run).toMatchObject({
      state: 'aborted',
      finishedAt: at(5000),
      unwindTo: null,
      abortRequested: null,
    });
    expect(s.run.steps.map((step) => step.state)).toEqual([
      'compensated',
      'compensated',
      'skipped',
      'skipped',
      'skipped',
    ]);
  });

  it('before start: skips everything and ends aborted at once', () => {
    const s = Sim.of([action('fence', undo('fence')), check('b')]);
    expect(s.send({ type: 'abort', user: ALICE, reason: 'wrong target' })).toEqual([
      { type: 'run_finished', state: 'aborted', outcome: `aborted by ${ALICE}: wrong target` },
    ]);
    expect(s.run.steps.map((step) => step.state)).toEqual(['skipped', 'skipped']);
  });

  it('of a queued step that never started: skips it and does not undo it', () => {
    const s = Sim.of([action('fence', undo('fence')), action('promote', undo('promote'))]);
    s.send({ type: 'start' });
    s.complete(0);
    expect(s.send({ type: 'abort', user: ALICE, reason: 'stop' })).toEqual([undoJob(0, 2)]);
    expect(s.step(1)).toMatchObject({ state: 'skipped', startedAt: null });
  });

  it('of a step queued for a retry after it had started: undoes it too', () => {
    const s = Sim.of([action('fence', undo('fence'))]);
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    s.send({ type: 'step_failed', step: 0, attempt: 1, failure: retryable() });
    expect(s.step(0)).toMatchObject({ state: 'queued', attempt: 2 });
    expect(s.send({ type: 'abort', user: ALICE, reason: 'stop' })).toEqual([undoJob(0, 3)]);
    expect(s.run.state).toBe('compensating');
  });

  describe('while an action runs', () => {
    function inFlight(): Sim {
      const s = Sim.of([action('fence', undo('fence')), action('promote', undo('promote')), check('verify')]);
      s.send({ type: 'start' });
      s.tick(1000).complete(0);
      s.tick(1000).send({ type: 'step_started', step: 1, attempt: 1 });
      return s.tick(1000);
    }

    it('is recorded, then unwinds including that step once it succeeds', () => {
      const s = inFlight();
      expect(s.send({ type: 'abort', user: ALICE, reason: 'customer call' })).toEqual([]);
      expect(s.run).toMatchObject({
        state: 'running',
        abortRequested: { user: ALICE, reason: 'customer call', at: at(3000) },
        outcome: null,
      });
      expect(s.step(1).state).toBe('running');
      s.refuse({ type: 'abort', user: BOB, reason: 'me too' }, /already in progress/);

      s.tick(1000);
      expect(s.send({ type: 'step_succeeded', step: 1, attempt: 1 })).toEqual([undoJob(1, 2)]);
      expect(s.run).toMatchObject({
        state: 'compensating',
        abortRequested: null,
        outcome: `aborted by ${ALICE}: customer call`,
      });
      expect(s.run.steps.map((step) => step.state)).toEqual(['succeeded', 'compensating', 'skipped']);

      expect(s.send({ type: 'compensation_succeeded', step: 1, attempt: 2 })).toEqual([undoJob(0, 2)]);
      expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 })).toEqual([
        { type: 'run_finished', state: 'aborted', outcome: `aborted by ${ALICE}: customer call` },
      ]);
    });

    it('wins over a retryable failure reported after it', () => {
      const s = inFlight();
      s.send({ type: 'abort', user: ALICE, reason: 'stop' });
      expect(s.send({ type: 'step_failed', step: 1, attempt: 1, failure: retryable() })).toEqual([
        undoJob(1, 2),
      ]);
      expect(s.step(1)).toMatchObject({ state: 'compensating', error: retryable(), retries: 0 });
      expect(s.run.outcome).toBe(`aborted by ${ALICE}: stop`);
    });

    it('accepts a redelivered step_started without losing the abort', () => {
      const s = inFlight();
      s.send({ type: 'abort', user: ALICE, reason: 'stop' });
      s.tick(1000).send({ type: 'step_started', step: 1, attempt: 1 });
      expect(s.step(1).startedAt).toBe(at(2000));
      expect(s.run.abortRequested).not.toBeNull();
    });

    it('of the last step: unwinds instead of finishing succeeded', () => {
      const s = Sim.of([action('fence', undo('fence'))]);
      s.send({ type: 'start' });
      s.send({ type: 'step_started', step: 0, attempt: 1 });
      s.send({ type: 'abort', user: ALICE, reason: 'stop' });
      expect(s.send({ type: 'step_succeeded', step: 0, attempt: 1 })).toEqual([undoJob(0, 2)]);
      expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 })).toEqual([
        { type: 'run_finished', state: 'aborted', outcome: `aborted by ${ALICE}: stop` },
      ]);
    });
  });

  describe('while a wait step polls (executor in flight, then reports step_waiting)', () => {
    function pollingWithAbort(): Sim {
      const s = Sim.of([action('fence', undo('fence')), wait('lag-below-threshold'), action('promote')]);
      s.send({ type: 'start' });
      s.tick(1000).complete(0);
      s.tick(1000).send({ type: 'step_started', step: 1, attempt: 1 });
      s.tick(1000).send({ type: 'abort', user: ALICE, reason: 'stop' });
      return s.tick(1000);
    }

    it('unwinds and does not re-queue the poll', () => {
      const s = pollingWithAbort();
      expect(s.send({ type: 'step_waiting', step: 1, attempt: 1, delayMs: 5000 })).toEqual([undoJob(0, 2)]);
      expect(s.run).toMatchObject({ state: 'compensating', currentStep: 0, abortRequested: null });
      expect(s.step(2).state).toBe('skipped');
    });

    // BUG: transition.ts leaves the polled step in state 'running' (no finishedAt) when an abort that
    // arrived during the poll takes effect on step_waiting, so a step stays "running" while an earlier
    // step is compensating, and in the final aborted run.
    it('does not leave the polled step running while earlier steps are undone, nor after the run ends', () => {
      const s = pollingWithAbort();
      s.send({ type: 'step_waiting', step: 1, attempt: 1, delayMs: 5000 });
      const active = s.run.steps.filter((step) => ACTIVE_STEP_STATES.includes(step.state));
      expect(active.map((step) => [step.index, step.state])).toEqual([[0, 'compensating']]);
      expect(s.step(1).finishedAt).toBe(at(4000));

      s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 });
      expect(s.run.state).toBe('aborted');
      expect(s.run.steps.filter((step) => ACTIVE_STEP_STATES.includes(step.state))).toEqual([]);
    });
  });
});

describe('failures', () => {
  it('fatal failure of a step with a compensation: undoes it and the earlier steps, ends failed', () => {
    const s = Sim.of([action('fence', undo('fence')), action('promote', undo('promote')), check('verify')]);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.tick(1000).send({ type: 'step_started', step: 1, attempt: 1 });
    s.tick(1000);
    expect(
      s.send({ type: 'step_failed', step: 1, attempt: 1, failure: fatal('promote API said no') }),
    ).toEqual([undoJob(1, 2)]);
    expect(s.run).toMatchObject({
      state: 'compensating',
      unwindTo: 'failed',
      outcome: 'action promote failed: promote API said no',
    });
    expect(s.step(1)).toMatchObject({ state: 'compensating', error: fatal('promote API said no') });
    expect(s.step(2).state).toBe('skipped');

    expect(s.send({ type: 'compensation_succeeded', step: 1, attempt: 2 })).toEqual([undoJob(0, 2)]);
    expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 })).toEqual([
      { type: 'run_finished', state: 'failed', outcome: 'action promote failed: promote API said no' },
    ]);
    expect(s.run).toMatchObject({ state: 'failed', finishedAt: at(3000), unwindTo: null });
    expect(s.run.steps.map((step) => step.state)).toEqual(['compensated', 'compensated', 'skipped']);
  });

  it('fatal failure with nothing to undo ends failed at once', () => {
    const s = Sim.of([check('preflight'), action('promote', undo('promote'))]);
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    expect(s.send({ type: 'step_failed', step: 0, attempt: 1, failure: fatal('no replica') })).toEqual([
      { type: 'run_finished', state: 'failed', outcome: 'check preflight failed: no replica' },
    ]);
    expect(s.run.steps.map((step) => [step.state, step.finishedAt])).toEqual([
      ['failed', at(0)],
      ['skipped', null],
    ]);
  });

  it('a failure reported before the executor recorded its start is not undone', () => {
    const s = Sim.of([action('fence', undo('fence'))]);
    s.send({ type: 'start' });
    expect(s.send({ type: 'step_failed', step: 0, attempt: 1, failure: fatal('no route') })).toEqual([
      { type: 'run_finished', state: 'failed', outcome: 'action fence failed: no route' },
    ]);
  });

  it('retryable failures back off with retryDelayMs and give up after maxRetries as fatal', () => {
    const s = Sim.of([action('fence', { ...undo('fence'), maxRetries: 3 })]);
    s.send({ type: 'start' });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      s.send({ type: 'step_started', step: 0, attempt });
      s.tick(10);
      const effects = s.send({
        type: 'step_failed',
        step: 0,
        attempt,
        failure: retryable(`timeout ${attempt}`),
      });
      expect(effects).toEqual([execJob(0, attempt + 1, retryDelayMs(attempt))]);
      expect(s.step(0)).toMatchObject({
        state: 'queued',
        attempt: attempt + 1,
        retries: attempt,
        notBefore: at(s.now + retryDelayMs(attempt)),
        error: retryable(`timeout ${attempt}`),
      });
      delays.push((effects[0] as Extract<Effect, { type: 'enqueue' }>).delayMs);
      s.tick(retryDelayMs(attempt));
    }
    expect(delays).toEqual([1000, 2000, 4000]);

    s.send({ type: 'step_started', step: 0, attempt: 4 });
    expect(s.send({ type: 'step_failed', step: 0, attempt: 4, failure: retryable('timeout 4') })).toEqual([
      undoJob(0, 5),
    ]);
    expect(s.run).toMatchObject({
      state: 'compensating',
      unwindTo: 'failed',
      outcome: 'action fence failed after 3 retries: timeout 4',
    });
    expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 5 })).toEqual([
      { type: 'run_finished', state: 'failed', outcome: 'action fence failed after 3 retries: timeout 4' },
    ]);
  });

  it(`allows ${DEFAULT_MAX_RETRIES} retries by default`, () => {
    const s = Sim.of([check('preflight')]);
    s.send({ type: 'start' });
    for (let attempt = 1; attempt <= DEFAULT_MAX_RETRIES; attempt += 1) {
      expect(s.send({ type: 'step_failed', step: 0, attempt, failure: retryable() })).toEqual([
        execJob(0, attempt + 1, 1000 * 2 ** (attempt - 1)),
      ]);
    }
    expect(s.send({ type: 'step_failed', step: 0, attempt: 6, failure: retryable() })).toEqual([
      {
        type: 'run_finished',
        state: 'failed',
        outcome: 'check preflight failed after 5 retries: connection reset',
      },
    ]);
  });

  it('maxRetries 0 makes the first retryable failure fatal', () => {
    const s = Sim.of([check('preflight', { maxRetries: 0 })]);
    s.send({ type: 'start' });
    expect(s.send({ type: 'step_failed', step: 0, attempt: 1, failure: retryable() })).toEqual([
      {
        type: 'run_finished',
        state: 'failed',
        outcome: 'check preflight failed after 0 retries: connection reset',
      },
    ]);
  });

  it('honours retryAfterMs', () => {
    const s = Sim.of([action('call-api')]);
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    s.tick(500);
    expect(
      s.send({
        type: 'step_failed',
        step: 0,
        attempt: 1,
        failure: retryable('429', { retryAfterMs: 42_000 }),
      }),
    ).toEqual([execJob(0, 2, 42_000)]);
    expect(s.step(0)).toMatchObject({ notBefore: at(42_500), retries: 1 });
    expect(
      s.send({ type: 'step_failed', step: 0, attempt: 2, failure: retryable('429', { retryAfterMs: 0 }) }),
    ).toEqual([execJob(0, 3, 0)]);
    expect(s.step(0)).toMatchObject({ notBefore: null, retries: 2 });
  });

  it('wait polls do not count as retries', () => {
    const s = Sim.of([wait('lag', { maxRetries: 1 })]);
    s.send({ type: 'start' });
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      s.send({ type: 'step_started', step: 0, attempt });
      s.send({ type: 'step_waiting', step: 0, attempt, delayMs: 1000 });
    }
    expect(s.step(0)).toMatchObject({ attempt: 11, retries: 0 });
    expect(s.send({ type: 'step_failed', step: 0, attempt: 11, failure: retryable() })).toEqual([
      execJob(0, 12, 1000),
    ]);
  });

  it('a negative wait delay is treated as zero', () => {
    const s = Sim.of([wait('lag')]);
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    expect(s.send({ type: 'step_waiting', step: 0, attempt: 1, delayMs: -50 })).toEqual([execJob(0, 2, 0)]);
    expect(s.step(0).notBefore).toBeNull();
  });
});

describe('typed confirmation', () => {
  it('a destructive gate is approved only with the target typed; a typo changes nothing', () => {
    const s = Sim.of([gate('promote', { destructive: true }), check('after')]);
    s.send({ type: 'start' });
    const before = structuredClone(s.run);
    for (const confirmation of [undefined, '', 'orders', 'Orders-db', 'orders-db2']) {
      const event = { type: 'approve' as const, step: 0, round: 1, user: ALICE };
      s.refuse(confirmation === undefined ? event : { ...event, confirmation }, /cannot be undone: type/);
    }
    expect(s.run).toEqual(before);
    expect(s.send({ type: 'approve', step: 0, round: 1, user: ALICE, confirmation: ' orders-db ' })).toEqual([
      { type: 'gate_closed', step: 0, round: 1, outcome: 'approved' },
      execJob(1, 1),
    ]);
  });

  it('a gate with its own phrase (allowDataLoss) takes that phrase, not the target name', () => {
    const s = Sim.of([
      gate('promote', { destructive: true, confirmPhrase: 'allowDataLoss' }),
      check('after'),
    ]);
    s.send({ type: 'start' });
    const before = structuredClone(s.run);
    for (const confirmation of ['orders-db', 'allowdataloss', 'allowDataLoss!']) {
      s.refuse(
        { type: 'approve', step: 0, round: 1, user: ALICE, confirmation },
        /cannot be undone: type allowDataLoss to approve/,
      );
    }
    expect(s.run).toEqual(before);
    expect(
      s.send({ type: 'approve', step: 0, round: 1, user: ALICE, confirmation: 'allowDataLoss' })[0],
    ).toMatchObject({ type: 'gate_closed', outcome: 'approved' });
  });

  it('a planned gate that is not destructive needs nothing typed', () => {
    const s = Sim.of([gate('go'), check('after')]);
    s.send({ type: 'start' });
    expect(s.send({ type: 'approve', step: 0, round: 1, user: ALICE })[0]).toMatchObject({
      type: 'gate_closed',
      outcome: 'approved',
    });
  });

  it('"Retry anyway" on a needs-human gate overrides a safety check: refused without the target typed', () => {
    const s = Sim.of([action('promote')]);
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    s.send({ type: 'step_failed', step: 0, attempt: 1, failure: needsHuman() });
    s.refuse({ type: 'approve', step: 0, round: 1, user: ALICE }, /overrides a safety check/);
    s.refuse({ type: 'approve', step: 0, round: 1, user: ALICE, confirmation: 'yes' }, /safety check/);
    expect(s.step(0).humanOverride).toBe(false);
    s.send({ type: 'approve', step: 0, round: 1, user: ALICE, confirmation: 'orders-db' });
    expect(s.step(0)).toMatchObject({ state: 'queued', humanOverride: true });
  });
});

describe('needs_human', () => {
  function paused(): Sim {
    const s = Sim.of([check('preflight'), action('promote', undo('promote')), check('verify')]);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.tick(1000).send({ type: 'step_started', step: 1, attempt: 1 });
    s.tick(1000);
    expect(s.send({ type: 'step_failed', step: 1, attempt: 1, failure: needsHuman() })).toEqual([
      { type: 'gate_opened', step: 1, round: 1, expiresAt: null },
    ]);
    return s;
  }

  it('opens a gate with no expiry; approval retries the step with humanOverride', () => {
    const s = paused();
    expect(s.run).toMatchObject({ state: 'awaiting_approval', currentStep: 1, outcome: null });
    expect(s.step(1)).toMatchObject({
      state: 'awaiting_approval',
      humanOverride: false,
      error: needsHuman(),
    });
    expect(s.step(1).gate).toEqual({
      round: 1,
      reason: 'needs_human',
      message: 'lag is 40s, above the 5s limit',
      openedAt: at(3000),
      expiresAt: null,
      requiredApprovals: 1,
      approvedBy: [],
      expired: false,
    });

    // No expiry: a week later it has not expired and can still be approved.
    s.tick(7 * 24 * 3600_000);
    s.refuse({ type: 'gate_expired', step: 1, round: 1 }, /not expired yet/);
    s.refuse({ type: 'gate_reopen', step: 1, user: ALICE }, /only an expired/);
    s.refuse({ type: 'approve', step: 1, round: 1, user: REQUESTER }, /own run/);
    expect(s.approve(1, ALICE)).toEqual([
      { type: 'gate_closed', step: 1, round: 1, outcome: 'approved' },
      execJob(1, 2),
    ]);
    expect(s.run).toMatchObject({ state: 'running', currentStep: 1 });
    expect(s.step(1)).toMatchObject({ state: 'queued', attempt: 2, humanOverride: true });

    s.send({ type: 'step_started', step: 1, attempt: 2 });
    expect(s.step(1).startedAt).toBe(at(2000)); // the first start is kept
    expect(s.send({ type: 'step_succeeded', step: 1, attempt: 2 })).toEqual([execJob(2, 1)]);
  });

  it('a second needs-human pause on the same step opens round 2 and clears the override', () => {
    const s = paused();
    s.approve(1, ALICE);
    s.send({ type: 'step_started', step: 1, attempt: 2 });
    expect(
      s.send({ type: 'step_failed', step: 1, attempt: 2, failure: needsHuman('still lagging') }),
    ).toEqual([{ type: 'gate_opened', step: 1, round: 2, expiresAt: null }]);
    expect(s.step(1)).toMatchObject({ humanOverride: false });
    expect(s.step(1).gate).toMatchObject({ round: 2, message: 'still lagging', approvedBy: [] });
    s.refuse({ type: 'approve', step: 1, round: 1, user: ALICE }, /replaced/);
  });

  it('abort at a needs-human gate closes it and undoes the step that had started', () => {
    const s = paused();
    expect(s.send({ type: 'abort', user: ALICE, reason: 'give up' })).toEqual([
      { type: 'gate_closed', step: 1, round: 1, outcome: 'aborted' },
      undoJob(1, 2),
    ]);
    expect(s.step(2).state).toBe('skipped');
    expect(s.send({ type: 'compensation_succeeded', step: 1, attempt: 2 })).toEqual([
      { type: 'run_finished', state: 'aborted', outcome: `aborted by ${ALICE}: give up` },
    ]);
  });
});

describe('compensation failures', () => {
  function unwinding(): Sim {
    const s = Sim.of([
      action('fence', undo('fence')),
      action('detach', { ...undo('detach'), maxRetries: 2 }),
      gate('approve-promote'),
    ]);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.tick(1000).complete(1);
    s.tick(1000).send({ type: 'abort', user: ALICE, reason: 'stop' });
    return s.tick(1000);
  }

  it('retries a retryable undo with backoff, then succeeds', () => {
    const s = unwinding();
    expect(s.send({ type: 'compensation_failed', step: 1, attempt: 2, failure: retryable('busy') })).toEqual([
      undoJob(1, 3, 1000),
    ]);
    expect(s.step(1)).toMatchObject({ state: 'compensating', attempt: 3, retries: 1, notBefore: at(5000) });
    expect(s.run.state).toBe('compensating');
    s.refuse({ type: 'compensation_succeeded', step: 1, attempt: 2 }, /stale/);

    s.tick(1000);
    expect(
      s.send({
        type: 'compensation_failed',
        step: 1,
        attempt: 3,
        failure: retryable('busy', { retryAfterMs: 7000 }),
      }),
    ).toEqual([undoJob(1, 4, 7000)]);
    expect(s.send({ type: 'compensation_succeeded', step: 1, attempt: 4 })).toEqual([undoJob(0, 2)]);
    expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 })).toEqual([
      { type: 'run_finished', state: 'aborted', outcome: `aborted by ${ALICE}: stop` },
    ]);
  });

  it('a fatal undo: keeps undoing earlier steps, ends failed naming the undo that failed', () => {
    const s = unwinding();
    const outcome = `aborted by ${ALICE}: stop; undo of "action detach" failed: volume in use (manual action needed)`;
    expect(
      s.send({ type: 'compensation_failed', step: 1, attempt: 2, failure: fatal('volume in use') }),
    ).toEqual([undoJob(0, 2)]);
    expect(s.run).toMatchObject({ state: 'compensating', unwindTo: 'failed', outcome });
    expect(s.step(1)).toMatchObject({ state: 'compensation_failed', error: fatal('volume in use') });

    expect(s.send({ type: 'compensation_succeeded', step: 0, attempt: 2 })).toEqual([
      { type: 'run_finished', state: 'failed', outcome },
    ]);
    expect(s.run.steps.map((step) => step.state)).toEqual(['compensated', 'compensation_failed', 'skipped']);
  });

  it('retryable undo failures beyond maxRetries count as fatal', () => {
    const s = unwinding();
    s.send({ type: 'compensation_failed', step: 1, attempt: 2, failure: retryable('busy') });
    s.send({ type: 'compensation_failed', step: 1, attempt: 3, failure: retryable('busy') });
    expect(s.send({ type: 'compensation_failed', step: 1, attempt: 4, failure: retryable('busy') })).toEqual([
      undoJob(0, 2),
    ]);
    expect(s.step(1).state).toBe('compensation_failed');
    expect(s.run.outcome).toContain('undo of "action detach" failed: busy');
  });

  it('the last undo failing ends the run failed at once', () => {
    const s = unwinding();
    s.send({ type: 'compensation_succeeded', step: 1, attempt: 2 });
    const effects = s.send({
      type: 'compensation_failed',
      step: 0,
      attempt: 2,
      failure: fatal('no primary'),
    });
    expect(effects).toEqual([
      {
        type: 'run_finished',
        state: 'failed',
        outcome: `aborted by ${ALICE}: stop; undo of "action fence" failed: no primary (manual action needed)`,
      },
    ]);
  });

  it('refuses compensation reports when the run is not compensating', () => {
    const s = Sim.of([action('fence', undo('fence'))]);
    s.send({ type: 'start' });
    s.send({ type: 'step_started', step: 0, attempt: 1 });
    s.refuse({ type: 'compensation_succeeded', step: 0, attempt: 1 }, /not compensating/);
    s.refuse({ type: 'compensation_failed', step: 0, attempt: 1, failure: fatal() }, /not compensating/);
  });
});

describe('terminal runs', () => {
  it('refuse every event and return the very same run', () => {
    const done = Sim.of([check('a')]);
    done.send({ type: 'start' });
    done.complete(0);
    expect(done.run.state).toBe('succeeded');
    reject(done.run, { type: 'start', at: at(5) }, /already succeeded/);
    reject(done.run, { type: 'abort', at: at(5), user: ALICE, reason: 'x' }, /already succeeded/);
    const result = transition(done.run, { type: 'abort', at: at(5), user: ALICE, reason: 'x' });
    expect(result.run).toBe(done.run);
  });
});

describe('compensation_waiting', () => {
  it('polls the undo again as a new attempt with the delay, using no retries', () => {
    const policy = { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false };
    let run = createRun({
      id: 'run-wait-undo',
      plan: {
        strategy: 's',
        target: 't',
        steps: [
          {
            name: 'move',
            kind: 'action',
            title: 'Move',
            executor: 'move',
            compensation: { executor: 'back', title: 'Move back' },
          },
          { name: 'approve', kind: 'gate', title: 'Approve' },
        ],
      },
      requestedBy: 'U0REQ',
      channel: null,
      policy,
      at: '2026-01-01T00:00:00.000Z',
    });
    const apply = (event: Parameters<typeof transition>[1]) => {
      const result = transition(run, event);
      if (!result.ok) throw new Error(result.error);
      run = result.run;
      return result.effects;
    };
    apply({ type: 'start', at: '2026-01-01T00:00:01.000Z' });
    apply({ type: 'step_started', at: '2026-01-01T00:00:02.000Z', step: 0, attempt: 1 });
    apply({ type: 'step_succeeded', at: '2026-01-01T00:00:03.000Z', step: 0, attempt: 1 });
    apply({ type: 'abort', at: '2026-01-01T00:00:04.000Z', user: 'U0REQ', reason: 'no' });
    expect(run.steps[0]).toMatchObject({ state: 'compensating', attempt: 2 });
    const effects = apply({
      type: 'compensation_waiting',
      at: '2026-01-01T00:00:05.000Z',
      step: 0,
      attempt: 2,
      delayMs: 3000,
    });
    expect(effects).toEqual([
      {
        type: 'enqueue',
        job: { runId: 'run-wait-undo', step: 0, attempt: 3, mode: 'compensate' },
        delayMs: 3000,
      },
    ]);
    expect(run.steps[0]).toMatchObject({
      state: 'compensating',
      attempt: 3,
      retries: 0,
      notBefore: '2026-01-01T00:00:08.000Z',
    });
    expect(run.state).toBe('compensating');
    const stale = transition(run, {
      type: 'compensation_waiting',
      at: '2026-01-01T00:00:06.000Z',
      step: 0,
      attempt: 2,
      delayMs: 1,
    });
    expect(stale.ok).toBe(false);
    apply({ type: 'compensation_succeeded', at: '2026-01-01T00:00:09.000Z', step: 0, attempt: 3 });
    expect(run.state).toBe('aborted');
  });
});

describe('maintenance windows and scheduled runs', () => {
  const plan = [check('preflight'), action('promote')];
  const NEXT_WINDOW = at(24 * 3_600_000);

  /** Preflight done; promote queued and judged not to fit in the window. */
  function paused(): Sim {
    const s = Sim.of(plan);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.tick(1000).send({
      type: 'window_closed',
      step: 1,
      attempt: 1,
      message: 'promote needs about 5 m but the window closes in 2 m',
      resumeAt: NEXT_WINDOW,
    });
    return s;
  }

  it('a window pause opens a gate that does not start the step; approving queues it for the next window', () => {
    const s = paused();
    expect(s.run.state).toBe('awaiting_approval');
    expect(s.step(1)).toMatchObject({ state: 'awaiting_approval', startedAt: null });
    expect(s.step(1).gate).toMatchObject({ reason: 'window', resumeAt: NEXT_WINDOW });
    s.tick(1000);
    expect(s.approve(1, ALICE)).toEqual([
      { type: 'gate_closed', step: 1, round: 1, outcome: 'approved' },
      execJob(1, 2, 24 * 3_600_000 - 3000),
    ]);
    expect(s.step(1)).toMatchObject({ state: 'queued', notBefore: NEXT_WINDOW });
  });

  it('a window pause that expired and is asked again still points at the same next window', () => {
    const s = paused();
    s.tick(TIMEOUT_MS);
    s.send({ type: 'gate_expired', step: 1, round: 1 });
    s.tick(1000).send({ type: 'gate_reopen', step: 1, user: CAROL });
    expect(s.step(1).gate).toMatchObject({ round: 2, reason: 'window', resumeAt: NEXT_WINDOW });
    const effects = s.tick(1000).approve(1, ALICE);
    expect(effects[1]).toMatchObject({
      type: 'enqueue',
      delayMs: Date.parse(NEXT_WINDOW) - Date.parse(s.at),
    });
  });

  it('a step that already started is never paused for a window', () => {
    const s = Sim.of(plan);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.send({ type: 'step_started', step: 1, attempt: 1 });
    s.refuse(
      { type: 'window_closed', step: 1, attempt: 1, message: 'too late', resumeAt: null },
      /only a queued step waits for a window/,
    );
  });

  it('a scheduled run starts, is cancelled by abort, or fails when it missed its time', () => {
    const scheduled = (): Sim => new Sim(makeRun(plan, {}, at(3_600_000)));
    const started = scheduled();
    expect(started.run).toMatchObject({ state: 'scheduled', scheduledFor: at(3_600_000), currentStep: -1 });
    expect(started.send({ type: 'start' })).toEqual([execJob(0, 1)]);
    expect(started.run.state).toBe('running');

    const cancelled = scheduled();
    cancelled.send({ type: 'abort', user: REQUESTER, reason: 'not tonight' });
    expect(cancelled.run.state).toBe('aborted');
    expect(cancelled.run.steps.map((step) => step.state)).toEqual(['skipped', 'skipped']);

    const missed = scheduled();
    expect(missed.send({ type: 'schedule_missed', reason: 'target busy' })).toEqual([
      { type: 'run_finished', state: 'failed', outcome: 'target busy' },
    ]);
    started.refuse({ type: 'schedule_missed', reason: 'late' }, /not scheduled/);
  });
});
