// /metrics when the bot's port is exposed: behind a bearer token (METRICS_TOKEN), or only on a
// listener of its own (METRICS_LISTEN), which a worker serves too. Through the real runtime.
import type { AppConfig, Role } from '../../../src/config/types';
import type { Runtime } from '../../../src/main/runtime';
import { startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { parsePrometheusText } from './prom-text';

const TOKEN = 'scrape-token-0123456789';
const schema = freshSchemaName('t_ops_mprot');
const world = new TestWorld(testDatabaseUrl, `${schema}_world`);
const queueName = freshQueueName('ops-mprot');
const runtimes: Runtime[] = [];

async function start(role: Role, metrics: AppConfig['metrics']): Promise<Runtime> {
  const runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets: [testTarget('metrics-db')] },
    schema,
    queueName,
    role,
    config: { metrics },
    httpPort: role === 'worker' ? null : 0,
    reconcileIntervalMs: null,
    lagSampleIntervalMs: null,
  });
  runtimes.push(runtime);
  return runtime;
}

beforeAll(async () => {
  await world.setUp();
});

afterAll(async () => {
  for (const runtime of runtimes) await runtime.close();
  await world.tearDown();
  await dropSchema(schema);
});

const get = (port: number, path: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}${path}`, { headers });

test('METRICS_TOKEN: a scrape without the bearer token gets 401; with it, the metrics', async () => {
  const runtime = await start('web', { token: TOKEN, listen: null });
  const port = runtime.http!.port;
  const refused = await get(port, '/metrics');
  expect(refused.status).toBe(401);
  expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
  expect(await refused.text()).not.toContain('cutover_');
  expect((await get(port, '/metrics', { authorization: 'Bearer not-the-token' })).status).toBe(401);
  expect((await get(port, '/metrics', { authorization: `Basic ${TOKEN}` })).status).toBe(401);
  const allowed = await get(port, '/metrics', { authorization: `Bearer ${TOKEN}` });
  expect(allowed.status).toBe(200);
  expect(parsePrometheusText(await allowed.text()).has('cutover_runs')).toBe(true);
  // Health checks stay open: load balancers ask without credentials.
  expect((await get(port, '/healthz')).status).toBe(200);
});

test('METRICS_LISTEN: /metrics moves to its own listener; PORT no longer serves it', async () => {
  const runtime = await start('all', { token: null, listen: { host: '127.0.0.1', port: 0 } });
  const listener = runtime.metricsHttp!;
  expect(listener.server.address()).toMatchObject({ address: '127.0.0.1' });
  expect((await get(runtime.http!.port, '/metrics')).status).toBe(404);
  const scraped = await get(listener.port, '/metrics');
  expect(scraped.status).toBe(200);
  expect(await scraped.text()).toContain('cutover_runs');
  expect((await get(listener.port, '/healthz')).status).toBe(404);
  expect((await get(listener.port, '/')).status).toBe(404);
});

test('METRICS_LISTEN with a token, in a worker (which has no other HTTP port)', async () => {
  const runtime = await start('worker', { token: TOKEN, listen: { host: '127.0.0.1', port: 0 } });
  expect(runtime.http).toBeNull();
  const port = runtime.metricsHttp!.port;
  expect((await get(port, '/metrics')).status).toBe(401);
  const scraped = await get(port, '/metrics', { authorization: `Bearer ${TOKEN}` });
  expect(scraped.status).toBe(200);
  expect(await scraped.text()).toContain('cutover_queue_jobs');
});
