// Splits the `text` of a /cutover slash command into words, tolerating what Slack clients do to it.
//
// - Slack escapes &, < and > as &amp; &lt; &gt; in the text it sends: decoded first (one pass).
// - Any run of Unicode white space separates words; zero-width characters outside quotes are dropped.
// - "double quotes" group words; “smart” and ＂full-width＂ quotes count too, and any of them closes.
//   Inside double quotes a backslash escapes a double quote or a backslash; other backslashes are
//   kept. A double quote opens a group only at the start of a word or right after `--option=`;
//   elsewhere it is an ordinary character (12" disk). An unclosed group is an error.
// - 'single quotes' (and ‘smart’ ones) group the same way, but only when a closing quote followed by
//   white space or the end exists — otherwise they are apostrophes (don't, ’tis) and stay as typed.
// - An em or en dash in front of a letter (macOS and iOS turn -- into —) reads as "--".
// - `backticks` around a whole word (copied from a code span the bot posted) are removed.

export interface Token {
  /** The word with quotes and escapes resolved. */
  text: string;
  /** The word began inside quotes or backticks: data, never an option or `--`. */
  literal: boolean;
}

export type TokenizeResult =
  | { ok: true; tokens: Token[] }
  /** `tokens`: the words before the problem (the subcommand, if it came that far). */
  | { ok: false; message: string; offending: string; tokens: Token[] };

const DOUBLE_QUOTES = new Set(['"', '\u201C', '\u201D', '\u201E', '\u201F', '\uFF02']);
const SINGLE_QUOTES = new Set(["'", '\u2018', '\u2019']);
const DASHES = new Set(['\u2014', '\u2013']);
const ZERO_WIDTH = /^[\u200B-\u200D\u2060\uFEFF]$/;
const SPACE = /^\s$/;
const LETTER = /^[A-Za-z]$/;

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

/** Undoes Slack's escaping of the three control characters (one pass: "&amp;lt;" gives "&lt;"). */
export function decodeSlackEntities(text: string): string {
  return text.replace(/&(?:amp|lt|gt);/g, (entity) => ENTITIES[entity] ?? entity);
}

function isSpace(c: string): boolean {
  return SPACE.test(c) && !ZERO_WIDTH.test(c);
}

export function tokenize(input: string): TokenizeResult {
  const chars = Array.from(decodeSlackEntities(input));
  const n = chars.length;
  const tokens: Token[] = [];
  let i = 0;
  while (i < n) {
    const first = chars[i]!;
    if (isSpace(first) || ZERO_WIDTH.test(first)) {
      i++;
      continue;
    }
    let text = '';
    let literal = false;
    let quoted = false;
    let atWordStart = true;
    if (DASHES.has(first) && i + 1 < n && LETTER.test(chars[i + 1]!)) {
      text = '--';
      atWordStart = false;
      i++;
    }
    while (i < n) {
      const c = chars[i]!;
      if (ZERO_WIDTH.test(c)) {
        i++;
        continue;
      }
      if (isSpace(c)) break;
      const mayOpen = atWordStart || (!literal && /^--[A-Za-z][^=]*=$/.test(text));
      if (mayOpen && DOUBLE_QUOTES.has(c)) {
        let j = i + 1;
        let segment = '';
        while (j < n && !DOUBLE_QUOTES.has(chars[j]!)) {
          const next = chars[j + 1];
          if (chars[j] === '\\' && next !== undefined && (next === '\\' || DOUBLE_QUOTES.has(next))) {
            segment += next;
            j += 2;
          } else {
            segment += chars[j]!;
            j++;
          }
        }
        if (j >= n) {
          return { ok: false, message: 'missing closing quote', offending: chars.slice(i).join(''), tokens };
        }
        if (atWordStart) literal = true;
        quoted = true;
        atWordStart = false;
        text += segment;
        i = j + 1;
        continue;
      }
      if (mayOpen && SINGLE_QUOTES.has(c)) {
        let j = i + 1;
        while (j < n && !(SINGLE_QUOTES.has(chars[j]!) && (j + 1 >= n || isSpace(chars[j + 1]!)))) j++;
        if (j < n) {
          if (atWordStart) literal = true;
          quoted = true;
          atWordStart = false;
          text += chars.slice(i + 1, j).join('');
          i = j + 1;
          continue;
        }
      }
      text += c;
      atWordStart = false;
      i++;
    }
    if (!quoted) {
      const inBackticks = /^`+([^`]+)`+$/.exec(text);
      if (inBackticks) {
        text = inBackticks[1]!;
        literal = true;
      }
    }
    tokens.push({ text, literal });
  }
  return { ok: true, tokens };
}
