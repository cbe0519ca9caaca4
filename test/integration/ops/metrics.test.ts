// GET /metrics through the real runtime (PostgreSQL store, BullMQ on Redis, workers): after a run of
// the test strategy the exposition parses as strict Prometheus text and counts what happened; the
// logs hold one structured line per transition with the run id and the step.
import { Writable } from 'node:stream';
import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import pino from 'pino';
import { SlackApiServer } from '../../../src/console/slack-api-server';
import { createRun } from '../../../src/engine/transition';
import type { Plan, Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { Metrics } from '../../../src/metrics/metrics';
import type { LagSample } from '../../../src/ports/run-store';
import { createSlackClient } from '../../../src/slack/notifier';
import { APPROVER, REQUESTER, startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';
import { parsePrometheusText, sampleValue } from './prom-text';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_ops_metrics');
const world = new TestWorld(testDatabaseUrl, `${schema}_world`);
const logLines: Record<string, unknown>[] = [];
let runtime: Runtime;

beforeAll(async () => {
  await world.setUp();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets: [testTarget('metrics-db', { polls: 1 })] },
    schema,
    queueName: freshQueueName('ops-metrics'),
    log: pino({ level: 'info' }, sink),
    httpPort: 0,
    localConsole: false,
    lagSampleIntervalMs: null,
  });
});

afterAll(async () => {
  if (runtime) {
    await runtime.worker?.close();
    await runtime.queue.queue.obliterate({ force: true });
    await runtime.close();
  }
  await world.tearDown();
  await dropSchema(schema);
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states);
}

async function scrape(): Promise<{ response: Response; text: string }> {
  const response = await fetch(`http://127.0.0.1:${runtime.http!.port}/metrics`);
  return { response, text: await response.text() };
}

test('the strict parser refuses what Prometheus would refuse', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n';
  expect(sampleValue(parsePrometheusText(ok), 'a_total', { x: '1' })).toBe(3);
  expect(() => parsePrometheusText('a_total 3\n')).toThrow(/before its TYPE/);
  expect(() => parsePrometheusText('# TYPE a gauge\na{x="1} 3\n')).toThrow(/unterminated/);
  expect(() => parsePrometheusText('# TYPE a gauge\na 3\na 4\n')).toThrow(/duplicate/);
  expect(() => parsePrometheusText('# TYPE a gauge\na three\n')).toThrow(/bad value/);
  expect(() => parsePrometheusText('# TYPE a gauge\na 3')).toThrow(/newline/);
  expect(() =>
    parsePrometheusText(
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    ),
  ).toThrow(/cumulative/);
});

