// What a parsed /cutover command must look like, as a zod schema (the property tests check it).
import { z } from 'zod';

import type { CutoverCommand, ParseResult } from '../../../commands/grammar/parse';
import { STRATEGY_NAMES } from '../../../commands/grammar/parse';

const target = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/);
const strategy = z.enum(STRATEGY_NAMES).optional();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SOME_UUID = '0a1b2c3d-0000-4000-8000-000000000000';
/** A full UUID, or a prefix of one (8+ hex digits): completing it with another UUID's tail gives a UUID. */
const runId = z
  .string()
  .refine(
    (id) => /^[0-9a-f]{8}/.test(id) && !id.endsWith('-') && UUID.test(id + SOME_UUID.slice(id.length)),
    'run id',
  );
const at = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})$/)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'a date');
const text = z
  .string()
  .min(1)
  .refine((s) => s === s.trim(), 'trimmed');

export const commandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('help') }),
  z.strictObject({ kind: z.literal('targets') }),
  z.strictObject({ kind: z.literal('plan'), target, strategy }),
  z.strictObject({
    kind: z.literal('start'),
    target,
    strategy,
    force: z.strictObject({ reason: text }).optional(),
  }),
  z
    .strictObject({
      kind: z.literal('schedule'),
      target,
      at: at.optional(),
      nextWindow: z.boolean(),
      strategy,
    })
    .refine((c) => (c.at === undefined) === c.nextWindow, 'exactly one of at / nextWindow'),
  z.strictObject({ kind: z.literal('status'), runId: runId.optional() }),
  z.strictObject({ kind: z.literal('list') }),
  z.strictObject({ kind: z.literal('abort'), runId, reason: text.optional() }),
]);

/** No key is present with the value undefined: absent options are absent. */
function noUndefinedKeys(value: object): boolean {
  return Object.values(value as Record<string, unknown>).every(
    (v) => v !== undefined && (typeof v !== 'object' || v === null || noUndefinedKeys(v)),
  );
}

/** Throws (with zod's explanation) unless the result is a well-formed command or a usable error. */
export function assertWellFormed(result: ParseResult): void {
  if (result.ok) {
    commandSchema.parse(result.command);
    if (!noUndefinedKeys(result.command))
      throw new Error(`undefined key in ${JSON.stringify(result.command)}`);
    return;
  }
  const { message, usage, offending } = result.error;
  if (typeof message !== 'string' || message.trim() === '') throw new Error('empty message');
  if (typeof usage !== 'string' || !usage.startsWith('/cutover ')) throw new Error(`bad usage ${usage}`);
  if (offending !== undefined && typeof offending !== 'string') throw new Error('bad offending');
  if (Array.from(message).length > 300) throw new Error(`message too long: ${message}`);
}

export type { CutoverCommand };
