import { randomBytes } from 'node:crypto';

/** Each suite gets its own queue name; suites that flush Redis also get their own database index. */
export function testRedisUrl(db = 0): string {
  return `redis://127.0.0.1:6379/${db}`;
}

export function freshQueueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
