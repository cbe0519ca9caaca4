// A hook's result as a short Slack mrkdwn message for a run's thread: what ran, how it ended, and its
// output in a code block. Everything shown is redacted (again, for the output: it costs nothing).
import type { HookResult } from '../ports/hooks';
import { redact } from './redact';

export interface FormatHookResultOptions {
  /** Values to redact from the displayed command and output (e.g. `toHookCommand(...).secrets`). */
  secrets?: readonly string[];
  /** Longest output shown, in characters; the middle of longer output is cut. Default 2000. */
  maxOutputChars?: number;
  /** Longest command line shown, in characters. Default 300. */
  maxCommandChars?: number;
}

const DEFAULT_MAX_OUTPUT_CHARS = 2000;
const DEFAULT_MAX_COMMAND_CHARS = 300;

// Arguments made only of these are shown bare; anything else is single-quoted as a shell would read it.
const PLAIN_ARGUMENT = /^[A-Za-z0-9_\-./:=@%+,{}[\]]+$/;

/**
 * "`./repoint.sh 10.0.0.5` exited 0 in 1.2 s" and the output in a code block. Says nothing about
 * success: whether an exit code is acceptable is the caller's decision.
 */
export function formatHookResult(
  result: HookResult,
  commandForDisplay: readonly string[],
  options: FormatHookResultOptions = {},
): string {
  const secrets = options.secrets ?? [];
  const command = cutMiddle(
    commandForDisplay.map((arg) => quoteArgument(redact(arg, secrets))).join(' '),
    options.maxCommandChars ?? DEFAULT_MAX_COMMAND_CHARS,
  );
  const headline = `\`${escapeMrkdwn(command).replace(/`/g, 'ˋ')}\` ${describeEnd(result)}`;
  const output = redact(result.output, secrets).replace(/\s+$/, '');
  if (output.trim() === '') return `${headline}\n_no output_`;
  const shown = cutMiddle(output, options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS);
  // A ``` inside the output would close the block early; a zero-width space keeps it literal.
  return `${headline}\n\`\`\`\n${escapeMrkdwn(shown).replace(/```/g, '``\u200b`')}\n\`\`\``;
}

function describeEnd(result: HookResult): string {
  const took = formatDuration(result.durationMs);
  if (result.timedOut) {
    if (result.signal !== null) return `timed out after ${took} and was stopped (${result.signal})`;
    if (result.exitCode !== null) return `timed out after ${took} and exited ${result.exitCode} when stopped`;
    return `timed out after ${took}`;
  }
  if (result.exitCode !== null) return `exited ${result.exitCode} in ${took}`;
  if (result.signal !== null) return `was killed by ${result.signal} after ${took}`;
  return 'could not be started';
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function quoteArgument(arg: string): string {
  if (PLAIN_ARGUMENT.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** At most `max` characters: the start and the end of `text` around a note of what was left out. */
function cutMiddle(text: string, max: number): string {
  const chars = Array.from(text); // code points, so no surrogate pair is split
  if (chars.length <= max) return text;
  const keep = Math.max(max - 40, 2);
  const head = Math.ceil(keep / 2);
  const tail = keep - head;
  const omitted = chars.length - head - tail;
  const joiner = text.includes('\n') ? `\n… ${omitted} characters omitted …\n` : ` … `;
  return `${chars.slice(0, head).join('')}${joiner}${chars.slice(chars.length - tail).join('')}`;
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
