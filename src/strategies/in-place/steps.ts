// Small helpers the in-place executors share: time since a step began, other steps' outputs.
import type { JsonObject } from '../../engine/types';
import type { StepContext } from '../types';

/** Time since this step first started, by the Clock (timeouts are decisions, so testable). */
export function elapsedMs(ctx: Pick<StepContext, 'step' | 'clock'>): number {
  return ctx.step.startedAt ? ctx.clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
}

/** What the step named `name` of this run recorded, if it ran. */
export function outputOf(ctx: Pick<StepContext, 'run'>, name: string): JsonObject | null {
  return ctx.run.steps.find((step) => step.spec.name === name)?.output ?? null;
}
