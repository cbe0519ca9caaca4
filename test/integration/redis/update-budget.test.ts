// The chat.update budget shared through Redis: the same rules as the process-local budget (the
// same sequences give the same answers), one budget for several processes, and a fall-back to the
// process's own budget while Redis does not answer. Real Redis: the machine's, and a private one
// that is stopped.
import { randomBytes } from 'node:crypto';
import IORedis, { type Redis } from 'ioredis';
import pino from 'pino';
import { connectRedis } from '../../../src/adapters/redis/connection';
import { RedisUpdateBudget } from '../../../src/adapters/redis/redis-update-budget';
import { UpdateBudget, type UpdateBudgetOptions } from '../../../src/ports/update-budget';
import { testRedisUrl } from '../../support/services/redis';
import { startPrivateRedis } from '../../support/services/redis-server';
import { waitFor } from '../../support/wait-for';

const log = pino({ level: 'silent' });
let redis: Redis;
const keys: string[] = [];

function freshKey(): string {
  const key = `cutover:test-update-budget:${randomBytes(4).toString('hex')}`;
  keys.push(key);
  return key;
}

beforeAll(() => {
  redis = new IORedis(testRedisUrl());
});

afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

test('answers exactly as the process-local budget under unbroken demand, changes and lag-only mixed', async () => {
  const options: UpdateBudgetOptions = { perMinute: 45, reservedForChanges: 15, paceWindowMs: 10_000 };
  const shared = new RedisUpdateBudget({ redis, key: freshKey(), budget: options, log });
  const local = new UpdateBudget(options);
  let now = 1_000_000;
  let taken = 0;
  for (let i = 0; i < 400; i += 1) {
    const lagOnly = i % 3 === 0;
    const expected = local.takeNow(now, lagOnly);
    expect(await shared.take(now, lagOnly)).toBe(expected);
    if (expected === 0) taken += 1;
    now = expected === 0 ? now + 137 : Math.max(now + 1, expected);
  }
  expect(taken).toBeGreaterThan(45); // the sequence ran over more than one minute
});

test('two processes share one budget: together they take no more than it allows', async () => {
  const key = freshKey();
  const options: UpdateBudgetOptions = { perMinute: 10, reservedForChanges: 0 };
  const web = new RedisUpdateBudget({ redis, key, budget: options, log });
  const worker = new RedisUpdateBudget({ redis, key, budget: options, log });
  const now = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? web : worker).take(now + i, false)),
  );
  expect(answers.filter((at) => at === 0)).toHaveLength(10);
  // The eleventh waits until the first of the minute leaves it.
  expect(Math.min(...answers.filter((at) => at !== 0))).toBe(now + 60_000);
  expect(await redis.zcard(key)).toBe(10);
});

test('while Redis does not answer, each process falls back to its own budget, and shares again after', async () => {
  let privateRedis = await startPrivateRedis();
  const client = connectRedis(privateRedis.url);
  client.on('error', () => undefined);
  try {
    const key = freshKey();
    const budget = new RedisUpdateBudget({
      redis: client,
      key,
      budget: { perMinute: 3, reservedForChanges: 0 },
      timeoutMs: 200,
      log,
    });
    const now = Date.now();
    expect(await budget.take(now, false)).toBe(0);
    await privateRedis.stop();
    // Down: the process's own budget, which already counts the update it sent through Redis.
    expect(await budget.take(now + 1, false)).toBe(0);
    expect(await budget.take(now + 2, false)).toBe(0);
    expect(await budget.take(now + 3, false)).toBe(now + 60_000);

    // Back (empty, as after a restart without persistence): the places are taken in Redis again.
    privateRedis = await startPrivateRedis([], privateRedis.port);
    const check = new IORedis(privateRedis.url);
    try {
      await waitFor('the budget to use Redis again', async () => {
        await budget.take(Date.now(), false);
        return (await check.zcard(key)) > 0;
      });
    } finally {
      await check.quit();
    }
  } finally {
    client.disconnect();
    await privateRedis.stop();
  }
});
