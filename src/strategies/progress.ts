// What a step records as it goes (its output; what must survive a crash is saved with
// ctx.saveProgress before the act), read back through the step's own schema. Every field of such a
// schema is optional: any attempt may be the first, a repeat, or a resumption after a crash.
import type { z } from 'zod';
import { fatal } from '../engine/failures';
import type { JsonObject, Run } from '../engine/types';
import type { StepContext } from './types';

export interface ProgressCodec<Progress> {
  /** A recorded output (null: nothing recorded yet) as the schema's type; fatal if it is not one. */
  parse: (output: JsonObject | null | undefined) => Progress;
  /** This step's own progress. */
  read: (ctx: Pick<StepContext, 'step'>) => Progress;
  /** The progress as a step output (JSON by construction: the schema admits JSON values only). */
  json: (progress: Progress) => JsonObject;
}

export function progressCodec<Progress extends Record<string, unknown>>(
  schema: z.ZodType<Progress>,
): ProgressCodec<Progress> {
  const parse = (output: JsonObject | null | undefined): Progress => {
    const parsed = schema.safeParse(output ?? {});
    // A shape this build does not know: written by another version, or by hand. Never guess.
    if (!parsed.success) throw fatal(`the step's recorded progress cannot be read: ${parsed.error.message}`);
    return parsed.data;
  };
  return {
    parse,
    read: (ctx) => parse(ctx.step.output),
    json: (progress) => progress as JsonObject,
  };
}

/** The output an earlier step of this run left, by step name (null: it left none), for its codec to parse. */
export function outputOf(run: Pick<Run, 'steps'>, stepName: string): JsonObject | null {
  return run.steps.find((step) => step.spec.name === stepName)?.output ?? null;
}
