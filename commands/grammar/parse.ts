// The /cutover grammar: the `text` of the slash command -> a typed command or a usage error. Pure.
//
//   /cutover help
//   /cutover targets
//   /cutover plan <target> [--strategy S]
//   /cutover start <target> [--strategy S] [--force --reason "text..."]
//   /cutover schedule <target> (--at <ISO-8601> | --next-window) [--strategy S]
//   /cutover status [<run-id>]
//   /cutover list
//   /cutover abort <run-id> [reason...]
//
// Empty text is help; the subcommand is case-insensitive; options may come before or after the
// positional words, as `--opt value` or `--opt=value`; `--` ends the options; `--help` / `-h`
// anywhere asks for help. `--reason` takes every following word up to the next option, so quotes
// are optional. abort also accepts its reason after `--reason`. See tokenize.ts for quoting.

import { closestNames, orList } from './suggest';
import { tokenize, type Token } from './tokenize';
import { SUBCOMMANDS, type CommandKind, type CutoverCommand, type ParseResult } from './types';
import { GENERAL_USAGE, USAGE } from './usage';
import {
  DATE_ONLY,
  STRATEGY_NAMES,
  TIME_ONLY,
  isTargetName,
  parseInstant,
  parseRunId,
  show,
  showQuoted,
} from './values';

export type { CommandKind, CutoverCommand, ParseResult, UsageError } from './types';
export { SUBCOMMANDS } from './types';
export { GENERAL_USAGE, USAGE, helpText } from './usage';
export { STRATEGY_NAMES, type StrategyName } from './values';

/**
 * The longest command text read, in UTF-16 code units (what Slack's own limits count). A command
 * is a line and a `--reason` a sentence; anything longer is refused before it is tokenized.
 */
export const MAX_COMMAND_LENGTH = 2000;

type OptionName = 'strategy' | 'at' | 'next-window' | 'force' | 'reason';
type OptionShape = 'value' | 'switch' | 'text';

const OPTION_SHAPE: Record<OptionName, OptionShape> = {
  strategy: 'value',
  at: 'value',
  'next-window': 'switch',
  force: 'switch',
  reason: 'text',
};

const OPTIONS_OF: Record<CommandKind, readonly OptionName[]> = {
  help: [],
  targets: [],
  plan: ['strategy'],
  start: ['strategy', 'force', 'reason'],
  schedule: ['at', 'next-window', 'strategy'],
  status: [],
  list: [],
  abort: ['reason'],
};

/** Not accepted, only suggested when nothing is close by spelling. */
const SYNONYMS: Record<string, CommandKind> = {
  ls: 'list',
  runs: 'list',
  cancel: 'abort',
  stop: 'abort',
  kill: 'abort',
  run: 'start',
  go: 'start',
  begin: 'start',
  'dry-run': 'plan',
  dryrun: 'plan',
  preview: 'plan',
  info: 'status',
  show: 'status',
  later: 'schedule',
};

interface OptionUse {
  /** The option as typed, without any `=value`: for messages. */
  flag: string;
  /** Position among the tokens: which of two conflicting options came second. */
  index: number;
  value?: string;
  words: string[];
}

/** Thrown inside the parser only, caught by parseCommand: bad input, not a bug. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly offending?: string,
  ) {
    super(message);
  }
}

function isOptionEnd(token: Token): boolean {
  return !token.literal && token.text === '--';
}

function isOption(token: Token): boolean {
  return !token.literal && token.text.length > 2 && token.text.startsWith('--');
}

/** `--help` (any case, even with a value) or `-h`. */
function isHelpOption(token: Token): boolean {
  return (
    !token.literal && (token.text === '-h' || (isOption(token) && splitOption(token.text).name === 'help'))
  );
}

function splitOption(text: string): { flag: string; name: string; value?: string } {
  const eq = text.indexOf('=');
  const flag = eq < 0 ? text : text.slice(0, eq);
  const name = flag.slice(2).toLowerCase();
  return eq < 0 ? { flag, name } : { flag, name, value: text.slice(eq + 1) };
}

function unexpectedWord(word: string): Refusal {
  const hint = /^(-(?!-)|[\u2014\u2013])/.test(word) ? ' (options start with --)' : '';
  return new Refusal(`unexpected word ${showQuoted(word)}${hint}`, word);
}

function checkTarget(token: Token | undefined, kind: CommandKind): string {
  if (token === undefined) throw new Refusal(`${kind} needs a target name`);
  const word = token.text;
  if (isTargetName(word)) return word;
  const lower = word.toLowerCase();
  const hint = isTargetName(lower) ? `; did you mean ${lower}?` : ' (a-z, 0-9, . _ -, up to 63 characters)';
  throw new Refusal(`${showQuoted(word)} is not a valid target name${hint}`, word);
}

