// Sentinels that answer slowly while the Redis primary fails over. ioredis's failover detector
// hears +switch-master while a reconnect is still asking the (slow) Sentinels for the primary, and
// ioredis then ends the connection for good ("Connection is closed." on every command after it).
// The bot's connection (connectRedis) starts again and follows the new primary; a bare ioredis
// client with the same options, beside it, shows the race really happened.
import IORedis, { type Redis } from 'ioredis';
import { parseRedisUrl } from '../../../src/config/redis-url';
import { closeRedis, connectRedis, sentinelOptions } from '../../../src/adapters/redis/connection';
import { MASTER_NAME, startSentinelSet, type SentinelSet } from '../../support/services/redis-sentinel';
import { startSlowTcpProxy, type SlowTcpProxy } from '../../support/services/slow-tcp-proxy';
import { waitFor } from '../../support/wait-for';

// Each Sentinel reply held 3 s: one attempt to resolve the primary takes at least two replies (6 s),
// longer than the Sentinels take to fail over once the primary has gone (1 s down-after, then an
// election): the failover detector's +switch-master arrives during that attempt.
const SENTINEL_REPLY_DELAY_MS = 3_000;

let sentinels: SentinelSet;
let proxies: SlowTcpProxy[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  sentinels = await startSentinelSet();
  proxies = await Promise.all(sentinels.sentinelPorts.map((port) => startSlowTcpProxy(port)));
}, 60_000);

afterAll(async () => {
  for (const client of clients) closeRedis(client);
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await sentinels?.stop();
});

function ended(client: Redis): { count: number } {
  const seen = { count: 0 };
  client.on('end', () => (seen.count += 1));
  client.on('error', () => undefined);
  return seen;
}

test('a failover heard while resolving the primary: the bot reconnects, a bare client stays ended', async () => {
  const url = `redis+sentinel://${proxies.map((proxy) => `127.0.0.1:${proxy.port}`).join(',')}/${MASTER_NAME}`;
  const parsed = parseRedisUrl(url);
  if (!parsed.ok || parsed.endpoint.kind !== 'sentinel') throw new Error(`bad url ${url}`);
  const bot = connectRedis(url);
  const bare = new IORedis({ maxRetriesPerRequest: null, ...sentinelOptions(parsed.endpoint) });
  clients.push(bot, bare);
  const botEnded = ended(bot);
  const bareEnded = ended(bare);
  await bot.set('before', '1');
  await bare.ping();

  for (const proxy of proxies) proxy.delayMs = SENTINEL_REPLY_DELAY_MS;
  const before = sentinels.primary.port;
  await sentinels.primary.stop();
  await waitFor(
    'the Sentinels to promote the replica',
    async () => (await sentinels.primaryPort()) !== before,
    {
      timeoutMs: 30_000,
    },
  );

  // The race: both clients were asking the slow Sentinels when +switch-master came.
  // (A redis-server takes a few seconds to shut down, and each attempt to resolve it 6 s or more.)
  await waitFor(
    'both clients to be ended by ioredis',
    () => Promise.resolve(bareEnded.count > 0 && botEnded.count > 0),
    {
      timeoutMs: 30_000,
    },
  );
  expect(bare.status).toBe('end');

  // The bot's connection is back, on the promoted server.
  await bot.set('after', '1');
  const promoted = new IORedis({ port: sentinels.replica.port, host: '127.0.0.1', lazyConnect: true });
  try {
    await promoted.connect();
    expect(await promoted.get('after')).toBe('1');
    expect(await promoted.get('before')).toBe('1');
  } finally {
    promoted.disconnect();
  }
  await expect(bare.ping()).rejects.toThrow('Connection is closed');
}, 90_000);
