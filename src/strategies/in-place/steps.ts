// Small helpers the in-place executors share: time since a step began.
import type { StepContext } from '../types';

/** Time since this step first started, by the Clock (timeouts are decisions, so testable). */
export function elapsedMs(ctx: Pick<StepContext, 'step' | 'clock'>): number {
  return ctx.step.startedAt ? ctx.clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
}
