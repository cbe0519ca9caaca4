// Finding secrets in a hook's output and replacing them with `[redacted]`. Works on whole texts (never
// chunk by chunk, where a secret split across two reads would slip through) and on slices of them, so
// that truncation cannot cut a secret in half and leave the visible half in the output.

export const REDACTED = '[redacted]';

/** Shorter values are not looked for: redacting every `on` or `42` would make output unreadable. */
export const MIN_SECRET_LENGTH = 4;

/** `[start, end)` in UTF-16 code units. */
export type Range = readonly [start: number, end: number];

// `scheme://user:password@`: the `user:password` part. The user may be empty (`redis://:pw@host`);
// the password runs to the `@`, so a password with an unencoded `/` or `:` is still caught.
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/([^\s/@:'"<>]*:[^\s@'"<>]+)@/gi;

/**
 * The strings to look for: every secret of at least MIN_SECRET_LENGTH characters, plus the forms it
 * takes in URLs and JSON when those differ; deduplicated, longest first.
 */
export function secretPatterns(secrets: Iterable<string>): string[] {
  const patterns = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    patterns.add(secret);
    patterns.add(encodeURIComponent(secret));
    patterns.add(JSON.stringify(secret).slice(1, -1));
  }
  return [...patterns].sort((a, b) => b.length - a.length);
}

/** Where `text` holds a secret or URL credentials: sorted, overlapping and adjacent ranges merged. */
export function secretRanges(text: string, patterns: readonly string[]): Range[] {
  const found: [number, number][] = [];
  for (const pattern of patterns) {
    // Step by one, not by the pattern's length, so overlapping occurrences are all covered.
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) {
      found.push([at, at + pattern.length]);
    }
  }
  for (const match of text.matchAll(URL_CREDENTIALS)) {
    const credentials = match[1] ?? '';
    const start = match.index + match[0].length - 1 - credentials.length;
    found.push([start, start + credentials.length]);
  }
  found.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const range of found) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

/**
 * `text.slice(from, to)` with every range replaced by `[redacted]`, including ranges that only
 * partly overlap the slice: half a secret at a cut is redacted too.
 */
export function renderRedacted(text: string, ranges: readonly Range[], from = 0, to = text.length): string {
  let out = '';
  let at = from;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    if (start >= to) break;
    if (start > at) out += text.slice(at, start);
    out += REDACTED;
    at = end;
  }
  if (at < to) out += text.slice(at, to);
  return out;
}

/** `text` with every secret (at least MIN_SECRET_LENGTH long) and URL password replaced. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  return redactPatterns(text, secretPatterns(secrets));
}

/** `redact` with patterns already made by `secretPatterns`. */
export function redactPatterns(text: string, patterns: readonly string[]): string {
  return renderRedacted(text, secretRanges(text, patterns));
}
