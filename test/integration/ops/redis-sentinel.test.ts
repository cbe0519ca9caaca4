// REDIS_URL naming Redis Sentinels: the real runtime (store, BullMQ, workers) runs a cutover while
// the Redis primary goes away mid-run; the Sentinels promote the replica, ioredis follows them, and
// the run goes on and finishes, its irreversible step done once.
import IORedis from 'ioredis';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { APPROVER, REQUESTER, startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { startSentinelSet, type SentinelSet } from '../../support/services/redis-sentinel';
import { untilRunState } from '../../support/runtimes/run-state';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';

const schema = freshSchemaName('t_sentinel');
const queueName = freshQueueName('sentinel');
const world = new TestWorld(testDatabaseUrl, `${schema}_world`);
// The wait step polls for a few seconds: long enough for the primary to go in the middle of it.
const target = testTarget('sentinel-db', { polls: 60, pollMs: 100 });
let sentinels: SentinelSet;
let runtime: Runtime;

beforeAll(async () => {
  sentinels = await startSentinelSet();
  await world.setUp();
  runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets: [target] },
    schema,
    queueName,
    redisUrl: sentinels.url,
    // A job whose completion was lost with the old primary runs again within seconds.
    lockDurationMs: 2_000,
    stalledIntervalMs: 1_000,
    reconcileIntervalMs: 1_000,
    lagSampleIntervalMs: null,
  });
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await sentinels?.stop();
  await world.tearDown();
  await dropSchema(schema);
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states, 60_000);
}

test('the Redis primary fails over during a run: the run finishes, its switch done once', async () => {
  const before = sentinels.primary.port;
  expect(await sentinels.primaryPort()).toBe(before);
  const started = await runtime.runs.start({ target, requestedBy: REQUESTER });
  if (!started.ok) throw new Error(started.message);
  const runId = started.run.id;
  await waitFor('the wait step polling', async () => {
    const run = await runtime.store.getRun(runId);
    return (run?.steps[2]?.attempt ?? 0) >= 3;
  });

  await sentinels.primary.stop();
  await waitFor(
    'the Sentinels to promote the replica',
    async () => (await sentinels.primaryPort()) !== before,
    {
      timeoutMs: 30_000,
    },
  );
  expect(await sentinels.primaryPort()).toBe(sentinels.replica.port);

  // The polls go on against the new primary, up to the gate; the approval's job runs there too.
  const atGate = await untilState(runId, 'awaiting_approval', 'failed', 'aborted').catch(
    async (error: unknown) => {
      // What the queue and the worker say, so that a failure here names its cause.
      const run = await runtime.store.getRun(runId);
      const step = run?.steps[run.currentStep];
      const job = { runId, step: step?.index ?? 0, attempt: step?.attempt ?? 0, mode: 'execute' as const };
      const status = await Promise.race([
        runtime.queue
          .status(job)
          .catch((statusError: unknown) => `unknown (${(statusError as Error).message})`),
        new Promise((resolve) => setTimeout(() => resolve('no answer in 2 s'), 2_000)),
      ]);
      throw new Error(
        `${(error as Error).message}; its job: ${String(status)}; worker running ${String(runtime.worker?.isRunning())}, ` +
          `closing ${String(runtime.worker?.closing !== undefined)}; Redis connection ${runtime.redis.status}`,
      );
    },
  );
  expect(atGate.state).toBe('awaiting_approval');
  expect((await runtime.runs.approve(runId, 3, 1, APPROVER)).ok).toBe(true);
  const done = await untilState(runId, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  expect((await world.effects(runId)).filter((effect) => effect === 'switch')).toHaveLength(1);

  // The queue lives on the promoted server now.
  const promoted = new IORedis({ port: sentinels.replica.port, host: '127.0.0.1', lazyConnect: true });
  try {
    await promoted.connect();
    expect((await promoted.call('ROLE')) as unknown[]).toContain('master');
    expect(await promoted.exists(`bull:${queueName}:meta`)).toBe(1);
  } finally {
    promoted.disconnect();
  }
}, 120_000);
