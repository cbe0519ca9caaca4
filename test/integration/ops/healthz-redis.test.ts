// /healthz follows Redis: 200 while it answers, 503 within seconds once it is stopped (ioredis queues
// commands while reconnecting, so an unbounded PING would hang), 200 again once it is back.
// The suite runs its OWN redis-server on a free loopback port: the machine's shared Redis stays up.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import type { Runtime } from '../../../src/main/runtime';
import { startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';
import { parsePrometheusText, sampleValue } from './prom-text';

const schema = freshSchemaName('t_ops_health');
const world = new TestWorld(testDatabaseUrl, `${schema}_world`);
let port = 0;
let redis: ChildProcess | null = null;
let runtime: Runtime | null = null;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** True when something on the port answers PING with PONG. */
function pong(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function startRedis(): Promise<void> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  redis = child;
  child.once('exit', () => {
    if (redis === child) redis = null;
  });
  await waitFor(`redis-server on ${port}`, async () => (await pong()) || undefined, { timeoutMs: 10_000 });
}

async function stopRedis(): Promise<void> {
  const child = redis;
  if (!child) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
  redis = null;
}

interface Health {
  status: number;
  body: { ok: boolean; checks: Record<string, boolean | null> };
  ms: number;
}

async function healthz(): Promise<Health> {
  const started = Date.now();
  const response = await fetch(`http://127.0.0.1:${runtime!.http!.port}/healthz`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as Health['body'];
  return { status: response.status, body, ms: Date.now() - started };
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  await world.setUp();
  runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets: [testTarget('health-db')] },
    schema,
    queueName: freshQueueName('ops-health'),
    redisUrl: `redis://127.0.0.1:${port}/0`,
    httpPort: 0,
    localConsole: false,
    lagSampleIntervalMs: 60_000,
  });
  // The runtime's BullMQ Queue has no 'error' listener: while Redis is away BullMQ prints every
  // connection error with console.error. Keep the test output readable.
  runtime.queue.queue.on('error', () => undefined);
});

afterAll(async () => {
  // Closing the workers needs Redis: bring it back if a failed test left it stopped.
  if (!redis) await startRedis().catch(() => undefined);
  await runtime?.close();
  await stopRedis();
  await world.tearDown();
  await dropSchema(schema);
});

test('healthy, unhealthy within seconds of Redis stopping, healthy again once it is back', async () => {
  const before = await healthz();
  expect(before.status).toBe(200);
  expect(before.body).toEqual({ ok: true, checks: { postgres: true, redis: true, workers: true } });

  await stopRedis();
  const stoppedAt = Date.now();
  const down = await waitFor(
    '/healthz to answer 503',
    async () => {
      const health = await healthz();
      return health.status === 503 ? health : undefined;
    },
    { timeoutMs: 5_000, intervalMs: 100 },
  );
  expect(Date.now() - stoppedAt).toBeLessThan(5_000);
  expect(down.body).toEqual({ ok: false, checks: { postgres: true, redis: false, workers: true } });
  // Every answer while Redis is away is quick: no probe waits for a reconnect.
  for (let i = 0; i < 3; i += 1) {
    const health = await healthz();
    expect(health.status).toBe(503);
    expect(health.ms).toBeLessThan(2_000);
  }
  // A scrape answers too, without the Redis-backed queue depth.
  const scrapeStarted = Date.now();
  const response = await fetch(`http://127.0.0.1:${runtime!.http!.port}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  });
  expect(response.status).toBe(200);
  expect(Date.now() - scrapeStarted).toBeLessThan(3_000);
  const families = parsePrometheusText(await response.text());
  expect(families.get('cutover_queue_jobs')?.samples).toEqual([]);
  expect(sampleValue(families, 'cutover_runs', { state: 'running' })).toBe(0);

  await startRedis();
  const up = await waitFor(
    '/healthz to answer 200 again',
    async () => {
      const health = await healthz();
      return health.status === 200 ? health : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  expect(up.body).toEqual({ ok: true, checks: { postgres: true, redis: true, workers: true } });
});

test('a Redis that stops answering (connected but frozen) is unhealthy within the probe timeout', async () => {
  expect((await healthz()).status).toBe(200);
  redis!.kill('SIGSTOP');
  try {
    // The connection stays open, so only the bounded PING notices: 503 in about a second, not never.
    const frozen = await healthz();
    expect(frozen.status).toBe(503);
    expect(frozen.body.checks).toEqual({ postgres: true, redis: false, workers: true });
    expect(frozen.ms).toBeLessThan(2_500);
  } finally {
    redis!.kill('SIGCONT');
  }
  await waitFor(
    '/healthz to answer 200 after Redis resumed',
    async () => (await healthz()).status === 200 || undefined,
    { timeoutMs: 15_000, intervalMs: 200 },
  );
});
