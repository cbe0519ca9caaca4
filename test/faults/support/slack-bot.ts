// Starting slack-bot-main.ts (the bot in Slack mode, in a process of its own) from a fault suite.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { spawnScript } from '../../support/runtimes/child-worker';

/**
 * Starts the bot with `env` added; `eventsUrl` resolves once it listens (with the URL it printed),
 * and rejects if it exits before.
 */
export function spawnSlackBot(env: Record<string, string>): {
  child: ChildProcess;
  eventsUrl: Promise<string>;
} {
  const { child, ready } = spawnScript(
    path.join(__dirname, 'slack-bot-main.ts'),
    env,
    /slack-ready (\S+)/,
    'bot',
  );
  return { child, eventsUrl: ready.then((match) => match[1]!) };
}
