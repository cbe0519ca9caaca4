// The run state machine: transition(run, event) -> { run', effects } or a refusal.
// Pure: it never performs an effect; the caller stores run' and dispatches effects after commit.
import type {
  Effect,
  FailureInfo,
  GatePolicy,
  GateState,
  Plan,
  Refusal,
  RefusalReason,
  Run,
  RunEvent,
  StepRecord,
  TransitionResult,
} from './types';
import { TERMINAL_RUN_STATES } from './types';

export const DEFAULT_MAX_RETRIES = 5;
const MAX_BACKOFF_MS = 60_000;

/** Exponential backoff for the n-th retry (1-based), capped; deterministic so tests can assert it. */
export function retryDelayMs(retry: number, failure?: FailureInfo): number {
  if (failure?.retryAfterMs !== undefined) return Math.max(0, failure.retryAfterMs);
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, retry - 1));
}

export interface NewRun {
  id: string;
  plan: Plan;
  requestedBy: string;
  channel: string | null;
  policy: GatePolicy;
  at: string;
  /** Create the run as `scheduled` for this time instead of ready to start now. */
  scheduledFor?: string;
}

/** A run as it is created: every step pending, nothing queued until `start`. */
export function createRun(input: NewRun): Run {
  return {
    id: input.id,
    target: input.plan.target,
    strategy: input.plan.strategy,
    planVersion: input.plan.version ?? 1,
    state: input.scheduledFor === undefined ? 'running' : 'scheduled',
    requestedBy: input.requestedBy,
    channel: input.channel,
    createdAt: input.at,
    updatedAt: input.at,
    finishedAt: null,
    scheduledFor: input.scheduledFor ?? null,
    currentStep: -1,
    outcome: null,
    abortRequested: null,
    unwindTo: null,
    policy: input.policy,
    steps: input.plan.steps.map((spec, index) => ({
      index,
      spec,
      state: 'pending',
      attempt: 0,
      retries: 0,
      startedAt: null,
      finishedAt: null,
      notBefore: null,
      output: null,
      error: null,
      gate: null,
      humanOverride: false,
    })),
  };
}

export function isTerminal(run: Run): boolean {
  return TERMINAL_RUN_STATES.includes(run.state);
}

// Transitions work on a deep copy so that the caller's run is never changed, even on refusal.
function clone(run: Run): Run {
  return structuredClone(run);
}

function refuse(run: Run, reason: RefusalReason, error: string): TransitionResult {
  return { ok: false, run, reason, error };
}

function refusal(reason: RefusalReason, message: string): Refusal {
  return { reason, message };
}

function isRefusal(value: StepRecord | Refusal): value is Refusal {
  return !('spec' in value);
}

/** Every case of a union handled: a new event type without a case is a compile error. */
function assertNever(value: never): never {
  throw new Error(`unhandled event ${JSON.stringify(value)}`);
}

function addMs(at: string, ms: number): string {
  return new Date(Date.parse(at) + ms).toISOString();
}

/**
 * Whether approving the step's open gate needs the target's name typed: a destructive planned gate
 * (what follows cannot be undone) and a needs-human gate, whose approval lets the step do what it
 * refused (an override of a safety check). The presentation asks for it; the engine refuses
 * without it, so no path around the dialog can approve.
 */
export function needsTypedConfirmation(step: StepRecord): boolean {
  const reason = step.gate?.reason;
  return reason === 'needs_human' || (reason === 'planned' && step.spec.destructive === true);
}

/** Whether what was typed is the phrase asked for (surrounding spaces ignored, case-sensitive). */
export function confirmsTarget(typed: string | null | undefined, target: string): boolean {
  return typeof typed === 'string' && typed.trim() === target;
}

/** What approvers of `step` type to confirm: the step's own phrase, else the target's name. */
export function confirmationPhrase(run: Pick<Run, 'target'>, step: Pick<StepRecord, 'spec'>): string {
  return step.spec.confirmPhrase ?? run.target;
}

/** "the target's name (orders-db)", or "`allowDataLoss`" for a step with its own phrase. */
export function describeConfirmationPhrase(run: Pick<Run, 'target'>, step: Pick<StepRecord, 'spec'>): string {
  return step.spec.confirmPhrase === undefined
    ? `the target's name (${run.target})`
    : step.spec.confirmPhrase;
}

