// What the in-place steps record (their outputs), read back through one schema (see ../progress.ts).
import { z } from 'zod';
import type { StepContext } from '../types';
import { outputOf, progressCodec } from '../progress';

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
    /** The change and reboot steps: what they did ('rebooted', 'not_needed', a decision's reason). */
    result: z.string(),
    /** wait-applied: RDS's status and the parameter group's apply status when it was done. */
    status: z.string(),
    parameterApplyStatus: z.string().nullable(),
    /** confirm-change: the check passed, with the value the verify query returned (SQL only). */
    verified: z.boolean(),
    value: z.string().nullable(),
  })
  .partial()
  .passthrough();

export const inPlaceProgress = progressCodec(inPlaceProgressSchema);

/** What the run's step `name` recorded (nothing yet: every field absent). */
export function progressOfStep(ctx: Pick<StepContext, 'run'>, name: string) {
  return inPlaceProgress.parse(outputOf(ctx.run, name));
}
