// Refusals carry a typed reason beside their message: callers branch on the reason (a busy target,
// a repeated delivery), never on the wording people read.
import { transition } from '../../../src/engine/transition';
import type { RefusalReason } from '../../../src/engine/types';
import { action, ALICE, at, check, gate, makeRun, REQUESTER, Sim, undo, type EventInput } from './fixtures';

function reasonOf(s: Sim, event: EventInput): RefusalReason | 'accepted' {
  const result = transition(s.run, { ...event, at: s.at });
  return result.ok ? 'accepted' : result.reason;
}

describe('refusal reasons', () => {
  const plan = [check('preflight'), gate('approve', { destructive: true }), action('switch')];

  function atGate(): Sim {
    const s = Sim.of(plan);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    return s.tick(1000);
  }

  it('names why a start, a step report or an approval is refused', () => {
    const s = atGate();
    expect(reasonOf(s, { type: 'start' })).toBe('already_started');
    expect(transition(makeRun([]), { type: 'start', at: at(0) })).toMatchObject({
      ok: false,
      reason: 'empty_plan',
    });
    expect(reasonOf(s, { type: 'step_started', step: 1, attempt: 1 })).toBe('run_not_running');
    expect(reasonOf(s, { type: 'approve', step: 1, round: 2, user: ALICE, confirmation: 'orders-db' })).toBe(
      'gate_replaced',
    );
    expect(
      reasonOf(s, { type: 'approve', step: 1, round: 1, user: REQUESTER, confirmation: 'orders-db' }),
    ).toBe('self_approval');
    expect(reasonOf(s, { type: 'approve', step: 1, round: 1, user: ALICE })).toBe('confirmation_required');
    expect(reasonOf(s, { type: 'gate_expired', step: 1, round: 1 })).toBe('gate_not_expired');
    expect(reasonOf(s, { type: 'schedule_missed', reason: 'late' })).toBe('not_scheduled');

    s.approve(1, ALICE);
    expect(reasonOf(s, { type: 'approve', step: 1, round: 1, user: ALICE, confirmation: 'orders-db' })).toBe(
      'no_open_gate',
    );
    expect(reasonOf(s, { type: 'step_started', step: 0, attempt: 1 })).toBe('not_current_step');
    const attempt = s.step(2).attempt;
    expect(reasonOf(s, { type: 'step_succeeded', step: 2, attempt })).toBe('step_not_started');
    expect(reasonOf(s, { type: 'step_started', step: 2, attempt: attempt + 1 })).toBe('stale_attempt');
    s.complete(2);
    expect(s.run.state).toBe('succeeded');
    expect(reasonOf(s, { type: 'abort', user: ALICE, reason: 'late' })).toBe('run_finished');
  });

  it('names a second abort and a stale undo report', () => {
    const s = Sim.of([
      check('preflight'),
      action('detach', undo('detach')),
      gate('approve'),
      action('switch'),
    ]);
    s.send({ type: 'start' });
    s.tick(1000).complete(0);
    s.tick(1000).complete(1);
    s.send({ type: 'abort', user: ALICE, reason: 'not today' });
    expect(s.run.state).toBe('compensating');
    expect(reasonOf(s, { type: 'abort', user: ALICE, reason: 'again' })).toBe('already_compensating');
    expect(reasonOf(s, { type: 'compensation_succeeded', step: 1, attempt: 99 })).toBe('stale_compensation');
  });
});
