// The vocabulary of the engine: plans, runs, steps, events and effects.
// Pure data only: nothing in src/engine imports I/O.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** What a step does, which decides how the engine drives it. */
export type StepKind = 'check' | 'wait' | 'gate' | 'action';

export interface StepSpec {
  /** Stable machine name, unique within a plan (e.g. `fence-and-promote`). */
  name: string;
  kind: StepKind;
  /** What a person reads in the checklist. */
  title: string;
  /** Key of the executor in the strategy's executor table. Gates have none. */
  executor?: string;
  /** Executor of the undo, run in reverse order on abort or fatal failure. */
  compensation?: { executor: string; title: string };
  /** Parameters handed to the executor (already validated by the planner). */
  params?: JsonObject;
  /** Gate only: approvers must type the target's name (or `confirmPhrase`) to confirm. */
  destructive?: boolean;
  /**
   * Gate only: what approvers type instead of the target's name, where approving accepts something
   * more than the step itself (e.g. `allowDataLoss`: promoting without a fence).
   */
  confirmPhrase?: string;
  /** Gate only: what approving will make happen, in a sentence, for the approval prompt. */
  explain?: string;
  /** Gate only: what cannot be undone after approval, said before anyone approves. */
  warning?: string;
  /** Retries allowed for retryable failures before the failure counts as fatal. */
  maxRetries?: number;
  /** The strategy's guess of how long the step takes (window checks), until runs teach better. */
  estimateMs?: number;
}

export interface Plan {
  strategy: string;
  target: string;
  /** The strategy's plan version that made it (absent: 1, plans from before versions). */
  version?: number;
  steps: StepSpec[];
  /** Said before any gate: what cannot be undone after this plan runs. */
  warnings?: string[];
}

export type RunState =
  | 'scheduled' // created for a later time; holds nothing until a start job delivers it
  | 'running' // a step is queued, executing, or waiting for its next poll
  | 'awaiting_approval' // stopped at a gate (planned, or raised by a needs-human failure)
  | 'compensating' // undoing completed steps in reverse order
  | 'succeeded'
  | 'failed'
  | 'aborted';

export const ACTIVE_RUN_STATES: readonly RunState[] = ['running', 'awaiting_approval', 'compensating'];
export const TERMINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'aborted'];

export type StepState =
  | 'pending'
  | 'queued' // a job for (step, attempt) has been asked for
  | 'running' // the executor was started: for actions, recorded before touching the world
  | 'awaiting_approval' // gate open, or needs-human pause
  | 'succeeded'
  | 'failed'
  | 'skipped' // never reached (run aborted or failed first)
  | 'compensating'
  | 'compensated'
  | 'compensation_failed';

/** An open gate: a planned approval, or a pause raised by a needs-human failure. */
export interface GateState {
  /** Increments every time a gate opens on this step; approvals are keyed by it. */
  round: number;
  /**
   * planned: the plan's approval; needs_human: a step refused to go on; window: a mutating step
   * did not fit in the maintenance window (approving means: continue in the next window).
   */
  reason: 'planned' | 'needs_human' | 'window';
  /** Why the run stopped, for a needs-human gate. */
  message?: string;
  openedAt: string;
  expiresAt: string | null;
  requiredApprovals: number;
  approvedBy: string[];
  expired: boolean;
  /** Window pause: when the next window opens (the step is queued for then once approved). */
  resumeAt?: string | null;
}

export interface StepRecord {
  index: number;
  spec: StepSpec;
  state: StepState;
  /** Number of the current (or last) job for this step; part of the job id. */
  attempt: number;
  /** Retryable failures so far (wait polls do not count). */
  retries: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** When a delayed job (wait poll, retry backoff) is due; the reconciler honours it. */
  notBefore: string | null;
  output: JsonObject | null;
  error: FailureInfo | null;
  gate: GateState | null;
  /** Set when a needs-human gate on this step was approved: the retry may do what it refused. */
  humanOverride: boolean;
}

export interface Run {
  id: string;
  target: string;
  strategy: string;
  /** The strategy's plan version that planned the run (1 for runs from before versions). */
  planVersion: number;
  state: RunState;
  requestedBy: string;
  channel: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** A scheduled run: when it is to start (kept after it started, for the record). */
  scheduledFor: string | null;
  /** Index of the step being executed or compensated; -1 before start. */
  currentStep: number;
  steps: StepRecord[];
  /** Why the run ended or is ending (abort reason, fatal failure). */
  outcome: string | null;
  /** Set by an abort that arrived while a step's executor was in flight; acted on when it reports. */
  abortRequested: { user: string; reason: string; at: string } | null;
  /** While compensating: the state the run ends in once every undo has run. */
  unwindTo: 'aborted' | 'failed' | null;
  /** Gate rules captured at start, so a config reload cannot change a running gate. */
  policy: GatePolicy;
}

