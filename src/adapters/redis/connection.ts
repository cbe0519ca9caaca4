import IORedis, { type Redis } from 'ioredis';
import type { Logger } from '../../ports/logger';

/** A connection BullMQ can use: it needs `maxRetriesPerRequest: null` so blocking calls survive reconnects. */
export function connectRedis(url: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * BullMQ keeps its jobs in Redis; an evicting policy would silently drop them.
 * Refuse to run on one. Managed Redis often forbids CONFIG: then all we can do is warn.
 */
export async function assertNoEviction(redis: Redis, log: Logger): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (error) {
    log.warn(
      { err: error },
      'cannot read Redis maxmemory-policy (CONFIG GET refused); make sure it is noeviction',
    );
    return;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    throw new Error(
      `Redis maxmemory-policy is "${policy}"; cutover-bot needs "noeviction" so queued steps are never evicted ` +
        `(run: redis-cli CONFIG SET maxmemory-policy noeviction, and set it in redis.conf)`,
    );
  }
}
