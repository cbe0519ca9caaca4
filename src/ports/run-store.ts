import type { Effect, JsonObject, RefusalReason, Run, RunEvent, TransitionResult } from '../engine/types';

export interface AuditEntry {
  id?: number;
  runId: string | null;
  at: string;
  actor: string;
  type: string;
  payload: JsonObject;
}

export interface ApprovalRecord {
  runId: string;
  step: number;
  round: number;
  userId: string;
  at: string;
  /** What the approver was shown when they clicked (lag, primary, ...). */
  seen: JsonObject;
}

export interface LagSample {
  runId: string;
  at: string;
  bytes: number | null;
  seconds: number | null;
  /**
   * Clustered stores: lagging replicas / under-replicated partitions at that moment (bytes and
   * seconds are then null). Absent for byte/second lag.
   */
  laggingReplicas?: number;
}

/**
 * An accepted event gives the run after it and the run as it was before it (`previous`). A refusal
 * with `duplicate` means the delivery it answered was claimed before: nothing was written.
 */
export type ApplyOutcome =
  | { ok: true; run: Run; previous: Run; effects: Effect[] }
  | { ok: false; run: Run | null; reason: ApplyRefusalReason; error: string; duplicate?: true };

/** The engine's refusals, and the store's own: no such run, a repeated delivery, a busy target. */
export type ApplyRefusalReason = RefusalReason | 'no_such_run' | 'duplicate_delivery' | 'target_busy';

export interface ApplyOptions {
  /**
   * The Slack delivery (see claimSlackDelivery) the event answers: claimed in the event's own
   * transaction, so a crash keeps both the claim and the decision or neither.
   */
  deliveryKey?: string;
}

/**
 * What `applyEvent` asks about the locked run, inside its transaction: the engine's `transition`,
 * passed by the caller (the orchestrator), so the store holds no decision of its own.
 */
export type DecideEvent = (run: Run, event: RunEvent) => TransitionResult;

export type InsertOutcome = { ok: true } | { ok: false; activeRunId: string };

/**
 * The source of truth. Every method is one transaction; `applyEvent` locks the run row, applies
 * the decision it is given (`decide`) and stores the new run, its audit entry (and approval row)
 * before it returns.
 */
export interface RunStore {
  /**
   * Stores a new run; refused (by a unique index) when its target already has an active run, or
   * (for a scheduled run) already has a scheduled one.
   */
  insertRun(run: Run, actor: string): Promise<InsertOutcome>;
  applyEvent(
    runId: string,
    event: RunEvent,
    actor: string,
    decide: DecideEvent,
    seen?: JsonObject,
    options?: ApplyOptions,
  ): Promise<ApplyOutcome>;
  getRun(runId: string): Promise<Run | null>;
  /** Runs in an active state (running, awaiting approval, compensating), oldest first. */
  listActiveRuns(): Promise<Run[]>;
  listRecentRuns(limit: number): Promise<Run[]>;
  /** Runs waiting for their time, soonest first. */
  listScheduledRuns(): Promise<Run[]>;
  /** True for the one caller that gets to post a scheduled run's reminder. */
  claimReminder(runId: string, at: string): Promise<boolean>;
  /** The target's last successful cutover (the cooldown counts from it). */
  lastSucceededAt(target: string): Promise<{ runId: string; finishedAt: string } | null>;
  /** How long this step took in the target's earlier successful runs, newest first (ms). */
  recentStepDurations(
    query: { target: string; strategy: string; step: string },
    limit: number,
  ): Promise<number[]>;
  appendAudit(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: string }): Promise<void>;
  listAudit(runId: string): Promise<AuditEntry[]>;
  listApprovals(runId: string): Promise<ApprovalRecord[]>;
  recordLagSample(sample: LagSample): Promise<void>;
  /** Newest last. */
  recentLagSamples(runId: string, limit: number): Promise<LagSample[]>;
  /** Ids of runs whose id starts with `prefix` (people type the short ids the bot shows), newest first. */
  findRunIdsByPrefix(prefix: string, limit?: number): Promise<string[]>;
  /** Records a delivery key (a Slack request); true only the first time the key is seen. */
  claimSlackDelivery(key: string): Promise<boolean>;
  /** Forgets delivery keys older than this (Slack stops retrying within minutes). */
  pruneSlackDeliveries(olderThanMs: number): Promise<number>;
  /** Resolves when the database answers (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