export interface GatePolicy {
  approvalTimeoutMs: number;
  requiredApprovals: number;
  allowSelfApproval: boolean;
}

export type FailureClass = 'retryable' | 'fatal' | 'needs_human';

export interface FailureInfo {
  class: FailureClass;
  message: string;
  /** Retry delay asked for by the executor (e.g. a Retry-After). */
  retryAfterMs?: number;
  detail?: JsonObject;
}

/** A job the engine wants to exist. `mode` says whether it does or undoes the step. */
export interface StepJobRef {
  runId: string;
  step: number;
  attempt: number;
  mode: 'execute' | 'compensate';
}

export type RunEvent =
  | { type: 'start'; at: string }
  | { type: 'step_started'; at: string; step: number; attempt: number }
  | { type: 'step_succeeded'; at: string; step: number; attempt: number; output?: JsonObject }
  | { type: 'step_waiting'; at: string; step: number; attempt: number; delayMs: number; output?: JsonObject }
  /**
   * A running step records what it is about to do before it does it (that pg_promote is being
   * requested): the output replaces the step's, the step keeps running.
   */
  | { type: 'step_progress'; at: string; step: number; attempt: number; output: JsonObject }
  | { type: 'step_failed'; at: string; step: number; attempt: number; failure: FailureInfo }
  /**
   * The queued step is mutating and does not fit in what is left of the maintenance window: it is
   * not started; the run pauses until a person chooses the next window (approve) or aborts.
   */
  | {
      type: 'window_closed';
      at: string;
      step: number;
      attempt: number;
      message: string;
      resumeAt: string | null;
    }
  /** A scheduled run could not start (its target was busy, or its window had passed). */
  | { type: 'schedule_missed'; at: string; reason: string }
  | {
      type: 'approve';
      at: string;
      step: number;
      round: number;
      user: string;
      /**
       * What the approver typed to confirm. A destructive gate and a needs-human override ("Retry
       * anyway") are approved only with the target's name here (see `needsTypedConfirmation`).
       */
      confirmation?: string;
    }
  | { type: 'gate_expired'; at: string; step: number; round: number }
  | { type: 'gate_reopen'; at: string; step: number; user: string }
  | { type: 'abort'; at: string; user: string; reason: string }
  | { type: 'compensation_succeeded'; at: string; step: number; attempt: number; output?: JsonObject }
  /** An undo still settling (a volume re-attaching): poll again after delayMs, not a failure. */
  | {
      type: 'compensation_waiting';
      at: string;
      step: number;
      attempt: number;
      delayMs: number;
      output?: JsonObject;
    }
  | { type: 'compensation_failed'; at: string; step: number; attempt: number; failure: FailureInfo };

export type RunEventType = RunEvent['type'];

export type Effect =
  | { type: 'enqueue'; job: StepJobRef; delayMs: number }
  | { type: 'gate_opened'; step: number; round: number; expiresAt: string | null }
  | { type: 'gate_closed'; step: number; round: number; outcome: 'approved' | 'expired' | 'aborted' }
  | { type: 'run_finished'; state: RunState; outcome: string | null };

/** Why the engine refused an event: code branches on the reason, people read the message. */
export type RefusalReason =
  | 'run_finished'
  | 'already_started'
  | 'empty_plan'
  | 'not_current_step'
  | 'no_such_step'
  | 'run_not_running'
  | 'stale_attempt'
  | 'step_not_active'
  | 'gate_not_executed'
  | 'step_not_started'
  | 'step_not_queued'
  | 'not_scheduled'
  | 'no_open_gate'
  | 'gate_replaced'
  | 'gate_expired'
  | 'gate_not_expired'
  | 'self_approval'
  | 'already_approved'
  | 'confirmation_required'
  | 'already_compensating'
  | 'abort_in_progress'
  | 'not_compensating'
  | 'stale_compensation';

export interface Refusal {
  reason: RefusalReason;
  message: string;
}

export type TransitionResult =
  { ok: true; run: Run; effects: Effect[] } | { ok: false; run: Run; reason: RefusalReason; error: string };
