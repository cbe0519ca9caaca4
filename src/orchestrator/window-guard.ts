// Window awareness while running: a mutating step that would not finish inside the target's
// maintenance window is not started. The estimate is learned from the target's earlier runs
// (median of the last few), else the strategy's own, else a cautious default.
import type { TargetConfig } from '../config/types';
import type { Run, StepRecord } from '../engine/types';
import type { RunStore } from '../ports/run-store';
import { describeOccurrence, formatSpan, nextWindows, windowContaining } from '../windows';

/** Earlier durations the estimate is the median of. */
export const LEARNED_SAMPLES = 5;
/** Estimate of an action nobody knows anything about. */
export const DEFAULT_ACTION_ESTIMATE_MS = 5 * 60_000;

export type WindowVerdict =
  { fits: true } | { fits: false; message: string; resumeAt: string | null; estimateMs: number };

export interface StepEstimate {
  ms: number;
  /** For people: "median of 3 earlier runs", "the strategy's estimate", "default". */
  source: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function estimateStep(
  store: Pick<RunStore, 'recentStepDurations'>,
  run: Pick<Run, 'target' | 'strategy'>,
  step: Pick<StepRecord, 'spec'>,
): Promise<StepEstimate> {
  const learned = (
    await store.recentStepDurations(
      { target: run.target, strategy: run.strategy, step: step.spec.name },
      LEARNED_SAMPLES,
    )
  ).filter((ms) => Number.isFinite(ms) && ms >= 0);
  if (learned.length > 0) {
    return {
      ms: median(learned),
      source: `median of ${learned.length} earlier run${learned.length === 1 ? '' : 's'}`,
    };
  }
  if (step.spec.estimateMs !== undefined)
    return { ms: step.spec.estimateMs, source: "the strategy's estimate" };
  return { ms: DEFAULT_ACTION_ESTIMATE_MS, source: 'no earlier runs; default' };
}

/**
 * May this step start now? Only first starts of `action` steps on a target with `requireWindow`
 * are judged: a retry of a step that already touched the world is allowed to finish its work.
 */
/** Whether any step of this target's runs can be held back by its windows at all. */
export function windowGuarded(target: Pick<TargetConfig, 'requireWindow' | 'windows'>): boolean {
  return target.requireWindow && target.windows.length > 0;
}

export async function judgeWindow(
  store: Pick<RunStore, 'recentStepDurations'>,
  target: TargetConfig,
  run: Run,
  step: StepRecord,
  now: Date,
): Promise<WindowVerdict> {
  if (!windowGuarded(target)) return { fits: true };
  if (step.spec.kind !== 'action' || step.startedAt !== null || step.humanOverride) return { fits: true };
  const estimate = await estimateStep(store, run, step);
  const open = windowContaining(target.windows, now);
  const left = open ? open.end.getTime() - now.getTime() : 0;
  if (open && left >= estimate.ms) return { fits: true };
  // The next window that could hold the step (a short one would only pause it again).
  const next =
    nextWindows(target.windows, now, 20).find(
      (occurrence) => occurrence.end.getTime() - occurrence.start.getTime() >= estimate.ms,
    ) ?? null;
  const needs = `${step.spec.title} needs about ${formatSpan(estimate.ms)} (${estimate.source})`;
  const why = open
    ? `${needs} but the maintenance window closes in ${formatSpan(left)}`
    : `${needs} and no maintenance window is open`;
  const then = next
    ? ` Next window that can hold it: ${describeOccurrence(next, now)}.`
    : ' No later window can hold it.';
  return {
    fits: false,
    message: `${why}.${then}`,
    resumeAt: next ? next.start.toISOString() : null,
    estimateMs: estimate.ms,
  };
}
