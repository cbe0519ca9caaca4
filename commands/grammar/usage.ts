// Usage lines and the help text of /cutover (one source for both).

import type { CommandKind } from './types';
import { STRATEGY_NAMES } from './values';

export const USAGE: Record<CommandKind, string> = {
  help: '/cutover help',
  targets: '/cutover targets',
  plan: '/cutover plan <target> [--strategy S]',
  start: '/cutover start <target> [--strategy S] [--force --reason "why"]',
  schedule: '/cutover schedule <target> (--at <ISO-8601> | --next-window) [--strategy S]',
  status: '/cutover status [<run-id>]',
  list: '/cutover list',
  abort: '/cutover abort <run-id> [reason...]',
};

/** For errors that have no (known) subcommand. */
export const GENERAL_USAGE =
  '/cutover help | targets | plan | start | schedule | status | list | abort …  (/cutover help for details)';

const WHAT: Record<CommandKind, string> = {
  help: 'this help',
  targets: 'the configured targets and their strategies',
  plan: 'dry run: the steps and live preflight checks',
  start: 'start a run now; --force overrides the anti-flapping guard and needs a --reason',
  schedule: 'start in a maintenance window: at a time (with Z or an offset) or the next one',
  status: 'progress of a run (default: the active runs)',
  list: 'recent and active runs',
  abort: 'stop a run and undo what can be undone',
};

/** Slack reads &, < and > as markup everywhere in mrkdwn, code blocks included. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The whole grammar as Slack mrkdwn: a title and one code block (&, <, > escaped). USAGE lines, by
 * contrast, are plain text: whoever puts one in a message escapes it like any other text.
 */
export function helpText(): string {
  const lines: string[] = [];
  for (const kind of Object.keys(USAGE) as CommandKind[]) {
    lines.push(USAGE[kind], `    ${WHAT[kind]}`);
  }
  lines.push(
    '',
    `strategies: ${STRATEGY_NAMES.join(' | ')}`,
    'run ids:    a full id or its first 8+ characters (as the bot shows them)',
    'times:      ISO-8601 with an offset: 2025-03-09T02:00Z, 2025-03-09T04:00+02:00',
    'quotes:     "several words" for one argument; --option=value works too',
  );
  return `*/cutover* — database cutovers\n\`\`\`\n${escapeMrkdwn(lines.join('\n'))}\n\`\`\``;
}
