// What the volume-swap steps record as they go (their output, some of it saved with
// ctx.saveProgress before an irreversible act), read back through one schema: every field is
// optional, because any attempt may be the first, a repeat or a resumption after a crash.
import { z } from 'zod';
import type { JsonObject } from '../../engine/types';
import { outputOf, progressCodec } from '../progress';
import type { StepContext } from '../types';
import { progressOf } from './ec2-steps';

/** One volume's detach or attach, as lookDetach / lookAttach record it (they read it themselves). */
const volumeProgressSchema = z.custom<JsonObject>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'a volume record must be an object',
);

export const swapProgressSchema = z
  .object({
    /** The system identifier read on `from` before the stop (null: it could not be read). */
    fromIdentity: z.string().nullable(),
    /** Where fromIdentity was read: right before the stop, or at the preflight. */
    identitySeenAt: z.enum(['stop', 'preflight', 'nowhere']),
    /** The stop (hook or StopInstances) was asked for; recorded before it was. */
    stopRequested: z.boolean(),
    /** Wall time of that request: the start of the write-unavailable window. */
    stoppedAtMs: z.number(),
    /** A person vouched that `from` is down although the probes could not prove it. */
    vouchedDown: z.boolean(),
    /** The readings that proved the database down, and when. */
    downBecause: z.string(),
    downAtMs: z.number(),
    /** Snapshots requested after the clean stop, by volume id (recorded once requested). */
    snapshotIds: z.record(z.string(), z.string()),
    /** The detaches may have gone out from here on: the proof before them is not asked again. */
    detachRequestedAtMs: z.number(),
    verifiedDown: z.string(),
    /** Per volume id: what its detach or attach has shown so far. */
    volumes: z.record(z.string(), volumeProgressSchema),
    /** The start (hook or StartInstances) was asked for; recorded before it was. */
    startRequested: z.boolean(),
    /** When the wait for health began (a person's "keep waiting" starts it again). */
    startRequestedAtMs: z.number(),
    healthyAtMs: z.number(),
    identity: z.string().nullable(),
    health: z.string(),
    /** The last reading that was not good enough, for the thread. */
    notYet: z.string(),
    /** An undo: when it first ran (its timeout runs from there). */
    undoStartedAtMs: z.number(),
  })
  .partial()
  .passthrough();

export type SwapProgress = z.infer<typeof swapProgressSchema>;

const swapProgress = progressCodec(swapProgressSchema);
const parse = swapProgress.parse;

/** This executor's progress: the step's own output, or its undo's record when undoing. */
export function readProgress(ctx: StepContext, undo: boolean): SwapProgress {
  return parse(progressOf(ctx, undo));
}

/** What an earlier step of this run recorded, by step name (null when it has not run). */
export function progressOfStep(ctx: Pick<StepContext, 'run'>, stepName: string): SwapProgress | null {
  const output = outputOf(ctx.run, stepName);
  return output === null ? null : parse(output);
}

/** The progress as a step output. */
export const progressJson = swapProgress.json;
