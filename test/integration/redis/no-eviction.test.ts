// BullMQ keeps the queued steps in Redis: the bot refuses an evicting Redis, and only warns when
// it cannot tell (CONFIG disabled, as on some managed services). Real redis-servers, not fakes.
import { assertNoEviction, connectRedis } from '../../../src/adapters/redis/connection';
import type { Logger } from '../../../src/ports/logger';
import { startPrivateRedis, type PrivateRedis } from '../../support/services/redis-server';

const servers: PrivateRedis[] = [];

afterAll(async () => {
  for (const server of servers) await server.stop();
});

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const log = {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (_obj: object, msg?: string) => warnings.push(msg ?? ''),
    error: () => undefined,
    child: () => log,
  };
  return log;
}

async function check(args: string[]) {
  const server = await startPrivateRedis(args);
  servers.push(server);
  const redis = connectRedis(server.url);
  const log = recordingLog();
  try {
    const outcome = await assertNoEviction(redis, log).then(
      () => null,
      (error: unknown) => error as Error,
    );
    return { outcome, warnings: log.warnings };
  } finally {
    redis.disconnect();
  }
}

test('noeviction is accepted', async () => {
  expect(await check(['--maxmemory-policy', 'noeviction'])).toEqual({ outcome: null, warnings: [] });
});

test('an evicting policy is refused with how to fix it', async () => {
  const { outcome } = await check(['--maxmemory-policy', 'allkeys-lru']);
  expect(outcome?.message).toMatch(/maxmemory-policy is "allkeys-lru".*noeviction/);
});

test('CONFIG disabled: a warning, not a refusal', async () => {
  const { outcome, warnings } = await check(['--rename-command', 'CONFIG', '']);
  expect(outcome).toBeNull();
  expect(warnings.join(' ')).toMatch(/maxmemory-policy/);
});
