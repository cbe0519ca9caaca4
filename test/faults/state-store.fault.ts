// The bot's own state store (a private PostgreSQL cluster, never the machine's) is stopped with
// `pg_ctl -m immediate` while a replica promotion waits for the standby to catch up, right before
// the irreversible promote. While it is down no step can record its intent (step_started), so no
// new executor may touch the databases: no promote, and no call at all once the executor already in
// flight has had its second. When the store is back the run continues and completes.
//
// The bot's worker runs in a child process, as in production, and the test supervises it the way a
// process manager would: if it died while its store was away it is started again (and counted).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Run } from '../../src/engine/types';
import type { Runtime } from '../../src/main/runtime';
import { exited, spawnWorker } from '../support/child-worker';
import { stopRuntimeAndClean } from '../support/harness';
import { freshSchemaName, testDatabaseUrl } from '../support/pg';
import { startPgCluster, startPgPair, startWriter, type PgCluster, type PgPair } from '../support/pg-pair';
import { freshQueueName } from '../support/redis';
import { untilRunState } from '../support/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import { approveGate, promotionYaml, startPromotionRuntime, startRun } from './support/promotion-runtime';
import { checkPromotion, PromoteLedger, ReplicationProbe } from './support/replication-probe';

const SUITE = 'state store down';
const schema = freshSchemaName('f_store');
const queueName = freshQueueName('f-store');
const ledger = new PromoteLedger(testDatabaseUrl, `${schema}_calls`);
// Lag limits out of the way: paused replay holds the run in catch-up, not at the lag checks.
const yaml = promotionYaml([
  { name: 'store-db', envPrefix: 'STORE', maxLag: '{ bytes: 1GB, seconds: 3600 }' },
]);
const env: NodeJS.ProcessEnv = {};
const real = new PgReplication();
/** The catch-up executor polls inline for up to 1 s; one already running when the store went down may finish. */
const IN_FLIGHT_GRACE_MS = 1_500;
const DOWNTIME_MS = 4_000;
const workerScript = path.join(__dirname, 'support/boundary-worker-main.ts');
const children: ChildProcess[] = [];
let store: PgCluster;
let pair: PgPair;
/** This process's side (start, approve, read): closed while the store is down. */
let web: Runtime | null = null;

function openWeb(): Promise<Runtime> {
  return startPromotionRuntime({
    yaml,
    env,
    replication: new ReplicationProbe(),
    schema,
    queueName,
    role: 'web',
    databaseUrl: store.url,
  });
}

async function spawnBot(): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = await spawnWorker(workerScript, {
    FAULT_TARGET_ENV: JSON.stringify(env),
    FAULT_TARGETS_YAML: yaml,
    FAULT_SCHEMA: schema,
    FAULT_QUEUE: queueName,
    FAULT_LEDGER: ledger.table,
    FAULT_LEDGER_ALL: '1',
    FAULT_DATABASE_URL: store.url,
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

beforeAll(async () => {
  [store, pair] = await Promise.all([startPgCluster(), startPgPair()]);
  env['STORE_PRIMARY'] = pair.primaryUrl;
  env['STORE_STANDBY'] = pair.standbyUrl;
  await ledger.setUp();
  web = await openWeb();
}, 60_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  if (web) await stopRuntimeAndClean(web, schema);
  await ledger.tearDown();
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
      let bot = await spawnBot();
      await waitFor('writes flowing', async () => writer.acknowledged.length > 10);
      let side = web!;
      const runId = await startRun(side, 'store-db');
      await untilRunState(side.store, runId, ['awaiting_approval']);
      // Replay paused: after the fence, catch-up cannot finish, so the run waits right before promote.
      await pair.pauseReplay();
      await approveGate(side, runId);
      await waitFor('catch-up polling', async () => {
        const seen = catchUp(await side.store.getRun(runId));
        return seen.fenced && seen.attempt >= 3;
      });
      await side.close();
      web = null;

      const stopping = Date.now();
      await store.stop('immediate');
      const stopped = Date.now();
      fault.faultsInjected++;
      // From here a step that could run would catch up and promote at once.
      await pair.resumeReplay();
      await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));
      const restarting = Date.now();

      const whileDown = await ledger.callsBetween(stopping, restarting);
      const irreversible = whileDown.filter((call) =>
        ['fence', 'promote', 'verifyPromoted', 'unfence'].includes(call.method),
      );
      const late = whileDown.filter((call) => call.at >= stopped + IN_FLIGHT_GRACE_MS);
      const standbyWhileDown = await real.describe(pair.standbyUrl);
      fault.note = `port calls while down: ${whileDown.length} (after ${IN_FLIGHT_GRACE_MS} ms grace: ${late.length})`;
      expect(irreversible).toEqual([]);
      expect(late).toEqual([]);
      expect(standbyWhileDown.inRecovery).toBe(true);

      await store.start();
      side = web = await openWeb();
      const crashes: string[] = [];
      const done = await waitFor(
        'the run to finish',
        async () => {
          if (bot.child.exitCode !== null || bot.child.signalCode !== null) {
            crashes.push(
              /\w*Error[^\n]*/.exec(bot.stderr())?.[0] ??
                `exit ${bot.child.exitCode ?? bot.child.signalCode}`,
            );
            bot = await spawnBot();
          }
          const run = await side.store.getRun(runId);
          return run && ['succeeded', 'failed', 'aborted'].includes(run.state) ? run : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      fault.runsCompleted++;
      await writer.stop();

      fault.note += `; bot restarts after dying with its store: ${crashes.length}${crashes.length ? ` (${crashes.join('; ')})` : ''}`;
      await checkPromotion(fault, pair.standbyUrl, writer.acknowledged, await ledger.count(pair.standbyUrl));
      expect(done.state).toBe('succeeded');
    } finally {
      await writer.stop();
    }
  },
  90_000,
);
