// Properties of the /cutover grammar: whatever Slack sends, parseCommand answers (never throws) with a
// well-formed command or a usable error; and every command survives formatting and parsing again.
import fc from 'fast-check';

import { formatCommand } from '../../../commands/grammar/format';
import {
  parseCommand,
  STRATEGY_NAMES,
  SUBCOMMANDS,
  type CutoverCommand,
} from '../../../commands/grammar/parse';
import { assertWellFormed } from './well-formed';

const RUNS = { numRuns: 500 };

/** What Slack does to the text before sending it. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Parses, checks the answer's shape, and for an accepted command checks that its canonical text reads back. */
function check(text: string): void {
  const result = parseCommand(text);
  assertWellFormed(result);
  if (result.ok) {
    const again = parseCommand(slackEscape(formatCommand(result.command)));
    expect(again).toEqual(result);
  }
}

// ---- characters that matter to the tokenizer ----------------------------------------------------

const TRICKY = [
  ' ',
  '  ',
  '\t',
  '\n',
  '\u00A0',
  '\u3000',
  '\u200B',
  '\uFEFF',
  '"',
  '\u201C',
  '\u201D',
  '\u201E',
  '\uFF02',
  "'",
  '\u2018',
  '\u2019',
  '`',
  '\\',
  '-',
  '--',
  '\u2014',
  '\u2013',
  '=',
  '&amp;',
  '&lt;',
  '&gt;',
  '&',
  '<',
  '>',
  '\uD800',
  '\uDFFF',
  '\u0301',
  '🚀',
];
const trickyUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.constantFrom('a', 'z', '0', '9', '.', '_', ':', '+', 'T', 'Z') },
);

// ---- valid commands -----------------------------------------------------------------------------

const target = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/);
const strategy = fc.option(fc.constantFrom(...STRATEGY_NAMES), { nil: undefined });
const runId = fc.oneof(
  fc.uuid(),
  fc
    .tuple(fc.uuid(), fc.integer({ min: 8, max: 36 }))
    .map(([uuid, length]) => uuid.slice(0, length))
    .filter((id) => !id.endsWith('-')),
);
const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');
const instant = fc
  .record({
    date: fc.date({
      min: new Date('1970-01-02T00:00:00Z'),
      max: new Date('9999-12-30T00:00:00Z'),
      noInvalidDate: true,
    }),
    offset: fc.option(fc.integer({ min: -14 * 60, max: 14 * 60 }), { nil: undefined }),
    millis: fc.boolean(),
  })
  .map(({ date, offset, millis }) => {
    const wall = new Date(date.getTime() + (offset ?? 0) * 60_000);
    const zone =
      offset === undefined
        ? 'Z'
        : `${offset < 0 ? '-' : '+'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
    const fraction = millis ? `.${pad(wall.getUTCMilliseconds(), 3)}` : '';
    return (
      `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
      `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${fraction}${zone}`
    );
  });
const reason = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1 }),
    fc.string({ unit: trickyUnit, minLength: 1 }),
  )
  .map((s) => s.trim())
  .filter((s) => s !== '');

/** Leaves out keys whose value is undefined, as the parser does. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const command: fc.Arbitrary<CutoverCommand> = fc.oneof(
  fc.constant<CutoverCommand>({ kind: 'help' }),
  fc.constant<CutoverCommand>({ kind: 'targets' }),
  fc.constant<CutoverCommand>({ kind: 'list' }),
  fc
    .record({ target, strategy })
    .map(({ target, strategy }) => compact({ kind: 'plan' as const, target, strategy })),
  fc
    .record({ target, strategy, reason: fc.option(reason, { nil: undefined }) })
    .map(({ target, strategy, reason }) =>
      compact({
        kind: 'start' as const,
        target,
        strategy,
        force: reason === undefined ? undefined : { reason },
      }),
    ),
  fc
    .record({ target, strategy, at: fc.option(instant, { nil: undefined }) })
    .map(({ target, strategy, at }) =>
      compact({ kind: 'schedule' as const, target, at, nextWindow: at === undefined, strategy }),
    ),
  fc.option(runId, { nil: undefined }).map((runId) => compact({ kind: 'status' as const, runId })),
  fc
    .record({ runId, reason: fc.option(reason, { nil: undefined }) })
    .map(({ runId, reason }) => compact({ kind: 'abort' as const, runId, reason })),
);

// ---- token sequences made of the grammar's own words --------------------------------------------

const randomCase = (word: string): fc.Arbitrary<string> =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => Array.from(word, (c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

const OPTIONS = ['strategy', 'at', 'next-window', 'force', 'reason', 'help'];
const MISSPELLED = [
  '--strategey',
  '--strat',
  '--nextwindow',
  '--forse',
  '--reasn',
  '--all',
  '-h',
  '-f',
  '---',
];
const quoted = (inner: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(
      inner,
      fc.constantFrom<[string, string]>(['"', '"'], ['\u201C', '\u201D'], ["'", "'"], ['\u2018', '\u2019']),
    )
    .map(([s, [open, close]]) => `${open}${s}${close}`);

const word: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SUBCOMMANDS).chain(randomCase),
  fc.constantFrom(...OPTIONS).map((o) => `--${o}`),
  fc.constantFrom(...OPTIONS).map((o) => `\u2014${o}`),
  fc
    .tuple(fc.constantFrom(...OPTIONS), fc.oneof(fc.constantFrom(...STRATEGY_NAMES), instant, target))
    .map(([o, v]) => `--${o}=${v}`),
  fc.constantFrom(...MISSPELLED),
  fc.constantFrom(...STRATEGY_NAMES).chain(randomCase),
  target,
  runId.chain(randomCase),
  instant,
  instant.map((s) => s.replace('T', ' ')),
  instant.map((s) => s.replace(/(Z|[+-]\d\d:\d\d)$/, '')),
  fc.constantFrom(
    '--',
    '?',
    '""',
    "''",
    '`x`',
    'now',
    'tomorrow',
    'lag',
    'too',
    'high',
    '2025-03-09',
    '02:00Z',
  ),
  quoted(fc.string({ unit: trickyUnit, maxLength: 12 })),
  fc.string({ unit: trickyUnit, minLength: 1, maxLength: 8 }),
);
const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\u00A0', '\n', '\u3000');
const joinWords = (words: readonly string[], separators: readonly string[]): string =>
  words.map((w, i) => (i === 0 ? w : (separators[i % separators.length] ?? ' ') + w)).join('');

/** Words around a subcommand, in any order. */
const wordSoup = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...SUBCOMMANDS).chain(randomCase) },
      { weight: 1, arbitrary: word },
    ),
    fc.array(word, { maxLength: 8 }),
    fc.array(separator, { minLength: 1, maxLength: 4 }),
  )
  .map(([head, rest, separators]) => joinWords([head, ...rest], separators));

