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

/**
 * For each position, where the first single quote at or after it closes a group (one followed by
 * white space or the end), or `chars.length`. Computed once, so looking for a closing quote is O(1).
 */
function singleQuoteClosings(chars: readonly string[]): Int32Array {
  const n = chars.length;
  const next = new Int32Array(n + 1);
  next[n] = n;
  for (let j = n - 1; j >= 0; j--) {
    const closes = SINGLE_QUOTES.has(chars[j]!) && (j + 1 >= n || isSpace(chars[j + 1]!));
    next[j] = closes ? j : next[j + 1]!;
  }
  return next;
}

/**
 * One word as it is read. Linear on purpose: the text is kept in parts (re-reading a growing string
 * would copy it at every character), and whether it is still `--option=` is tracked as it grows.
 */
class WordText {
  private readonly parts: string[] = [];
  private equalsSigns = 0;
  private length = 0;
  private last = '';
  private optionPrefix = false;

  append(piece: string): void {
    if (piece === '') return;
    if (this.length < 3) {
      // The first three characters decide whether this can be `--x…`; they never change later.
      const head = (this.parts.join('') + piece).slice(0, 3);
      this.optionPrefix = head.length === 3 && head.startsWith('--') && LETTER.test(head[2]!);
    }
    this.parts.push(piece);
    this.length += piece.length;
    this.last = piece[piece.length - 1]!;
    for (const c of piece) if (c === '=') this.equalsSigns++;
  }

  /** The text is `--name=` with nothing after the `=` yet: a quote may open the value. */
  endsAsOptionName(): boolean {
    return this.optionPrefix && this.equalsSigns === 1 && this.last === '=';
  }

  toString(): string {
    return this.parts.join('');
  }
}

export function tokenize(input: string): TokenizeResult {
  const chars = Array.from(decodeSlackEntities(input));
  const n = chars.length;
  const closings = singleQuoteClosings(chars);
  const tokens: Token[] = [];
  let i = 0;
  while (i < n) {
    const first = chars[i]!;
    if (isSpace(first) || ZERO_WIDTH.test(first)) {
      i++;
      continue;
    }
    const word = new WordText();
    let literal = false;
    let quoted = false;
    let atWordStart = true;
    if (DASHES.has(first) && i + 1 < n && LETTER.test(chars[i + 1]!)) {
      word.append('--');
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
      const mayOpen = atWordStart || (!literal && word.endsAsOptionName());
      if (mayOpen && DOUBLE_QUOTES.has(c)) {
        let j = i + 1;
        const segment: string[] = [];
        while (j < n && !DOUBLE_QUOTES.has(chars[j]!)) {
          const next = chars[j + 1];
          if (chars[j] === '\\' && next !== undefined && (next === '\\' || DOUBLE_QUOTES.has(next))) {
            segment.push(next);
            j += 2;
          } else {
            segment.push(chars[j]!);
            j++;
          }
        }
        if (j >= n) {
          return { ok: false, message: 'missing closing quote', offending: chars.slice(i).join(''), tokens };
        }
        if (atWordStart) literal = true;
        quoted = true;
        atWordStart = false;
        word.append(segment.join(''));
        i = j + 1;
        continue;
      }
      if (mayOpen && SINGLE_QUOTES.has(c)) {
        const j = closings[i + 1]!;
        if (j < n) {
          if (atWordStart) literal = true;
          quoted = true;
          atWordStart = false;
          word.append(chars.slice(i + 1, j).join(''));
          i = j + 1;
          continue;
        }
      }
      word.append(c);
      atWordStart = false;
      i++;
    }
    let text = word.toString();
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
