// What the rolling-replace steps record as they go, read back through one schema (see
// ../progress.ts).
import { z } from 'zod';
import type { StepRecord } from '../../engine/types';
import { progressCodec } from '../progress';
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

    // rr-drain: the drain hook ran (a later poll only waits for leadership to move)
    hookRan: z.boolean(),

    // rr-rebalance: elections asked so far, and the partitions the first one moved
    rounds: z.number(),
    moved: z.array(z.string()),

    // rr-pause: the pause began (its next run ends it)
    paused: z.boolean(),

    // EC2 replacement (ec2-executors.ts)
    /** The instance the step acts on: the launched replacement, or the old one it stops. */
    instanceId: z.string(),
    /** rr-launch: RunInstances' idempotency token, and when the launch was sent. */
    clientToken: z.string().nullable(),
    launchedAtMs: z.number(),
    /** A stop, start or terminate was asked for at this time (its timeout runs from there). */
    requestedAtMs: z.number(),
  })
  .partial()
  .passthrough();

export type NodeProgress = z.infer<typeof nodeProgressSchema>;

const nodeProgress = progressCodec(nodeProgressSchema);

export const parseProgress = nodeProgress.parse;

/** This step's own progress. */
export const readProgress = nodeProgress.read;

/** The progress as a step output. */
export const progressJson = nodeProgress.json;

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
