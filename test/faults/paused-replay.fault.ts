// The standby's replay is paused right after the approval (writes keep arriving until the fence):
// the standby cannot reach the fenced primary's final WAL position, so fence-and-promote (re-run
// while it waits for catch-up) stops for a person after catchUpTimeout and nothing is promoted.
// Aborting unfences the old primary, which keeps every acknowledged write.
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Runtime } from '../../src/main/runtime';
import { stopRuntimeAndClean } from '../support/runtimes/harness';
import { freshSchemaName } from '../support/services/pg';
import { startPgPair, startWriter, type PgPair } from '../support/services/pg-pair';
import { freshQueueName } from '../support/services/redis';
import { untilRunState } from '../support/runtimes/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import {
  APPROVER,
  approveGate,
  FENCE_AND_PROMOTE,
  promotionYaml,
  startPromotionRuntime,
  startRun,
} from './support/promotion-runtime';
import { missingRows, ReplicationProbe } from './support/replication-probe';

const SUITE = 'paused replay';
const schema = freshSchemaName('f_paused');
const env: NodeJS.ProcessEnv = {};
const probe = new ReplicationProbe();
const real = new PgReplication();
let pair: PgPair;
let runtime: Runtime;

beforeAll(async () => {
  pair = await startPgPair();
  env['PAUSED_PRIMARY'] = pair.primaryUrl;
  env['PAUSED_STANDBY'] = pair.standbyUrl;
  runtime = await startPromotionRuntime({
    yaml: promotionYaml([{ name: 'paused-db', envPrefix: 'PAUSED', catchUpTimeout: '2s' }]),
    env,
    replication: probe,
    schema,
    queueName: freshQueueName('f-paused'),
  });
}, 60_000);

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  await pair.destroy();
});

faultTest(
  SUITE,
  "standby's replay paused right after approval: no promotion",
  async (fault) => {
    const writer = await startWriter(pair.primaryUrl, 'orders');
    try {
      await waitFor('writes flowing', async () => writer.acknowledged.length > 10);
      const runId = await startRun(runtime, 'paused-db');
      await untilRunState(runtime.store, runId, ['awaiting_approval']);

      // The fence waits until the pause (issued right after the approval) holds and more writes
      // arrived, so the standby is certainly behind the fenced primary's final position.
      let paused: () => void = () => undefined;
      const pausedNow = new Promise<void>((resolve) => (paused = resolve));
      probe.before.fence = async () => {
        delete probe.before.fence;
        await pausedNow;
        const seen = writer.acknowledged.length;
        await waitFor('writes after the pause', async () => writer.acknowledged.length >= seen + 20);
      };
      await approveGate(runtime, runId);
      await pair.pauseReplay();
      paused();
      fault.faultsInjected++;

      const stopped = await waitFor(
        'fence-and-promote to stop for a person',
        async () => {
          const run = await runtime.store.getRun(runId);
          return run?.steps[FENCE_AND_PROMOTE]?.gate?.reason === 'needs_human' ? run : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect(stopped.state).toBe('awaiting_approval');
      expect(stopped.steps[FENCE_AND_PROMOTE]?.gate?.message).toMatch(/not promoting/);
      expect(stopped.steps[FENCE_AND_PROMOTE]?.gate?.message).toMatch(/has not replayed/);
      expect((await real.describe(pair.standbyUrl)).inRecovery).toBe(true);

      await runtime.runs.abort(runId, APPROVER, 'replay is paused');
      const done = await untilRunState(runtime.store, runId, ['succeeded', 'failed', 'aborted'], 30_000);
      fault.runsCompleted++;
      await writer.stop();

      const promotes = probe.promotesOf(pair.standbyUrl);
      const standby = await real.describe(pair.standbyUrl);
      // Nothing moved: the acknowledged writes must all still be on the (unfenced) old primary.
      const lost = await missingRows(pair.primaryUrl, 'orders', writer.acknowledged);
      fault.ackedWritesLost = lost.length;
      fault.irreversibleTwice = Math.max(0, promotes - 1);
      fault.note = `${writer.acknowledged.length} acked writes; pg_promote calls ${promotes}; standby timeline ${standby.timeline}`;

      expect(promotes).toBe(0);
      expect(standby).toMatchObject({ inRecovery: true, timeline: 1 });
      expect(done.state).toBe('aborted');
      expect(done.steps[FENCE_AND_PROMOTE]?.state).toBe('compensated');
      expect(await real.verifyFenced(pair.primaryUrl)).toBe(false);
      expect(lost).toEqual([]);
    } finally {
      delete probe.before.fence;
      await writer.stop();
      await pair.resumeReplay();
    }
  },
  90_000,
);
