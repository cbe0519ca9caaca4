// The value kinds of the /cutover grammar: target names, strategy names, run ids, instants.

export const STRATEGY_NAMES = ['replica-promotion', 'volume-swap', 'rolling-replace', 'in-place'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Same rule as the targets file (src/config/target-schemas.ts). */
export const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isTargetName(word: string): boolean {
  return TARGET_NAME.test(word);
}

export function isStrategyName(word: string): word is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(word);
}

const UUID_SHAPE = 'hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh';
const HEX = /^[0-9a-f]$/;

/**
 * A run id as typed: a full UUID or a prefix of one with at least its first 8 hex digits (the bot
 * shows short ids), lower-cased. `undefined` when the word is neither.
 */
export function parseRunId(word: string): string | undefined {
  const id = word.toLowerCase();
  if (id.length < 8 || id.length > UUID_SHAPE.length || id.endsWith('-')) return undefined;
  for (let i = 0; i < id.length; i++) {
    const ok = UUID_SHAPE[i] === '-' ? id[i] === '-' : HEX.test(id[i]!);
    if (!ok) return undefined;
  }
  return id;
}

export type InstantResult = { ok: true; value: string } | { ok: false; message: string };

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
export const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
export const TIME_ONLY = /^\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const EXAMPLE = '2025-03-09T02:00Z';

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * An ISO-8601 / RFC 3339 date-time with an explicit offset, normalised to the form every
 * `Date.parse` reads: `YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM)` (seconds added, fraction cut to
 * milliseconds, offset as ±HH:MM; the offset itself is kept, not converted to UTC). Local times
 * without an offset are refused: in a cutover "02:00" must not depend on the bot's time zone.
 * Whether the instant is in the future is for the caller (this is pure, no clock).
 */
export function parseInstant(word: string): InstantResult {
  const m = DATE_TIME.exec(word);
  if (!m) {
    if (DATE_ONLY.test(word)) return { ok: false, message: `${word} has no time; e.g. ${word}T02:00Z` };
    return { ok: false, message: `not an ISO-8601 date-time: ${showQuoted(word)} (e.g. ${EXAMPLE})` };
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return { ok: false, message: `no such date: ${show(word)}` };
  }
  if (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59)) {
    return { ok: false, message: `no such time: ${show(word)}` };
  }
  if (zone === undefined) {
    return { ok: false, message: `${show(word)} is a local time; add Z (UTC) or an offset like +02:00` };
  }
  let offset = 'Z';
  if (zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = digits.slice(0, 2);
    const om = digits.slice(2) || '00';
    if (Number(om) > 59 || Number(oh) * 60 + Number(om) > 14 * 60) {
      return { ok: false, message: `no such UTC offset: ${zone}` };
    }
    offset = `${zone[0]!}${oh}:${om}`;
  }
  const fraction = frac === undefined ? '' : `.${frac.padEnd(3, '0').slice(0, 3)}`;
  return { ok: true, value: `${y!}-${mo!}-${d!}T${h!}:${mi!}:${s ?? '00'}${fraction}${offset}` };
}

/** A user's word for a message: cut to 40 characters so a pasted blob does not flood the channel. */
export function show(word: string): string {
  const chars = Array.from(word);
  return chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : word;
}

/** show(), in double quotes: for free words (a target, a run id), not for --options. */
export function showQuoted(word: string): string {
  return `"${show(word)}"`;
}
