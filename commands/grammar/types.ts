// The typed result of parsing the text of a /cutover slash command.

export type CutoverCommand =
  | { kind: 'help' }
  | { kind: 'targets' }
  | { kind: 'plan'; target: string; strategy?: string }
  | { kind: 'start'; target: string; strategy?: string; force?: { reason: string } }
  | {
      kind: 'schedule';
      target: string;
      /** ISO-8601 with an explicit offset, normalised: YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM). */
      at?: string;
      nextWindow: boolean;
      strategy?: string;
    }
  /** runId: a full UUID or a prefix of 8+ hex digits, lower-cased; the caller resolves prefixes. */
  | { kind: 'status'; runId?: string }
  | { kind: 'list' }
  | { kind: 'abort'; runId: string; reason?: string };

export type CommandKind = CutoverCommand['kind'];

export interface UsageError {
  /** Short and human: what is wrong, with a suggestion when there is one. */
  message: string;
  /** The USAGE line of the subcommand, or GENERAL_USAGE when there is no (known) subcommand. */
  usage: string;
  /** The word (as typed) the message is about, when there is one. */
  offending?: string;
}

export type ParseResult = { ok: true; command: CutoverCommand } | { ok: false; error: UsageError };

export const SUBCOMMANDS = [
  'help',
  'targets',
  'plan',
  'start',
  'schedule',
  'status',
  'list',
  'abort',
] as const satisfies readonly CommandKind[];
