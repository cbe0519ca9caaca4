import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisEndpoint } from '../../config/redis-url';
import type { Logger } from '../../ports/logger';

/** What BullMQ needs: `maxRetriesPerRequest: null`, so blocking calls survive reconnects. */
const BULLMQ_OPTIONS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

/** ioredis options for Sentinels: it asks them for the primary, and again after a failover. */
export function sentinelOptions(endpoint: Extract<RedisEndpoint, { kind: 'sentinel' }>): RedisOptions {
  return {
    sentinels: endpoint.sentinels,
    name: endpoint.name,
    db: endpoint.db,
    role: 'master',
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
    ...(endpoint.sentinelUsername !== undefined ? { sentinelUsername: endpoint.sentinelUsername } : {}),
    ...(endpoint.sentinelPassword !== undefined ? { sentinelPassword: endpoint.sentinelPassword } : {}),
    // Hear of a new primary from the Sentinels' +switch-master at once, rather than only when the
    // demoted one drops the connection or refuses a write.
    failoverDetector: true,
    // A write that reached the old primary after its demotion: reconnect (to the new one) and
    // send it again (2), once the Sentinels name the new primary.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
}

/**
 * A connection BullMQ can use, to one Redis (`redis://`, `rediss://`) or to the primary the
 * Sentinels name (`redis+sentinel://…`, see src/config/redis-url.ts), following its failovers.
 */
export function connectRedis(url: string): Redis {
  const parsed = parseRedisUrl(url);
  if (!parsed.ok) throw new Error(`REDIS_URL ${parsed.problem}`);
  const endpoint = parsed.endpoint;
  if (endpoint.kind !== 'sentinel') return new IORedis(endpoint.url, BULLMQ_OPTIONS);
  const redis = new IORedis({ ...BULLMQ_OPTIONS, ...sentinelOptions(endpoint) });
  reconnectWhenEndedByFailover(redis);
  return redis;
}

/** Connections closed by closeRedis: the only ones that may stay ended. */
const closedOnPurpose = new WeakSet<Redis>();

/**
 * ioredis (6.0) ends a Sentinel connection for good when the failover detector's +switch-master
 * arrives while a reconnect is still asking the Sentinels for the primary (the connector's
 * disconnect makes that connect attempt fail with "Connection is closed.", and a failed connect
 * ends the client instead of retrying). Every command after it would fail until a restart: start
 * the connection again. test/integration/ops/redis-sentinel-slow.test.ts makes that race certain.
 */
function reconnectWhenEndedByFailover(redis: Redis): void {
  // At once: while the status is 'connecting' commands wait in the offline queue; while it is
  // 'end' they fail.
  redis.on('end', () => {
    if (!closedOnPurpose.has(redis)) redis.connect().catch(() => undefined);
  });
}

/** Closes a connection from connectRedis; unlike one ended by a failover, it stays closed. */
export function closeRedis(redis: Redis): void {
  closedOnPurpose.add(redis);
  redis.disconnect();
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
