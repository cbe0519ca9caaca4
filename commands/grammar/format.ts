// A command back to the text a user would type after `/cutover` — for "to retry, type …" hints,
// audit lines, and the round-trip tests. parseCommand(formatCommand(c)) gives c back (after Slack's
// own &amp; &lt; &gt; escaping, which parseCommand undoes).

import type { CutoverCommand } from './types';

/** Always quoted: backslashes and double quotes (straight or smart) escaped with a backslash. */
export function quote(text: string): string {
  return `"${text.replace(/[\\"\u201C\u201D\u201E\u201F\uFF02]/g, (c) => `\\${c}`)}"`;
}

export function formatCommand(command: CutoverCommand): string {
  const strategy =
    'strategy' in command && command.strategy !== undefined ? ` --strategy ${command.strategy}` : '';
  switch (command.kind) {
    case 'help':
    case 'targets':
    case 'list':
      return command.kind;
    case 'plan':
      return `plan ${command.target}${strategy}`;
    case 'start':
      return `start ${command.target}${strategy}${command.force ? ` --force --reason ${quote(command.force.reason)}` : ''}`;
    case 'schedule': {
      const when = command.nextWindow || command.at === undefined ? '--next-window' : `--at ${command.at}`;
      return `schedule ${command.target} ${when}${strategy}`;
    }
    case 'status':
      return command.runId === undefined ? 'status' : `status ${command.runId}`;
    case 'abort':
      return command.reason === undefined
        ? `abort ${command.runId}`
        : `abort ${command.runId} ${quote(command.reason)}`;
  }
}
