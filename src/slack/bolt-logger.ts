import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../ports/logger';

/** Bolt's logger interface over ours, so Bolt's lines land in the same structured log. */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const line = (args: unknown[]): string =>
    args.map((arg) => (typeof arg === 'string' ? arg : String(arg))).join(' ');
  return {
    debug: (...args: unknown[]) => log.debug({ component: 'bolt' }, line(args)),
    info: (...args: unknown[]) => log.info({ component: 'bolt' }, line(args)),
    warn: (...args: unknown[]) => log.warn({ component: 'bolt' }, line(args)),
    error: (...args: unknown[]) => log.error({ component: 'bolt' }, line(args)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
