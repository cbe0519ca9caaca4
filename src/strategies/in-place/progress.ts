// What the in-place steps record (their outputs), read back through one schema (see ../progress.ts).
import { z } from 'zod';
import type { StepContext } from '../types';
import { progressCodec } from '../progress';

export const inPlaceProgressSchema = z
  .object({
    /** The change (command or ModifyDBInstance / maintenance action) was sent at this time. */
    requestedAtMs: z.number(),
    /** wait-applied: RDS showed the change applied. */
    appliedAtMs: z.number(),
    /** verify: the health check passed (the end of the measured window). */
    healthyAtMs: z.number(),
    /** snapshot: the DB snapshot of this run. */
    snapshotId: z.string(),
    /** reboot: RebootDBInstance was asked for (recorded before it was; false again if refused). */
    rebootRequested: z.boolean(),
    rebootRequestedAtMs: z.number(),
  })
  .partial()
  .passthrough();

export const inPlaceProgress = progressCodec(inPlaceProgressSchema);

/** What the run's step `name` recorded (nothing yet: every field absent). */
export function progressOfStep(ctx: Pick<StepContext, 'run'>, name: string) {
  return inPlaceProgress.parse(ctx.run.steps.find((step) => step.spec.name === name)?.output);
}