function currentStepOf(run: Run, step: number): StepRecord | Refusal {
  if (step !== run.currentStep)
    return refusal('not_current_step', `step ${step} is not the current step (${run.currentStep})`);
  const record = run.steps[step];
  if (!record) return refusal('no_such_step', `run has no step ${step}`);
  return record;
}

/** Asks for the step's next job (a new attempt), after `delayMs`. */
function queueJob(
  run: Run,
  step: StepRecord,
  at: string,
  delayMs: number,
  mode: 'execute' | 'compensate',
  effects: Effect[],
): void {
  step.attempt += 1;
  step.notBefore = delayMs > 0 ? addMs(at, delayMs) : null;
  effects.push({
    type: 'enqueue',
    job: { runId: run.id, step: step.index, attempt: step.attempt, mode },
    delayMs,
  });
}

function queueStep(run: Run, step: StepRecord, at: string, delayMs: number, effects: Effect[]): void {
  step.state = 'queued';
  queueJob(run, step, at, delayMs, 'execute', effects);
}

function openGate(
  run: Run,
  step: StepRecord,
  at: string,
  reason: GateState['reason'],
  message: string | undefined,
  effects: Effect[],
  resumeAt?: string | null,
): void {
  const round = (step.gate?.round ?? 0) + 1;
  // A needs-human pause waits for a person however long it takes; a planned gate expires.
  const expiresAt = reason === 'needs_human' ? null : addMs(at, run.policy.approvalTimeoutMs);
  step.state = 'awaiting_approval';
  step.gate = {
    round,
    reason,
    ...(message !== undefined ? { message } : {}),
    openedAt: at,
    expiresAt,
    requiredApprovals: run.policy.requiredApprovals,
    approvedBy: [],
    expired: false,
    ...(resumeAt !== undefined ? { resumeAt } : {}),
  };
  run.state = 'awaiting_approval';
  effects.push({ type: 'gate_opened', step: step.index, round, expiresAt });
}

function finish(run: Run, state: 'succeeded' | 'failed' | 'aborted', at: string, effects: Effect[]): void {
  run.state = state;
  run.finishedAt = at;
  run.unwindTo = null;
  run.abortRequested = null;
  effects.push({ type: 'run_finished', state, outcome: run.outcome });
}

/** Move to the first step after `index`, or finish the run when there is none. */
function advance(run: Run, index: number, at: string, effects: Effect[]): void {
  const next = run.steps[index + 1];
  if (!next) {
    run.currentStep = index;
    finish(run, 'succeeded', at, effects);
    return;
  }
  run.currentStep = next.index;
  if (next.spec.kind === 'gate') {
    openGate(run, next, at, 'planned', undefined, effects);
    return;
  }
  run.state = 'running';
  queueStep(run, next, at, 0, effects);
}

/** A step may have touched the world once its executor was started; only then is it undone. */
function needsUndo(step: StepRecord): boolean {
  return step.spec.compensation !== undefined && step.startedAt !== null && step.state !== 'compensated';
}

/** Queue the undo of the next completed step at or below `from`, or end the run. */
function unwindFrom(run: Run, from: number, at: string, effects: Effect[]): void {
  for (let index = from; index >= 0; index -= 1) {
    const step = run.steps[index];
    if (step && needsUndo(step) && step.state !== 'compensation_failed') {
      run.state = 'compensating';
      run.currentStep = index;
      step.state = 'compensating';
      step.retries = 0;
      queueJob(run, step, at, 0, 'compensate', effects);
      return;
    }
  }
  finish(run, run.unwindTo ?? 'failed', at, effects);
}

/** An undo that will not be done: marked failed, the rest of the rollback goes on, the run ends failed. */
function giveUpUndo(run: Run, step: StepRecord, why: string, at: string, effects: Effect[]): void {
  step.state = 'compensation_failed';
  step.finishedAt = at;
  run.state = 'compensating';
  run.unwindTo = 'failed';
  run.outcome = `${run.outcome ?? 'run failed'}; undo of "${step.spec.title}" failed: ${why} (manual action needed)`;
  unwindFrom(run, step.index - 1, at, effects);
}

