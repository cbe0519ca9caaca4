// What a strategy is: pure planning (target config -> plan) plus executors that see only ports.
import type { z } from 'zod';
import type { JsonObject, Plan, Run, StepRecord } from '../engine/types';
import type { TargetConfig } from '../config/types';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';

export interface StepContext {
  run: Run;
  step: StepRecord;
  target: TargetConfig;
  /** The job's attempt number for this step. */
  attempt: number;
  /**
   * This attempt had already been recorded as started: the process running it died mid-step.
   * The executor must look at the world before acting again.
   */
  resumed: boolean;
  /** A person approved a needs-human gate on this step: do what was refused before. */
  humanOverride: boolean;
  /**
   * Records `output` as the step's output durably, now, before the executor goes on: for a fact a
   * later attempt or an undo must know even if this process dies next (that pg_promote was
   * requested). Replaces the step's output, as a result's output does.
   */
  saveProgress(output: JsonObject): Promise<void>;
  clock: Clock;
  log: Logger;
}

export type StepResult =
  | { type: 'done'; output?: JsonObject }
  /** Not yet: run this step again after `delayMs` (a new job; nothing sleeps in a worker). */
  | { type: 'wait'; delayMs: number; output?: JsonObject };

/** Runs one step (or one undo). Throw `retryable`/`fatal`/`needsHuman` failures from engine/failures. */
export interface StepExecutor {
  execute(ctx: StepContext): Promise<StepResult>;
}

/** One live preflight result, shown by `/cutover plan` (a dry run) and before a run starts. */
export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** Passed, but worth saying at the approval: what the cutover will leave behind or stop for. */
  warning?: boolean;
  /** Failed because something did not answer: the preflight step retries before it refuses. */
  transient?: boolean;
}

/** One lag reading: bytes/seconds behind (a standby), or lagging replicas (a cluster). */
export interface LagReading {
  bytes: number | null;
  seconds: number | null;
  /** Clustered stores: lagging replicas or under-replicated partitions; bytes/seconds are null. */
  laggingReplicas?: number;
}

/** What the orchestrator runs; written with defineStrategy (./define.ts), which types both sides. */
export interface Strategy {
  name: string;
  /** One line for `/cutover help` and `targets`. */
  summary: string;
  /** The version of the plans this build makes (see StrategyDefinition.planVersion). */
  planVersion: number;
  /** The oldest plan version this build still finishes. */
  oldestPlanVersion: number;
  /** Validates the strategy-specific keys of a targets-file entry. */
  configSchema: z.ZodType;
  /** Pure: the steps this strategy would take for the target. */
  plan(target: TargetConfig): Plan;
  executors: Readonly<Record<string, StepExecutor>>;
  /** Live, read-only checks of the target (reachability, topology); must change nothing. */
  preflight(target: TargetConfig): Promise<PreflightCheck[]>;
  /** Current replication lag of the target, sampled for the whole run; null fields = unmeasurable. */
  sampleLag?(target: TargetConfig): Promise<LagReading>;
  /** Releases connections the strategy opened (called once, when the process shuts down). */
  close?(): Promise<void>;
  /** The lag limit shown against the samples (ETA to threshold). */
  lagLimit?(target: TargetConfig): { maxBytes?: number; maxSeconds?: number } | undefined;
}

export type StrategyRegistry = ReadonlyMap<string, Strategy>;

export function registryOf(strategies: readonly Strategy[]): StrategyRegistry {
  return new Map(strategies.map((strategy) => [strategy.name, strategy]));
}
