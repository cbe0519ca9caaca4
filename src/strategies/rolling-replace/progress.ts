// What the rolling-replace steps record as they go (their output; what must survive a crash is
// saved with ctx.saveProgress before the act), read back through one schema. Every field is
// optional: any attempt may be the first, a repeat, or a resumption after a crash.
import { z } from 'zod';
import { fatal } from '../../engine/failures';
import type { JsonObject, StepRecord } from '../../engine/types';
import type { StepContext } from '../types';

export const nodeProgressSchema = z
  .object({
    // rr-preflight, and any step that asked about copies at risk
    /** Names of data a person accepted to have at risk (copiesAtRisk) at a needs-human gate. */
    acceptedAtRisk: z.array(z.string()),

    // rr-replace / rr-launch: the start of the node's replacement
    /** The node's incarnation right before the replace hook or the launch (null: none read). */
    incarnationBefore: z.string().nullable(),
    /** rr-replace: recorded before the hook runs; a later attempt runs it again without waiting. */
    hookStarting: z.boolean(),
    replaceStartedAtMs: z.number(),

    // rr-replace and rr-recover
    /** When the node was first seen gone (not a member, or short of replicas) after its replace began. */
    leftAtMs: z.number(),

    // rr-recover
    /** Consecutive healthy readings, and when the first of them was taken. */
    healthyReadings: z.number(),
    healthySinceMs: z.number(),
    /** A person accepted the node as replaced although it was never seen leaving. */
    acceptedWithoutLeave: z.boolean(),
  })
  .partial()
  .passthrough();

export type NodeProgress = z.infer<typeof nodeProgressSchema>;

export function parseProgress(output: JsonObject | null | undefined): NodeProgress {
  const parsed = nodeProgressSchema.safeParse(output ?? {});
  if (!parsed.success) throw fatal(`the step's recorded progress cannot be read: ${parsed.error.message}`);
  return parsed.data;
}

/** This step's own progress. */
export function readProgress(ctx: Pick<StepContext, 'step'>): NodeProgress {
  return parseProgress(ctx.step.output);
}

/** The progress as a step output (JSON by construction). */
export function progressJson(progress: NodeProgress): JsonObject {
  return progress as JsonObject;
}

/** The step of this run that began replacing `node` (rr-replace, or rr-launch in EC2 mode). */
export function replaceStepOf(ctx: Pick<StepContext, 'run'>, node: string): StepRecord | undefined {
  return ctx.run.steps.find(
    (step) =>
      (step.spec.executor === 'rr-replace' || step.spec.executor === 'rr-launch') &&
      step.spec.params?.['node'] === node,
  );
}

/** Everything people accepted to have at risk so far in this run (at the preflight or a node's step). */
export function acceptedAtRisk(ctx: Pick<StepContext, 'run'>): Set<string> {
  const accepted = new Set<string>();
  for (const step of ctx.run.steps) {
    const names = parseProgress(step.output).acceptedAtRisk;
    for (const name of names ?? []) accepted.add(name);
  }
  return accepted;
}