function skipRemaining(run: Run, after: number): void {
  for (const step of run.steps) {
    if (step.index > after && (step.state === 'pending' || step.state === 'queued')) step.state = 'skipped';
  }
}

/** Stop going forward: mark what never ran as skipped and undo what ran, newest first. */
function beginUnwind(run: Run, to: 'aborted' | 'failed', at: string, effects: Effect[]): void {
  run.unwindTo = to;
  run.abortRequested = null;
  skipRemaining(run, run.currentStep);
  unwindFrom(run, run.currentStep, at, effects);
}

/** An in-flight step reported; an abort that arrived meanwhile takes effect now. */
function abortIfRequested(run: Run, at: string, effects: Effect[]): boolean {
  if (!run.abortRequested) return false;
  const { user, reason } = run.abortRequested;
  run.outcome = `aborted by ${user}: ${reason}`;
  beginUnwind(run, 'aborted', at, effects);
  return true;
}

function checkStepReport(run: Run, step: number, attempt: number): StepRecord | Refusal {
  if (run.state !== 'running') return refusal('run_not_running', `run is ${run.state}, not running`);
  const record = currentStepOf(run, step);
  if (isRefusal(record)) return record;
  if (record.attempt !== attempt)
    return refusal('stale_attempt', `attempt ${attempt} is stale (current attempt ${record.attempt})`);
  if (record.state !== 'queued' && record.state !== 'running')
    return refusal('step_not_active', `step ${step} is ${record.state}`);
  return record;
}

function onFailure(run: Run, step: StepRecord, failure: FailureInfo, at: string, effects: Effect[]): void {
  step.error = failure;
  const maxRetries = step.spec.maxRetries ?? DEFAULT_MAX_RETRIES;
  if (failure.class === 'retryable' && step.retries < maxRetries) {
    step.retries += 1;
    queueStep(run, step, at, retryDelayMs(step.retries, failure), effects);
    return;
  }
  if (failure.class === 'needs_human') {
    step.humanOverride = false;
    openGate(run, step, at, 'needs_human', failure.message, effects);
    return;
  }
  step.state = 'failed';
  step.finishedAt = at;
  run.outcome =
    failure.class === 'retryable'
      ? `${step.spec.title} failed after ${step.retries} retries: ${failure.message}`
      : `${step.spec.title} failed: ${failure.message}`;
  beginUnwind(run, 'failed', at, effects);
}