test('after a run, /metrics is Prometheus text counting the run, its steps and its approvals', async () => {
  const target = runtime.findTarget('metrics-db')!;
  const started = await runtime.runs.start({ target, requestedBy: REQUESTER });
  if (!started.ok) throw new Error(started.message);
  const runId = started.run.id;
  await untilState(runId, 'awaiting_approval');

  // While the gate waits, the run is counted as active.
  const during = parsePrometheusText((await scrape()).text);
  expect(sampleValue(during, 'cutover_runs', { state: 'awaiting_approval' })).toBe(1);

  // The requester may not approve their own run: refused. Then the approver does.
  expect((await runtime.runs.approve(runId, 3, 1, REQUESTER)).ok).toBe(false);
  expect((await runtime.runs.approve(runId, 3, 1, APPROVER)).ok).toBe(true);
  await untilState(runId, 'succeeded');

  const { response, text } = await scrape();
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const families = parsePrometheusText(text);

  expect(families.get('cutover_runs_finished_total')?.type).toBe('counter');
  expect(sampleValue(families, 'cutover_runs_finished_total', { state: 'succeeded' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(sampleValue(families, 'cutover_runs_finished_total', { state: 'failed' })).toBe(0);
  expect(sampleValue(families, 'cutover_runs', { state: 'awaiting_approval' })).toBe(0);
  expect(sampleValue(families, 'cutover_runs', { state: 'running' })).toBe(0);

  expect(families.get('cutover_step_duration_seconds')?.type).toBe('histogram');
  for (const step of ['preflight', 'take-lock', 'wait-ready', 'approve', 'switch']) {
    const labels = { strategy: 'test', step, outcome: 'succeeded' };
    expect(sampleValue(families, 'cutover_step_duration_seconds_count', labels)).toBe(1);
    expect(sampleValue(families, 'cutover_step_duration_seconds_sum', labels)).toBeGreaterThanOrEqual(0);
    expect(sampleValue(families, 'cutover_step_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(1);
  }

  expect(sampleValue(families, 'cutover_approvals_total', { outcome: 'accepted' })).toBe(1);
  expect(sampleValue(families, 'cutover_approvals_total', { outcome: 'refused' })).toBe(1);
  expect(sampleValue(families, 'cutover_refusals_total', { kind: 'approve' })).toBe(1);

  // Queue depth comes from BullMQ; every step job has completed (and is kept for a day).
  expect(families.get('cutover_queue_jobs')?.type).toBe('gauge');
  expect(sampleValue(families, 'cutover_queue_jobs', { state: 'completed' })).toBeGreaterThanOrEqual(5);
  expect(sampleValue(families, 'cutover_queue_jobs', { state: 'waiting' })).toBe(0);
  // Process metrics are on the same registry.
  expect(families.has('process_cpu_user_seconds_total')).toBe(true);
  expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);
});

test('one log line per transition, with the run id and the step', async () => {
  const target = runtime.findTarget('metrics-db')!;
  const started = await runtime.runs.start({ target, requestedBy: REQUESTER });
  if (!started.ok) throw new Error(started.message);
  const runId = started.run.id;
  await untilState(runId, 'awaiting_approval');
  await runtime.runs.abort(runId, APPROVER, 'log check');
  await untilState(runId, 'aborted');

  const transitions = (await runtime.store.listAudit(runId)).filter(
    (entry) => entry.type !== 'run_created' && !entry.type.startsWith('refused:'),
  );
  const lines = logLines.filter((line) => line['msg'] === 'run transition' && line['runId'] === runId);
  // (Sorted: two transitions may log in either order after their commits.)
  expect(lines.map((line) => line['event']).sort()).toEqual(transitions.map((entry) => entry.type).sort());
  for (const line of lines) {
    expect(typeof line['step']).toBe('number');
    expect(line['level']).toBe(30);
    expect(typeof line['state']).toBe('string');
  }
  // The abort undid the lock (a compensation): the transitions include it.
  expect(lines.map((line) => line['event'])).toContain('compensation_succeeded');
});

test('Slack Web API calls are counted by method and outcome, 429s as ratelimited', async () => {
  const silent: SlackLogger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    setLevel: () => undefined,
    getLevel: () => LogLevel.ERROR,
    setName: () => undefined,
  };
  const server = await SlackApiServer.start();
  try {
    const metrics = new Metrics({
      store: { listActiveRuns: async () => [], recentLagSamples: async () => [] },
      defaultMetrics: false,
    });
    const client = metrics.instrumentSlackClient(
      createSlackClient(server.botToken, server.url, { logger: silent }),
    );
    server.rateLimit('chat.postMessage', 1);
    await expect(client.chat.postMessage({ channel: 'C0TEST0001', text: 'one' })).rejects.toThrow();
    await client.chat.postMessage({ channel: 'C0TEST0001', text: 'two' });
    server.failNext('chat.update', 'message_not_found');
    await expect(client.chat.update({ channel: 'C0TEST0001', ts: '1.2', text: 'x' })).rejects.toThrow();
    await client.apiCall('auth.test');

    const families = parsePrometheusText(await metrics.text());
    const calls = (method: string, outcome: string) =>
      sampleValue(families, 'cutover_slack_api_calls_total', { method, outcome });
    expect(calls('chat.postMessage', 'ratelimited')).toBe(1);
    expect(calls('chat.postMessage', 'ok')).toBe(1);
    expect(calls('chat.update', 'error')).toBe(1);
    expect(calls('auth.test', 'ok')).toBe(1);
    expect(server.callsTo('chat.postMessage')).toHaveLength(2);
  } finally {
    await server.close();
  }
});

test('lag gauges follow the latest sample of an active run and go when the run ends', async () => {
  const plan: Plan = {
    strategy: 'replica-promotion',
    target: 'orders-db',
    steps: [{ name: 'catch-up', kind: 'wait', title: 'Catch up', executor: 'catch-up' }],
  };
  const run = createRun({
    id: 'run-lag-1',
    plan,
    requestedBy: REQUESTER,
    channel: 'C0TEST0001',
    policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at: '2030-01-01T00:00:00.000Z',
  });
  let active: Run[] = [{ ...run, state: 'running' }];
  let sample: LagSample = { runId: run.id, at: run.createdAt, bytes: 4096, seconds: 1.5 };
  const metrics = new Metrics({
    store: { listActiveRuns: async () => active, recentLagSamples: async () => [sample] },
    defaultMetrics: false,
  });
  const lag = async () => {
    const families = parsePrometheusText(await metrics.text());
    const labels = { run_id: run.id, target: 'orders-db' };
    return {
      bytes: sampleValue(families, 'cutover_replication_lag_bytes', labels),
      seconds: sampleValue(families, 'cutover_replication_lag_seconds', labels),
    };
  };

  metrics.observer.runChanged(run, [], 'lag_sample');
  await waitFor('lag gauges', async () => (await lag()).bytes === 4096 || undefined);
  expect(await lag()).toEqual({ bytes: 4096, seconds: 1.5 });

  sample = { ...sample, bytes: 512, seconds: null };
  metrics.observer.runChanged(run, [], 'lag_sample');
  await waitFor('newer lag sample', async () => (await lag()).bytes === 512 || undefined);
  expect((await lag()).seconds).toBeUndefined();

  // The run ends (here: seen by this process): its series go at once.
  metrics.observer.runChanged(
    { ...run, state: 'succeeded' },
    [{ type: 'run_finished', state: 'succeeded', outcome: null }],
    'step_succeeded',
  );
  expect(await lag()).toEqual({ bytes: undefined, seconds: undefined });

  // A run that ended in another process: its series go at the next scrape.
  const other = { ...run, id: 'run-lag-2' };
  active = [{ ...other, state: 'running' }];
  sample = { ...sample, runId: other.id, bytes: 100, seconds: 2 };
  metrics.observer.runChanged(other, [], 'lag_sample');
  await waitFor('lag of the second run', async () => {
    const families = parsePrometheusText(await metrics.text());
    return sampleValue(families, 'cutover_replication_lag_bytes', { run_id: other.id }) === 100 || undefined;
  });
  active = [];
  const families = parsePrometheusText(await metrics.text());
  expect(families.get('cutover_replication_lag_bytes')?.samples).toEqual([]);
  expect(families.get('cutover_replication_lag_seconds')?.samples).toEqual([]);
});