type Mutation = { op: 'drop' | 'duplicate' | 'swap' | 'replace' | 'insert'; at: number; word: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('drop', 'duplicate', 'swap', 'replace', 'insert'),
  at: fc.nat(),
  word,
});
function mutate(words: string[], { op, at, word }: Mutation): string[] {
  const out = [...words];
  const i = at % (out.length + 1);
  if (op === 'insert') out.splice(i, 0, word);
  else if (i < out.length) {
    if (op === 'drop') out.splice(i, 1);
    else if (op === 'duplicate') out.splice(i, 0, out[i]!);
    else if (op === 'replace') out[i] = word;
    else if (i + 1 < out.length) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
  }
  return out;
}

/** A valid command's canonical text with a few words dropped, doubled, swapped, replaced or added. */
const nearMiss = fc
  .tuple(command, fc.array(mutation, { maxLength: 3 }), fc.array(separator, { minLength: 1, maxLength: 4 }))
  .map(([cmd, mutations, separators]) => {
    // Split on the spaces formatCommand puts between words; a quoted reason may be cut in two, which is fine.
    const words = mutations.reduce(mutate, slackEscape(formatCommand(cmd)).split(' '));
    return joinWords(words, separators);
  });

const tokenText = fc.oneof(wordSoup, nearMiss);

// ---- the properties -----------------------------------------------------------------------------

describe('parseCommand on anything', () => {
  it('answers well-formed for arbitrary grapheme strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), check), RUNS);
  });

  it('answers well-formed for arbitrary code points (lone surrogates included)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), check), RUNS);
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        check,
      ),
      RUNS,
    );
  });

  it('answers well-formed for strings of quotes, dashes, escapes and spaces', () => {
    fc.assert(fc.property(fc.string({ unit: trickyUnit, maxLength: 60 }), check), RUNS);
  });

  it('answers well-formed for sequences of the grammar’s own words', () => {
    fc.assert(fc.property(tokenText, check), { numRuns: 3000 });
  });

  it('accepts a good share of those sequences (the generator reaches the happy paths)', () => {
    const kinds = new Set<string>();
    let accepted = 0;
    fc.assert(
      fc.property(tokenText, (text) => {
        const result = parseCommand(text);
        if (result.ok) {
          accepted++;
          kinds.add(result.command.kind);
        }
      }),
      { numRuns: 3000, seed: 42 },
    );
    expect(accepted).toBeGreaterThan(150);
    expect([...kinds].sort()).toEqual([...SUBCOMMANDS].sort());
  });
});

describe('round trip', () => {
  it('formatting a valid command and parsing the text gives the same command', () => {
    fc.assert(
      fc.property(command, (cmd) => {
        const result = parseCommand(slackEscape(formatCommand(cmd)));
        expect(result).toEqual({ ok: true, command: cmd });
        assertWellFormed(result);
      }),
      { numRuns: 2000 },
    );
  });

  it('does not care about the subcommand’s case or white space around the command', () => {
    fc.assert(
      fc.property(command, separator, separator, fc.boolean(), (cmd, before, after, upper) => {
        const [head, ...rest] = slackEscape(formatCommand(cmd)).split(' ');
        const text = [upper ? head!.toUpperCase() : head!, ...rest].join(' ');
        expect(parseCommand(before + text + after)).toEqual({ ok: true, command: cmd });
      }),
      RUNS,
    );
  });
});
