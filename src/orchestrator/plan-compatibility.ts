// Can this build finish a run that an earlier (or later) build planned? Asked of every active run
// when a worker starts, so that a run is never stranded at an executor this build does not have.
import type { Run, StepRecord } from '../engine/types';
import type { StrategyRegistry } from '../strategies/types';

export type PlanCompatibility =
  | { kind: 'runnable'; warning?: string }
  /** Planned by a build this one cannot stand in for: this worker must not start. */
  | { kind: 'refuse_start'; message: string }
  /** Planned by an older build whose next steps this one cannot run: undo it now. */
  | { kind: 'unrunnable'; message: string };

/** Who the audit names for the undo of a run this build cannot finish. */
export const PLAN_REVIEW_ACTOR = 'cutover-bot';

const NOT_RUN_YET: readonly StepRecord['state'][] = ['pending', 'queued', 'running', 'awaiting_approval'];
const MAY_BE_UNDONE: readonly StepRecord['state'][] = ['running', 'succeeded', 'failed', 'compensating'];

function planned(run: Run): string {
  return `run ${run.id} on ${run.target} was planned by ${run.strategy} plan version ${run.planVersion}`;
}

export function planCompatibility(run: Run, strategies: StrategyRegistry): PlanCompatibility {
  const strategy = strategies.get(run.strategy);
  if (!strategy) {
    return {
      kind: 'refuse_start',
      message: `${planned(run)}, a strategy this build does not have: finish it with the build that started it`,
    };
  }
  const versions = `this build runs versions ${strategy.oldestPlanVersion}–${strategy.planVersion}`;
  if (run.planVersion > strategy.planVersion) {
    return {
      kind: 'refuse_start',
      message: `${planned(run)}, newer than this build (${versions}): finish it with the newer build, then deploy this one`,
    };
  }
  const has = (key: string | undefined): boolean => key === undefined || key in strategy.executors;
  // Steps still to run (from the current one on, unless the run is unwinding) must all exist.
  const missing = run.steps
    .filter(
      (step) => run.state !== 'compensating' && step.spec.kind !== 'gate' && NOT_RUN_YET.includes(step.state),
    )
    .map((step) => step.spec.executor)
    .filter((key) => !has(key));
  const missingUndo = run.steps
    .filter(
      (step) =>
        MAY_BE_UNDONE.includes(step.state) || (run.state === 'compensating' && step.state === 'compensating'),
    )
    .map((step) => step.spec.compensation?.executor)
    .filter((key) => !has(key));
  if (run.planVersion < strategy.oldestPlanVersion || missing.length > 0) {
    const why =
      missing.length > 0
        ? `its next steps need ${missing.map((key) => `"${key}"`).join(', ')}, which this build does not have`
        : versions;
    return {
      kind: 'unrunnable',
      message: `${planned(run)}; ${why}: undone before it reaches a step it cannot run`,
    };
  }
  if (missingUndo.length > 0) {
    return {
      kind: 'runnable',
      warning: `${planned(run)}; this build cannot undo its steps ${missingUndo.map((key) => `"${key}"`).join(', ')}: it can finish, but a failure or abort stops for people`,
    };
  }
  return { kind: 'runnable' };
}

export interface PlanReview {
  /** Why this worker must not start (runs planned by a build it cannot stand in for). */
  refuseStart: string[];
  /** Runs to undo now, and why. */
  unrunnable: { run: Run; message: string }[];
  warnings: string[];
}

/** Every active and scheduled run, reviewed when a worker starts. */
export function reviewPlans(runs: readonly Run[], strategies: StrategyRegistry): PlanReview {
  const review: PlanReview = { refuseStart: [], unrunnable: [], warnings: [] };
  for (const run of runs) {
    const verdict = planCompatibility(run, strategies);
    if (verdict.kind === 'refuse_start') review.refuseStart.push(verdict.message);
    else if (verdict.kind === 'unrunnable') review.unrunnable.push({ run, message: verdict.message });
    else if (verdict.warning) review.warnings.push(verdict.warning);
  }
  return review;
}
