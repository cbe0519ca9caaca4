// The bot's own state store (a private PostgreSQL cluster, never the machine's) is stopped with
// `pg_ctl -m immediate` while a replica promotion waits for the standby to catch up, right before
// the irreversible promote. While it is down no step can record its intent (step_started), so no
// new executor may touch the databases: no promote, no calls at all once the executor already in
// flight has had its second. When the store is back, the run continues and completes.
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Run } from '../../src/engine/types';
import type { Runtime } from '../../src/main/runtime';
import { stopRuntimeAndClean } from '../support/harness';
import { freshSchemaName } from '../support/pg';
import { startPgCluster, startPgPair, startWriter, type PgCluster, type PgPair } from '../support/pg-pair';
import { freshQueueName } from '../support/redis';
import { untilRunState } from '../support/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import { approveGate, promotionYaml, startPromotionRuntime, startRun } from './support/promotion-runtime';
import { missingRows, ReplicationProbe } from './support/replication-probe';

const SUITE = 'state store down';
const schema = freshSchemaName('f_store');
const env: NodeJS.ProcessEnv = {};
const probe = new ReplicationProbe();
const real = new PgReplication();
/** The catch-up executor polls inline for up to 1 s; one already running when the store went down may finish. */
const IN_FLIGHT_GRACE_MS = 1_500;
const DOWNTIME_MS = 4_000;
let store: PgCluster;
let pair: PgPair;
let runtime: Runtime;

beforeAll(async () => {
  [store, pair] = await Promise.all([startPgCluster(), startPgPair()]);
  env['STORE_PRIMARY'] = pair.primaryUrl;
  env['STORE_STANDBY'] = pair.standbyUrl;
  runtime = await startPromotionRuntime({
    // Lag limits out of the way: paused replay holds the run in catch-up, not at the lag checks.
    yaml: promotionYaml([{ name: 'store-db', envPrefix: 'STORE', maxLag: '{ bytes: 1GB, seconds: 3600 }' }]),
    env,
    replication: probe,
    schema,
    queueName: freshQueueName('f-store'),
    databaseUrl: store.url,
  });
}, 60_000);

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  await Promise.all([store.destroy(), pair.destroy()]);
});

function catchUp(run: Run | null): { fenced: boolean; attempt: number } {
  return { fenced: run?.steps[4]?.state === 'succeeded', attempt: run?.steps[5]?.attempt ?? 0 };
}

faultTest(
  SUITE,
  'bot store (private PostgreSQL) stopped during catch-up, before promote',
  async (fault) => {
    const writer = await startWriter(pair.primaryUrl, 'orders');
    try {
      await waitFor('writes flowing', async () => writer.acknowledged.length > 10);
      const runId = await startRun(runtime, 'store-db');
      await untilRunState(runtime.store, runId, ['awaiting_approval']);
      // Replay paused: after the fence, catch-up cannot finish, so the run waits right before promote.
      await pair.pauseReplay();
      await approveGate(runtime, runId);
      await waitFor('catch-up polling', async () => {
        const seen = catchUp(await runtime.store.getRun(runId));
        return seen.fenced && seen.attempt >= 3;
      });

      const stopping = Date.now();
      await store.stop('immediate');
      const stopped = Date.now();
      fault.faultsInjected++;
      // From here a step that could run would catch up and promote at once.
      await pair.resumeReplay();
      await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));
      const restarting = Date.now();

      const irreversible = probe
        .callsBetween(stopping, restarting)
        .filter((call) => ['fence', 'promote', 'verifyPromoted', 'unfence'].includes(call.method));
      const late = probe.callsBetween(stopped + IN_FLIGHT_GRACE_MS, restarting);
      const standbyWhileDown = await real.describe(pair.standbyUrl);
      fault.note = `port calls while down: ${probe.callsBetween(stopping, restarting).length} (after grace: ${late.length})`;
      expect(irreversible).toEqual([]);
      expect(late).toEqual([]);
      expect(standbyWhileDown.inRecovery).toBe(true);

      await store.start();
      const done = await untilRunState(runtime.store, runId, ['succeeded', 'failed', 'aborted'], 60_000);
      fault.runsCompleted++;
      await writer.stop();

      const lost = await missingRows(pair.standbyUrl, 'orders', writer.acknowledged);
      const promotes = probe.promotesOf(pair.standbyUrl);
      const promoted = await real.verifyPromoted(pair.standbyUrl);
      fault.ackedWritesLost = lost.length;
      fault.irreversibleTwice = Math.max(0, promotes - 1) + Math.max(0, promoted.timeline - 2);
      fault.note += `; ${writer.acknowledged.length} acked writes; pg_promote calls ${promotes}; timeline ${promoted.timeline}`;

      expect(done.state).toBe('succeeded');
      expect(lost).toEqual([]);
      expect(promotes).toBe(1);
      expect(promoted).toEqual({ inRecovery: false, timeline: 2, acceptsWrites: true });
    } finally {
      await writer.stop();
    }
  },
  90_000,
);