function checkRunId(word: string): string {
  const id = parseRunId(word);
  if (id !== undefined) return id;
  throw new Refusal(
    `${showQuoted(word)} is not a run id (a full id or its first 8+ hex characters; see /cutover list)`,
    word,
  );
}

function checkStrategy(word: string): string {
  const name = word.toLowerCase();
  if ((STRATEGY_NAMES as readonly string[]).includes(name)) return name;
  const near = closestNames(name, STRATEGY_NAMES, 1);
  const guess = near.length > 0 ? `; did you mean ${near[0]!}?` : '';
  throw new Refusal(
    `unknown strategy ${showQuoted(word)}${guess} (valid: ${STRATEGY_NAMES.join(', ')})`,
    word,
  );
}

function unknownOption(flag: string, name: string, kind: CommandKind): Refusal {
  const own = OPTIONS_OF[kind];
  if (name in OPTION_SHAPE) {
    const owners = SUBCOMMANDS.filter((k) => OPTIONS_OF[k].includes(name as OptionName));
    return new Refusal(`${kind} has no ${flag} option (${flag} goes with ${orList(owners)})`, flag);
  }
  const near = closestNames(name, [...own, 'help'], 2).map((n) => `--${n}`);
  const guess = near.length > 0 ? `; did you mean ${orList(near)}?` : '';
  const none = own.length === 0 ? ` (${kind} takes no options)` : '';
  return new Refusal(`unknown option ${show(flag)}${guess}${none}`, flag);
}

/** Reads options and positional words left to right; refuses the first problem it meets. */
function scan(
  kind: CommandKind,
  tokens: readonly Token[],
): { words: Token[]; options: Partial<Record<OptionName, OptionUse>> } {
  const words: Token[] = [];
  const options: Partial<Record<OptionName, OptionUse>> = {};
  let optionsEnded = false;
  let collecting: OptionUse | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!optionsEnded && isOptionEnd(token)) {
      optionsEnded = true;
      continue;
    }
    if (optionsEnded || !isOption(token)) {
      if (collecting) collecting.words.push(token.text);
      else words.push(token);
      continue;
    }
    collecting = undefined;
    const { flag, name, value } = splitOption(token.text);
    if (!(OPTIONS_OF[kind] as readonly string[]).includes(name)) throw unknownOption(flag, name, kind);
    const option = name as OptionName;
    if (options[option]) throw new Refusal(`${flag} given twice`, flag);
    const use: OptionUse = { flag, index: i, words: [] };
    options[option] = use;
    switch (OPTION_SHAPE[option]) {
      case 'switch':
        if (value !== undefined) throw new Refusal(`${flag} takes no value`, token.text);
        break;
      case 'text':
        if (value !== undefined) use.words.push(value);
        collecting = use;
        break;
      case 'value': {
        let raw = value;
        if (raw === undefined) {
          const next = tokens[i + 1];
          if (next !== undefined && !isOption(next) && !isOptionEnd(next)) {
            raw = next.text;
            i++;
          }
        }
        if (raw === undefined || raw === '') throw new Refusal(missingValue(option, flag), flag);
        if (option === 'at') {
          // Tolerate `--at 2025-03-09 02:00Z` (RFC 3339 allows a space; Slack splits it).
          const next = tokens[i + 1];
          if (DATE_ONLY.test(raw) && next !== undefined && !next.literal && TIME_ONLY.test(next.text)) {
            raw = `${raw}T${next.text}`;
            i++;
          }
          const instant = parseInstant(raw);
          if (!instant.ok) throw new Refusal(instant.message, raw);
          use.value = instant.value;
        } else {
          use.value = checkStrategy(raw);
        }
        break;
      }
    }
  }
  return { words, options };
}

function missingValue(option: OptionName, flag: string): string {
  return option === 'strategy'
    ? `${flag} needs a value: ${STRATEGY_NAMES.join(', ')}`
    : `${flag} needs a date-time, e.g. 2025-03-09T02:00Z`;
}

function reasonText(use: OptionUse): string {
  const reason = use.words.join(' ').trim();
  if (reason === '') throw new Refusal(`${use.flag} needs some text`, use.flag);
  return reason;
}

function noExtraWords(words: readonly Token[], from: number): void {
  const extra = words[from];
  if (extra !== undefined) throw unexpectedWord(extra.text);
}

