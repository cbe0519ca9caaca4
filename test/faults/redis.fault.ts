// Redis is only the transport. A private redis-server is restarted (no persistence: every job is
// gone) or FLUSHALLed while a replica promotion polls its lag step; the reconciler rebuilds the job
// from PostgreSQL, and the run completes with every acknowledged write on the new primary and one
// promotion.
import IORedis from 'ioredis';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Run } from '../../src/engine/types';
import type { Runtime } from '../../src/main/runtime';
import { stopRuntimeAndClean } from '../support/runtimes/harness';
import { freshSchemaName } from '../support/services/pg';
import { startPgPair, startWriter, type PgPair } from '../support/services/pg-pair';
import { freshQueueName } from '../support/services/redis';
import { startPrivateRedis, type PrivateRedis } from '../support/services/redis-server';
import { untilRunState } from '../support/runtimes/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest, type FaultCase } from './support/fault-report';
import { approveGate, promotionYaml, startPromotionRuntime, startRun } from './support/promotion-runtime';
import { checkPromotion, ReplicationProbe } from './support/replication-probe';

const SUITE = 'redis loss';
const schema = freshSchemaName('f_redis');
const env: NodeJS.ProcessEnv = { REDIS_PRIMARY: 'postgres://unset', REDIS_STANDBY: 'postgres://unset' };
const probe = new ReplicationProbe();
const real = new PgReplication();
let redis: PrivateRedis;
let runtime: Runtime;

beforeAll(async () => {
  redis = await startPrivateRedis();
  runtime = await startPromotionRuntime({
    yaml: promotionYaml([{ name: 'redis-db', envPrefix: 'REDIS', maxLag: '{ bytes: 64kB, seconds: 30 }' }]),
    env,
    replication: probe,
    schema,
    queueName: freshQueueName('f-redis'),
    redisUrl: redis.url,
  });
});

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  await redis.stop();
});

function lagAttempt(run: Run | null): number {
  return run?.steps[1]?.attempt ?? 0;
}

/**
 * A cutover held at its lag step (replay paused under writes), `inject` applied while it polls, then
 * let through: it must poll again (the job was rebuilt), reach the gate and finish.
 */
async function cutoverThrough(fault: FaultCase, inject: () => Promise<void>): Promise<void> {
  let pair: PgPair | null = null;
  try {
    pair = await startPgPair();
    const { primaryUrl, standbyUrl } = pair;
    env['REDIS_PRIMARY'] = primaryUrl;
    env['REDIS_STANDBY'] = standbyUrl;
    const writer = await startWriter(primaryUrl, 'orders');
    try {
      await pair.pauseReplay();
      await waitFor(
        'lag over the limit',
        async () => ((await real.lag(primaryUrl, standbyUrl)).bytes ?? 0) > 64 * 1024,
      );
      const runId = await startRun(runtime, 'redis-db');
      await waitFor('the lag step polling', async () => lagAttempt(await runtime.store.getRun(runId)) >= 3);

      await inject();
      fault.faultsInjected++;
      const attempt = lagAttempt(await runtime.store.getRun(runId));
      // Polls again: the job lost with Redis's data was queued again from the store.
      await waitFor(
        'polling after the fault',
        async () => lagAttempt(await runtime.store.getRun(runId)) >= attempt + 2,
      );
      expect((await runtime.store.getRun(runId))?.state).toBe('running');

      await pair.resumeReplay();
      await untilRunState(runtime.store, runId, ['awaiting_approval']);
      await approveGate(runtime, runId);
      const done = await untilRunState(runtime.store, runId, ['succeeded', 'failed', 'aborted'], 60_000);
      fault.runsCompleted++;
      await writer.stop();

      await checkPromotion(fault, standbyUrl, writer.acknowledged, probe.promotesOf(standbyUrl));
      expect(done.state).toBe('succeeded');
    } finally {
      await writer.stop();
    }
  } finally {
    await pair?.destroy();
  }
}

faultTest(
  SUITE,
  'Redis restarted (all jobs gone) while the lag step polls',
  (fault) =>
    cutoverThrough(fault, async () => {
      const port = redis.port;
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
      redis = await startPrivateRedis([], port);
    }),
  90_000,
);

faultTest(
  SUITE,
  'FLUSHALL while the lag step polls',
  (fault) =>
    cutoverThrough(fault, async () => {
      const client = new IORedis(redis.url);
      try {
        // DBSIZE in the same MULTI: the running bot writes keys again right after the flush.
        const [flushed, size] = (await client.multi().flushall().dbsize().exec()) ?? [];
        expect(flushed).toEqual([null, 'OK']);
        expect(size).toEqual([null, 0]);
      } finally {
        client.disconnect();
      }
    }),
  90_000,
);
