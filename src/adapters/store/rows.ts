// Mapping between the engine's Run / StepRecord values and the store's rows.
import type {
  FailureInfo,
  GatePolicy,
  GateState,
  JsonObject,
  Run,
  RunState,
  StepRecord,
  StepSpec,
  StepState,
} from '../../engine/types';

export interface RunRow {
  id: string;
  target: string;
  strategy: string;
  state: RunState;
  requested_by: string;
  channel: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  current_step: number;
  outcome: string | null;
  abort_requested: Run['abortRequested'];
  unwind_to: Run['unwindTo'];
  policy: GatePolicy;
  scheduled_for: Date | null;
  plan_version: number;
}

export interface StepRow {
  run_id: string;
  idx: number;
  spec: StepSpec;
  state: StepState;
  attempt: number;
  retries: number;
  started_at: Date | null;
  finished_at: Date | null;
  not_before: Date | null;
  output: JsonObject | null;
  error: FailureInfo | null;
  gate: GateState | null;
  human_override: boolean;
}

export const RUN_COLUMNS =
  'id, target, strategy, state, requested_by, channel, created_at, updated_at, finished_at, current_step, ' +
  'outcome, abort_requested, unwind_to, policy, scheduled_for, plan_version';

export const STEP_COLUMNS =
  'run_id, idx, spec, state, attempt, retries, started_at, finished_at, not_before, output, error, gate, ' +
  'human_override';

/** The run columns of `r`, for statements that join runs with their steps. */
export const QUALIFIED_RUN_COLUMNS = RUN_COLUMNS.split(', ')
  .map((column) => `r.${column}`)
  .join(', ');

/** The step columns of `s` under `step_` names, beside a run's columns in one row (a join). */
export const JOINED_STEP_COLUMNS = STEP_COLUMNS.split(', ')
  .map((column) => `s.${column} AS step_${column}`)
  .join(', ');

/** A run's columns and one of its steps' (all null for a run without steps). */
export type JoinedRow = RunRow & { [Column in keyof StepRow as `step_${Column}`]: StepRow[Column] | null };

/** Runs in the order of their rows, each with its steps, from run ⟕ step rows. */
export function runsFromJoinedRows(rows: readonly JoinedRow[]): Run[] {
  const runs = new Map<string, { row: RunRow; steps: StepRow[] }>();
  for (const row of rows) {
    let entry = runs.get(row.id);
    if (!entry) {
      entry = { row, steps: [] };
      runs.set(row.id, entry);
    }
    if (row.step_idx !== null) entry.steps.push(stepOfJoinedRow(row));
  }
  return [...runs.values()].map(({ row, steps }) => runFromRows(row, steps));
}

function stepOfJoinedRow(row: JoinedRow): StepRow {
  // Non-null by the schema whenever the step exists (step_idx is not null).
  return {
    run_id: row.id,
    idx: row.step_idx!,
    spec: row.step_spec!,
    state: row.step_state!,
    attempt: row.step_attempt!,
    retries: row.step_retries!,
    started_at: row.step_started_at,
    finished_at: row.step_finished_at,
    not_before: row.step_not_before,
    output: row.step_output,
    error: row.step_error,
    gate: row.step_gate,
    human_override: row.step_human_override!,
  };
}

export function iso(value: Date): string {
  return value.toISOString();
}

export function isoOrNull(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/**
 * A jsonb parameter. Always stringified: node-postgres would turn a JS array into a PostgreSQL array
 * literal, and SQL NULL (not JSON null) stands for "absent".
 */
export function jsonParam(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A timestamptz parameter: the ISO string itself, so nothing depends on the session time zone. */
export function timeParam(value: string | null): string | null {
  return value;
}

export function stepFromRow(row: StepRow): StepRecord {
  return {
    index: row.idx,
    spec: row.spec,
    state: row.state,
    attempt: row.attempt,
    retries: row.retries,
    startedAt: isoOrNull(row.started_at),
    finishedAt: isoOrNull(row.finished_at),
    notBefore: isoOrNull(row.not_before),
    output: row.output,
    error: row.error,
    gate: row.gate,
    humanOverride: row.human_override,
  };
}

export function runFromRows(row: RunRow, steps: StepRow[]): Run {
  return {
    id: row.id,
    target: row.target,
    strategy: row.strategy,
    planVersion: row.plan_version,
    state: row.state,
    requestedBy: row.requested_by,
    channel: row.channel,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    finishedAt: isoOrNull(row.finished_at),
    scheduledFor: isoOrNull(row.scheduled_for),
    currentStep: row.current_step,
    steps: [...steps].sort((a, b) => a.idx - b.idx).map(stepFromRow),
    outcome: row.outcome,
    abortRequested: row.abort_requested,
    unwindTo: row.unwind_to,
    policy: row.policy,
  };
}

/** Parameters for STEP_COLUMNS, in that order. */
export function stepParams(runId: string, step: StepRecord): unknown[] {
  return [
    runId,
    step.index,
    jsonParam(step.spec),
    step.state,
    step.attempt,
    step.retries,
    timeParam(step.startedAt),
    timeParam(step.finishedAt),
    timeParam(step.notBefore),
    jsonParam(step.output),
    jsonParam(step.error),
    jsonParam(step.gate),
    step.humanOverride,
  ];
}

/** Parameters for RUN_COLUMNS, in that order. */
export function runParams(run: Run): unknown[] {
  return [
    run.id,
    run.target,
    run.strategy,
    run.state,
    run.requestedBy,
    run.channel,
    timeParam(run.createdAt),
    timeParam(run.updatedAt),
    timeParam(run.finishedAt),
    run.currentStep,
    run.outcome,
    jsonParam(run.abortRequested),
    run.unwindTo,
    jsonParam(run.policy),
    timeParam(run.scheduledFor),
    run.planVersion,
  ];
}

/** `($1, $2, ...), ($n+1, ...)` for a multi-row VALUES list. */
export function valuesList(rows: number, columns: number, offset = 0): string {
  const groups: string[] = [];
  for (let r = 0; r < rows; r += 1) {
    const cells: string[] = [];
    for (let c = 1; c <= columns; c += 1) cells.push(`$${offset + r * columns + c}`);
    groups.push(`(${cells.join(', ')})`);
  }
  return groups.join(', ');
}
