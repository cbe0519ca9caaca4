// Durations and sizes as people write them in the targets file (`15m`, `16MB`), as plain numbers.
import { z } from 'zod';

import { describeValue } from './paths';

const DURATION_EXAMPLE = 'a duration such as 30s, 15m or 2h';
const SIZE_EXAMPLE = 'a size such as 16MB, 512kB or 1GB';

// Largest unit first: parts of a combination must come in this order (`1h30m`, not `30m1h`).
const DURATION_UNITS: readonly (readonly [unit: string, ms: number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

// `ms` before `m` so `500ms` is not read as `500m` followed by garbage.
const DURATION_PART = /\s*(\d+)(ms|d|h|m|s)/y;

/**
 * Milliseconds in a duration such as `500ms`, `30s`, `15m`, `2h`, `1d` or `1h30m`. A leading `-` is
 * accepted and gives a negative result, so that schemas can say "must be positive" rather than
 * "not a duration". A bare number is refused: `30` could mean seconds or minutes.
 */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number' || /^\s*-?\d+(\.\d+)?\s*$/.test(text)) {
    const n = String(text).trim();
    const hint = /^-?\d+$/.test(n) ? ` (add a unit, e.g. ${n}s or ${n}m)` : ' (add a unit)';
    throw new Error(`expected ${DURATION_EXAMPLE}, got ${describeValue(text)}${hint}`);
  }
  const fail = (): never => {
    throw new Error(`expected ${DURATION_EXAMPLE}, got ${describeValue(text)}`);
  };
  const trimmed = text.trim();
  const negative = trimmed.startsWith('-');
  const body = negative ? trimmed.slice(1) : trimmed;
  if (body === '') fail();

  let total = 0;
  let nextUnit = 0; // index into DURATION_UNITS: units must strictly decrease
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < body.length) {
    const match = DURATION_PART.exec(body);
    if (match === null) fail();
    const [, digits, unit] = match as RegExpExecArray & [string, string, string];
    const index = DURATION_UNITS.findIndex(([name]) => name === unit);
    if (index < nextUnit) fail();
    nextUnit = index + 1;
    total += Number(digits) * (DURATION_UNITS[index]?.[1] ?? 0);
  }
  if (!Number.isSafeInteger(total)) fail();
  return negative && total !== 0 ? -total : total;
}

// 1024 multiples, as PostgreSQL reads memory settings (`16MB` in postgresql.conf is 16 * 1024 * 1024
// bytes), so a lag limit copied from a PostgreSQL setting or pg_size_pretty() means the same thing.
// kB/MB/GB/TB and KiB/MiB/GiB/TiB are therefore synonyms. Units are matched case-insensitively.
const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const SIZE_TEXT = /^(-?\d+)\s*([A-Za-z]*)$/;

/**
 * Bytes in a size such as `16MB`, `512kB`, `1GiB`, `100B` or a plain integer (bytes). As with
 * durations, a leading `-` gives a negative result for the schema to refuse with a clear message.
 */
export function parseSize(text: string | number): number {
  const fail = (): never => {
    throw new Error(`expected ${SIZE_EXAMPLE}, got ${describeValue(text)}`);
  };
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text)) fail();
    return text;
  }
  const match = SIZE_TEXT.exec(text.trim());
  if (match === null) return fail();
  const [, digits, unit] = match as RegExpExecArray & [string, string, string];
  const multiplier = SIZE_UNITS[unit.toLowerCase()];
  if (multiplier === undefined) return fail();
  const bytes = Number(digits) * multiplier;
  if (!Number.isSafeInteger(bytes)) fail();
  return bytes === 0 ? 0 : bytes; // no -0
}

function unitSchema(
  parse: (text: string | number) => number,
  example: string,
  check: (value: number) => string | null,
) {
  return z
    .union([z.string(), z.number()], {
      error: (issue) =>
        issue.input === undefined ? 'is required' : `expected ${example}, got ${describeValue(issue.input)}`,
    })
    .transform((input, ctx) => {
      let value: number;
      try {
        value = parse(input);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message, input });
        return z.NEVER;
      }
      const problem = check(value);
      if (problem !== null) {
        ctx.addIssue({ code: 'custom', message: `${problem}, got ${describeValue(input)}`, input });
        return z.NEVER;
      }
      return value;
    });
}

/** A duration in milliseconds; > 0, or >= 0 with `allowZero`. */
export function makeDurationSchema(options: { allowZero?: boolean } = {}) {
  return unitSchema(parseDuration, DURATION_EXAMPLE, (ms) => {
    if (ms < 0) return 'must not be negative';
    if (ms === 0 && options.allowZero !== true) return 'must be longer than zero';
    return null;
  });
}

export const durationSchema = makeDurationSchema();
export const durationOrZeroSchema = makeDurationSchema({ allowZero: true });

/** A size in bytes, >= 0. */
export const sizeSchema = unitSchema(parseSize, SIZE_EXAMPLE, (bytes) =>
  bytes < 0 ? 'must not be negative' : null,
);
