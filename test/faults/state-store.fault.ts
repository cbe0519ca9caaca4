// The bot's own state store (a private PostgreSQL cluster, never the machine's) is stopped with
// `pg_ctl -m immediate` while a replica promotion waits for the standby to catch up, right before
// the irreversible promote. While it is down no step can record its intent (step_started), so no
// new executor may touch the databases: no promote, and no call at all once the attempt already in
// flight is over. Fence, catch-up and promote are one step (fence-and-promote, re-run while the
// standby is behind), so an attempt that recorded its start just before the store went down may
// re-fence (idempotent) and would promote if the standby caught up: the standby's replay stays
// paused until that attempt is over (no port call for QUIET_MS), then resumes, and from then on
// nothing may touch the databases until the store is back. Then the run continues and completes.
//
// The bot's worker runs in a child process, as in production, and the test supervises it the way a
// process manager would: if it died while its store was away it is started again (and counted).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Run } from '../../src/engine/types';
import type { Runtime } from '../../src/main/runtime';
import { exited, spawnWorker } from '../support/runtimes/child-worker';
import { stopRuntimeAndClean } from '../support/runtimes/harness';
import { freshSchemaName, testDatabaseUrl } from '../support/services/pg';
import {
  startPgCluster,
  startPgPair,
  startWriter,
  type PgCluster,
  type PgPair,
} from '../support/services/pg-pair';
import { freshQueueName } from '../support/services/redis';
import { untilRunState } from '../support/runtimes/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import {
  approveGate,
  FENCE_AND_PROMOTE,
  promotionYaml,
  startPromotionRuntime,
  startRun,
} from './support/promotion-runtime';
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
/**
 * An attempt of fence-and-promote already running when the store went down may finish (it polls
 * the standby every ms for up to 1 s): it is over once the worker made no port call for this long.
 */
const QUIET_MS = 1_000;
/** How long the store stays down once the in-flight attempt is over and replay has resumed. */
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

/** Fenced and waiting for the standby: fence-and-promote re-run after 'catching up'. */
function catchUp(run: Run | null): { fenced: boolean; attempt: number } {
  const step = run?.steps[FENCE_AND_PROMOTE];
  const waiting = step?.state === 'queued' || step?.state === 'running';
  return { fenced: waiting && step?.output?.['phase'] === 'catching up', attempt: step?.attempt ?? 0 };
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
      // The attempt in flight (if any) ends with replay still paused: it cannot catch up, so it
      // cannot promote; it can only ask for a re-run that it cannot record.
      const quietAt = await waitFor(
        'the attempt in flight to be over (no port call for a while)',
        async () => {
          const calls = await ledger.callsBetween(stopping, Date.now());
          const lastCall = Math.max(stopped, ...calls.map((call) => call.at));
          return Date.now() - lastCall >= QUIET_MS ? Date.now() : false;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      // From here a step that could run would catch up and promote at once.
      await pair.resumeReplay();
      await new Promise((resolve) => setTimeout(resolve, DOWNTIME_MS));
      const restarting = Date.now();

      const whileDown = await ledger.callsBetween(stopping, restarting);
      const irreversible = whileDown.filter((call) =>
        ['promote', 'verifyPromoted', 'unfence'].includes(call.method),
      );
      const count = (method: string) => whileDown.filter((call) => call.method === method).length;
      const late = whileDown.filter((call) => call.at >= quietAt);
      const standbyWhileDown = await real.describe(pair.standbyUrl);
      fault.note =
        `port calls while down: ${whileDown.length} by the attempt in flight (fence ${count('fence')}); ` +
        `after it, with replay resumed: ${late.length}`;
      expect(irreversible).toEqual([]);
      // At most the one attempt that had recorded its start: its idempotent re-fence, once.
      expect(count('fence')).toBeLessThanOrEqual(1);
      expect(count('describe')).toBeLessThanOrEqual(2);
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
