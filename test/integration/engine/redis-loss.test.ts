// Redis is only the transport: after FLUSHALL of the queue's Redis database in the middle of a
// waiting run, the reconciler rebuilds the missing job from PostgreSQL and the run completes.
import IORedis from 'ioredis';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName, testRedisUrl } from '../../support/services/redis';
import {
  APPROVER,
  REQUESTER,
  startTestRuntime,
  stopTestRuntime,
  testTarget,
} from '../../support/runtimes/harness';
import type { TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';
import { untilRunState } from '../../support/runtimes/run-state';

// Its own Redis database, so flushing it cannot touch suites running alongside.
const REDIS_DB = 7;
const schema = freshSchemaName('t_redisloss');
let runtime: Runtime;
let world: TestWorld;
const redis = new IORedis(testRedisUrl(REDIS_DB));

beforeAll(async () => {
  ({ runtime, world } = await startTestRuntime({
    schema,
    queueName: freshQueueName('redisloss'),
    redisDb: REDIS_DB,
    reconcileIntervalMs: 300,
    targets: [testTarget('slow-wait', { polls: 8, pollMs: 250 })],
  }));
});

afterAll(async () => {
  await stopTestRuntime(runtime, world, schema);
  redis.disconnect();
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states);
}

test('FLUSHDB while a wait step is polling: the reconciler restores the job and the run completes', async () => {
  const outcome = await runtime.runs.start({
    target: runtime.findTarget('slow-wait')!,
    requestedBy: REQUESTER,
  });
  if (!outcome.ok) throw new Error(outcome.message);
  const runId = outcome.run.id;
  await waitFor('second poll', async () => (await world.has(runId, 'poll-1')) || undefined);

  // DBSIZE in the same MULTI: the worker and the reconciler write keys again right after the flush.
  const [flushed, size] = (await redis.multi().flushdb().dbsize().exec()) ?? [];
  expect(flushed).toEqual([null, 'OK']);
  expect(size).toEqual([null, 0]);

  const atGate = await untilState(runId, 'awaiting_approval');
  expect(atGate.steps[2]?.output).toEqual({ polls: 8 });
  await runtime.runs.approve(runId, 3, 1, APPROVER);
  const done = await untilState(runId, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  // Every poll ran; none was lost with the flushed delayed job.
  const polls = (await world.effects(runId)).filter((effect) => effect.startsWith('poll-'));
  expect(new Set(polls).size).toBe(9);
});