function build(kind: CommandKind, rest: readonly Token[]): CutoverCommand {
  const { words, options } = scan(kind, rest);
  const strategy = options.strategy?.value;
  switch (kind) {
    case 'help':
    case 'targets':
    case 'list':
      noExtraWords(words, 0);
      return { kind };
    case 'plan': {
      const target = checkTarget(words[0], kind);
      noExtraWords(words, 1);
      return { kind, target, ...(strategy !== undefined && { strategy }) };
    }
    case 'start': {
      const target = checkTarget(words[0], kind);
      noExtraWords(words, 1);
      const { force, reason } = options;
      if (reason && !force) {
        throw new Refusal(`${reason.flag} goes with --force (the anti-flapping override)`, reason.flag);
      }
      if (force && !reason) throw new Refusal(`${force.flag} needs a reason: --reason "why"`, force.flag);
      return {
        kind,
        target,
        ...(strategy !== undefined && { strategy }),
        ...(reason && { force: { reason: reasonText(reason) } }),
      };
    }
    case 'schedule': {
      const target = checkTarget(words[0], kind);
      noExtraWords(words, 1);
      const at = options.at;
      const next = options['next-window'];
      if (at && next) {
        const second = at.index > next.index ? at : next;
        throw new Refusal('use either --at or --next-window, not both', second.flag);
      }
      if (!at && !next) throw new Refusal('schedule needs --at <date-time> or --next-window');
      return {
        kind,
        target,
        ...(at?.value !== undefined && { at: at.value }),
        nextWindow: next !== undefined,
        ...(strategy !== undefined && { strategy }),
      };
    }
    case 'status': {
      const word = words[0];
      noExtraWords(words, 1);
      return word === undefined ? { kind } : { kind, runId: checkRunId(word.text) };
    }
    case 'abort': {
      const word = words[0];
      if (word === undefined) throw new Refusal('abort needs a run id (see /cutover list)');
      const runId = checkRunId(word.text);
      const positional = words.slice(1).map((t) => t.text);
      const flagged = options.reason;
      if (flagged && positional.length > 0) {
        throw new Refusal(`give the reason once: after the run id or after ${flagged.flag}`, flagged.flag);
      }
      const reason = flagged ? reasonText(flagged) : positional.join(' ').trim();
      return reason === '' ? { kind, runId } : { kind, runId, reason };
    }
  }
}

function refuse(message: string, usage: string, offending?: string): ParseResult {
  return { ok: false, error: offending === undefined ? { message, usage } : { message, usage, offending } };
}

function unknownSubcommand(word: string): ParseResult {
  const lower = word.toLowerCase();
  let near = closestNames(lower, SUBCOMMANDS, 2);
  const synonym = Object.hasOwn(SYNONYMS, lower) ? SYNONYMS[lower] : undefined;
  if (near.length === 0 && synonym !== undefined) near = [synonym];
  const guess = near.length > 0 ? `; did you mean ${orList(near)}?` : '';
  return refuse(`unknown subcommand ${showQuoted(word)}${guess}`, GENERAL_USAGE, word);
}

/** Parses the text after `/cutover` (as Slack sends it). Never throws. */
export function parseCommand(text: string): ParseResult {
  const input = typeof text === 'string' ? text : '';
  if (input.length > MAX_COMMAND_LENGTH) {
    return refuse(
      `the command is ${input.length} characters long; /cutover takes at most ${MAX_COMMAND_LENGTH}`,
      GENERAL_USAGE,
    );
  }
  const tokenized = tokenize(input);
  if (!tokenized.ok) {
    const first = tokenized.tokens[0]?.text.toLowerCase();
    const known = SUBCOMMANDS.find((k) => k === first);
    return refuse(tokenized.message, known ? USAGE[known] : GENERAL_USAGE, tokenized.offending);
  }
  const [head, ...rest] = tokenized.tokens;
  if (head === undefined) return { ok: true, command: { kind: 'help' } };

  const word = head.text.toLowerCase();
  const kind: CommandKind | undefined =
    word === '?' || isHelpOption(head) ? 'help' : SUBCOMMANDS.find((k) => k === word);
  if (kind === undefined) {
    if (isOption(head)) {
      return refuse(`start with a subcommand, not ${show(head.text)}`, GENERAL_USAGE, head.text);
    }
    return unknownSubcommand(head.text);
  }

  const ended = rest.findIndex(isOptionEnd);
  if ((ended < 0 ? rest : rest.slice(0, ended)).some(isHelpOption))
    return { ok: true, command: { kind: 'help' } };

  try {
    return { ok: true, command: build(kind, rest) };
  } catch (e) {
    // Anything else is a bug, not bad input: let it surface (the property tests look for it).
    if (!(e instanceof Refusal)) throw e;
    return refuse(e.message, USAGE[kind], e.offending);
  }
}
