// Rules every volume-swap executor follows: a needs-human gate names the decision it asks for (and
// "Retry anyway" overrides that one only), a rollback stops at the first undo that needs a person,
// and short waits are polled inside the job instead of a new job per look.
import { fatal, needsHuman, type StepFailure } from '../../engine/failures';
import type { JsonObject } from '../../engine/types';
import { systemClock, type Clock } from '../../ports/clock';
import type { StepContext } from '../types';

/** The decisions a person is asked for, by name (the gate's `detail.decision`). */
export type Decision =
  | 'stop_failed'
  | 'not_down'
  | 'verify_down_failed'
  | 'snapshot_failed'
  | 'detach_stuck'
  | 'start_failed'
  | 'not_healthy'
  | 'wrong_identity'
  | 'identity_unknown';

/** A needs-human failure asking for `decision`. */
export function decide(message: string, decision: Decision, extra: JsonObject = {}): StepFailure {
  return needsHuman(message, { detail: { decision, ...extra } });
}

/** A person approved the needs-human gate that `decision` raised (and no other) for this attempt. */
export function approved(ctx: StepContext, decision: Decision): boolean {
  return ctx.humanOverride && ctx.step.error?.detail?.['decision'] === decision;
}

/** What the approved gate listed (the volumes a person agreed to force-detach). */
export function approvedList(ctx: StepContext, decision: Decision, key: string): string[] {
  if (!approved(ctx, decision)) return [];
  const value = ctx.step.error?.detail?.[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * An undo acts only while every newer undo of the run succeeded. The engine goes on to the older
 * undos after one failed; here that would pull a volume from a database that may still run, or
 * start one without its volumes: the rollback stops where the person is needed, and says so.
 */
export function refuseAfterFailedUndo(ctx: StepContext): void {
  // Undos run newest first: the newest failed one is where the rollback stopped.
  const failed = ctx.run.steps
    .filter((step) => step.index > ctx.step.index && step.state === 'compensation_failed')
    .at(-1);
  if (failed) {
    throw fatal(
      `not attempted: the rollback stopped at "${failed.spec.compensation?.title ?? failed.spec.title}", which needs a person first; ` +
        'finish the rollback by hand from there',
    );
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a job keeps polling by itself before it hands over to a delayed job. */
export const INLINE_BUDGET_MS = 1_000;

/**
 * Looks again every `everyMs` while `budgetMs` lasts, until `settled`; returns the last look. A wait
 * of a few hundred milliseconds (a volume attaching) then costs no job hand-over (a commit, a job,
 * a pick-up), which would otherwise sit inside the write-unavailable window. The budget is real time
 * (the sleeps between looks are): `clock` must move with it.
 */
export async function pollWithin<T>(
  look: () => Promise<T>,
  settled: (value: T) => boolean,
  everyMs: number,
  budgetMs: number = INLINE_BUDGET_MS,
  clock: Clock = systemClock,
): Promise<T> {
  const deadline = clock.now().getTime() + budgetMs;
  for (;;) {
    const value = await look();
    if (settled(value) || clock.now().getTime() + everyMs > deadline) return value;
    await sleep(everyMs);
  }
}
