import pino from 'pino';
import type { Logger } from '../ports/logger';

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'cutover-bot', ...bindings } });
}