export function transition(run: Run, event: RunEvent): TransitionResult {
  if (isTerminal(run)) return refuse(run, 'run_finished', `run is already ${run.state}`);
  const next = clone(run);
  const effects: Effect[] = [];
  const at = event.at;
  next.updatedAt = at;

  switch (event.type) {
    case 'start': {
      const ready = run.state === 'running' || run.state === 'scheduled';
      if (run.currentStep !== -1 || !ready) return refuse(run, 'already_started', 'run has already started');
      if (next.steps.length === 0) return refuse(run, 'empty_plan', 'plan has no steps');
      next.state = 'running';
      advance(next, -1, at, effects);
      break;
    }

    case 'step_started': {
      const step = checkStepReport(next, event.step, event.attempt);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      if (step.spec.kind === 'gate') return refuse(run, 'gate_not_executed', 'a gate is not executed');
      step.state = 'running';
      step.startedAt ??= at;
      step.notBefore = null;
      break;
    }

    case 'step_succeeded':
    case 'step_waiting': {
      const step = checkStepReport(next, event.step, event.attempt);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      if (step.state !== 'running')
        return refuse(run, 'step_not_started', `step ${event.step} was not started`);
      if (event.output) step.output = event.output;
      step.error = null;
      if (event.type === 'step_waiting') {
        if (next.abortRequested) {
          // The condition was never met and the poll will not run again.
          step.state = 'failed';
          step.finishedAt = at;
          abortIfRequested(next, at, effects);
          break;
        }
        queueStep(next, step, at, Math.max(0, event.delayMs), effects);
        break;
      }
      step.state = 'succeeded';
      step.finishedAt = at;
      if (abortIfRequested(next, at, effects)) break;
      advance(next, step.index, at, effects);
      break;
    }

    case 'step_progress': {
      const step = checkStepReport(next, event.step, event.attempt);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      if (step.state !== 'running')
        return refuse(run, 'step_not_started', `step ${event.step} was not started`);
      step.output = event.output;
      break;
    }

    case 'step_failed': {
      const step = checkStepReport(next, event.step, event.attempt);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      if (next.abortRequested) {
        step.state = 'failed';
        step.finishedAt = at;
        step.error = event.failure;
        abortIfRequested(next, at, effects);
        break;
      }
      onFailure(next, step, event.failure, at, effects);
      break;
    }

    case 'window_closed': {
      const step = checkStepReport(next, event.step, event.attempt);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      // A started step is never paused half-done: only one that has not touched anything yet.
      if (step.state !== 'queued' || step.spec.kind === 'gate') {
        return refuse(
          run,
          'step_not_queued',
          `step ${event.step} is ${step.state}; only a queued step waits for a window`,
        );
      }
      if (abortIfRequested(next, at, effects)) break;
      step.notBefore = null;
      openGate(next, step, at, 'window', event.message, effects, event.resumeAt);
      break;
    }

    case 'schedule_missed': {
      if (run.state !== 'scheduled')
        return refuse(run, 'not_scheduled', `run is ${run.state}, not scheduled`);
      next.outcome = event.reason;
      skipRemaining(next, -1);
      finish(next, 'failed', at, effects);
      break;
    }

    case 'approve': {
      if (run.state !== 'awaiting_approval')
        return refuse(run, 'no_open_gate', `run is ${run.state}, no gate is open`);
      const step = currentStepOf(next, event.step);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      const gate = step.gate;
      if (step.state !== 'awaiting_approval' || !gate)
        return refuse(run, 'no_open_gate', `step ${event.step} has no open gate`);
      if (gate.round !== event.round)
        return refuse(run, 'gate_replaced', `this approval request (round ${event.round}) was replaced`);
      if (gate.expired || (gate.expiresAt !== null && Date.parse(at) >= Date.parse(gate.expiresAt))) {
        return refuse(run, 'gate_expired', 'this approval request has expired');
      }
      if (!next.policy.allowSelfApproval && event.user === next.requestedBy) {
        return refuse(run, 'self_approval', 'the requester cannot approve their own run');
      }
      if (gate.approvedBy.includes(event.user))
        return refuse(run, 'already_approved', `${event.user} has already approved`);
      if (
        needsTypedConfirmation(step) &&
        !confirmsTarget(event.confirmation, confirmationPhrase(run, step))
      ) {
        const phrase = describeConfirmationPhrase(run, step);
        return refuse(
          run,
          'confirmation_required',
          gate.reason === 'needs_human'
            ? `retrying anyway overrides a safety check: type ${phrase} to confirm`
            : `this step cannot be undone: type ${phrase} to approve`,
        );
      }
      gate.approvedBy.push(event.user);
      if (gate.approvedBy.length < gate.requiredApprovals) break;
      effects.push({ type: 'gate_closed', step: step.index, round: gate.round, outcome: 'approved' });
      if (next.unwindTo !== null && gate.reason === 'needs_human') {
        // An undo stopped for a person: approving tries the undo again, allowed what it refused.
        next.state = 'compensating';
        step.state = 'compensating';
        step.humanOverride = true;
        step.retries = 0;
        queueJob(next, step, at, 0, 'compensate', effects);
        break;
      }
      next.state = 'running';
      if (gate.reason === 'needs_human') {
        // The person took responsibility: retry the step, allowed to do what it refused before.
        step.humanOverride = true;
        queueStep(next, step, at, 0, effects);
        break;
      }
      if (gate.reason === 'window') {
        // Continue in the next window: the step is queued for when it opens and checked again then.
        const wait = gate.resumeAt ? Math.max(0, Date.parse(gate.resumeAt) - Date.parse(at)) : 0;
        queueStep(next, step, at, wait, effects);
        break;
      }
      step.state = 'succeeded';
      step.finishedAt = at;
      advance(next, step.index, at, effects);
      break;
    }

    case 'gate_expired': {
      const step = currentStepOf(next, event.step);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      const gate = step.gate;
      if (run.state !== 'awaiting_approval' || step.state !== 'awaiting_approval' || !gate) {
        return refuse(run, 'no_open_gate', `step ${event.step} has no open gate`);
      }
      if (gate.round !== event.round || gate.expired)
        return refuse(run, 'gate_replaced', 'gate already replaced or expired');
      if (gate.expiresAt === null || Date.parse(at) < Date.parse(gate.expiresAt)) {
        return refuse(run, 'gate_not_expired', 'gate has not expired yet');
      }
      gate.expired = true;
      effects.push({ type: 'gate_closed', step: step.index, round: gate.round, outcome: 'expired' });
      break;
    }

    case 'gate_reopen': {
      const step = currentStepOf(next, event.step);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      if (step.state !== 'awaiting_approval' || !step.gate?.expired) {
        return refuse(run, 'gate_not_expired', 'only an expired approval request can be asked again');
      }
      // A window pause asked again still points at the same next window.
      openGate(next, step, at, step.gate.reason, step.gate.message, effects, step.gate.resumeAt);
      break;
    }

    case 'abort': {
      if (run.state === 'compensating')
        return refuse(run, 'already_compensating', 'run is already being rolled back');
      if (run.abortRequested) return refuse(run, 'abort_in_progress', 'an abort is already in progress');
      const current = next.steps[next.currentStep];
      if (run.unwindTo !== null && current?.gate) {
        // Aborting an undo that stopped for a person: that undo is given up (it is for people now),
        // the rest of the rollback goes on, and the run ends failed with "manual action needed".
        effects.push({
          type: 'gate_closed',
          step: current.index,
          round: current.gate.round,
          outcome: 'aborted',
        });
        giveUpUndo(next, current, `${event.user}: ${event.reason}`, at, effects);
        break;
      }
      if (current && current.state === 'running') {
        // The executor is in flight; it cannot be recalled. Unwind once it reports.
        next.abortRequested = { user: event.user, reason: event.reason, at };
        break;
      }
      next.outcome = `aborted by ${event.user}: ${event.reason}`;
      if (current && current.state === 'awaiting_approval' && current.gate) {
        effects.push({
          type: 'gate_closed',
          step: current.index,
          round: current.gate.round,
          outcome: 'aborted',
        });
      }
      if (current && (current.state === 'awaiting_approval' || current.state === 'queued')) {
        current.state = current.startedAt === null ? 'skipped' : 'failed';
        current.finishedAt = at;
      }
      beginUnwind(next, 'aborted', at, effects);
      break;
    }

    case 'compensation_succeeded':
    case 'compensation_waiting':
    case 'compensation_failed': {
      if (run.state !== 'compensating')
        return refuse(run, 'not_compensating', `run is ${run.state}, not compensating`);
      const step = currentStepOf(next, event.step);
      if (isRefusal(step)) return refuse(run, step.reason, step.message);
      if (step.state !== 'compensating' || step.attempt !== event.attempt) {
        return refuse(
          run,
          'stale_compensation',
          `compensation attempt ${event.attempt} of step ${event.step} is stale`,
        );
      }
      if (event.type === 'compensation_succeeded') {
        step.state = 'compensated';
        unwindFrom(next, step.index - 1, at, effects);
        break;
      }
      if (event.type === 'compensation_waiting') {
        // Expected waiting is not a failure: it uses no retries, it only polls again. What the undo
        // has done so far is kept beside (not over) the step's own output.
        if (event.output) step.output = { ...(step.output ?? {}), undo: event.output };
        queueJob(next, step, at, Math.max(0, event.delayMs), 'compensate', effects);
        break;
      }
      const maxRetries = step.spec.maxRetries ?? DEFAULT_MAX_RETRIES;
      if (event.failure.class === 'retryable' && step.retries < maxRetries) {
        step.retries += 1;
        queueJob(next, step, at, retryDelayMs(step.retries, event.failure), 'compensate', effects);
        break;
      }
      step.error = event.failure;
      if (event.failure.class === 'needs_human') {
        // The undo cannot go on safely by itself: it waits for a person (retry it, or give it up).
        step.humanOverride = false;
        openGate(next, step, at, 'needs_human', event.failure.message, effects);
        break;
      }
      // An undo that cannot be done is for people: keep undoing the rest, end failed, say which.
      giveUpUndo(next, step, event.failure.message, at, effects);
      break;
    }

    default:
      return assertNever(event);
  }

  return { ok: true, run: next, effects };
}
