// SIGKILL of the worker at every step boundary of a replica promotion, one run (and one fresh
// PostgreSQL pair) per boundary: the worker dies right after a step's executor returned, before
// its result is stored. Then kills inside the critical section, the fence-and-promote step, at
// every phase: right after the fence, after the seal, right before pg_promote (requested and
// recorded, not called), after pg_promote, after the logins came back on the new primary, and
// after a catch-up re-run's check of the fence. Each time a second worker must finish the run with
// every acknowledged write on the new primary and exactly one pg_promote (ledger rows written
// before each call; timeline 2), and the old primary never took writes again.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Run } from '../../src/engine/types';
import type { Runtime } from '../../src/main/runtime';
import { exited, spawnWorker } from '../support/runtimes/child-worker';
import { stopRuntimeAndClean } from '../support/runtimes/harness';
import { freshSchemaName, testDatabaseUrl } from '../support/services/pg';
import { Client } from 'pg';
import { WRITER_ROLE } from '../../src/demo/pg-cluster';
import { startPgPair, startWriter, type PgPair } from '../support/services/pg-pair';
import { freshQueueName } from '../support/services/redis';
import { untilRunState } from '../support/runtimes/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest, type FaultCase } from './support/fault-report';
import {
  approveGate,
  FENCE_AND_PROMOTE,
  GATE_STEP,
  PROMOTION_STEPS,
  promotionYaml,
  startPromotionRuntime,
  startRun,
} from './support/promotion-runtime';
import {
  checkPromotion,
  PromoteLedger,
  ReplicationProbe,
  type ReplicationMethod,
} from './support/replication-probe';

const SUITE = 'sigkill at step boundaries';
const schema = freshSchemaName('f_kill');
const queueName = freshQueueName('f-kill');
const ledger = new PromoteLedger(testDatabaseUrl, `${schema}_promotes`);
const yaml = promotionYaml([{ name: 'kill-db', envPrefix: 'KILL' }]);
const env: NodeJS.ProcessEnv = { KILL_PRIMARY: 'postgres://unset', KILL_STANDBY: 'postgres://unset' };
const workerScript = path.join(__dirname, 'support/boundary-worker-main.ts');
const children: ChildProcess[] = [];
const real = new PgReplication();
let web: Runtime;

beforeAll(async () => {
  await ledger.setUp();
  // This process only starts and approves runs; the workers are children it kills.
  web = await startPromotionRuntime({
    yaml,
    env,
    replication: new ReplicationProbe(),
    schema,
    queueName,
    role: 'web',
  });
});

afterAll(async () => {
  await stopChildren();
  await stopRuntimeAndClean(web, schema);
  await ledger.tearDown();
});

async function stopChildren(): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
}

/** Where the first worker kills itself: at a step boundary, or inside fence-and-promote. */
type KillPoint =
  | { afterStep: string }
  | { afterCall: ReplicationMethod; nth?: number }
  | { beforeCall: ReplicationMethod; nth?: number };

async function worker(kill: KillPoint | null): Promise<ChildProcess> {
  const child = await spawnWorker(workerScript, {
    FAULT_TARGET_ENV: JSON.stringify({
      KILL_PRIMARY: env['KILL_PRIMARY'],
      KILL_STANDBY: env['KILL_STANDBY'],
    }),
    FAULT_TARGETS_YAML: yaml,
    FAULT_SCHEMA: schema,
    FAULT_QUEUE: queueName,
    FAULT_LEDGER: ledger.table,
    FAULT_KILL_AFTER: kill && 'afterStep' in kill ? kill.afterStep : '',
    FAULT_KILL_AFTER_CALL: kill && 'afterCall' in kill ? kill.afterCall : '',
    FAULT_KILL_BEFORE_CALL: kill && 'beforeCall' in kill ? kill.beforeCall : '',
    FAULT_KILL_AFTER_CALL_NTH: String(kill && 'nth' in kill ? (kill.nth ?? 1) : 1),
  });
  children.push(child);
  return child;
}

interface KillCase {
  kill: KillPoint;
  /** The step that is running when the worker dies. */
  index: number;
  /** Pause the standby's replay from the approval until the worker died (fence-and-promote then waits). */
  pauseReplay?: boolean;
  /** What the first worker left behind, checked on the servers and in the store before the second starts. */
  atKill?: { fenced: boolean; promoted: boolean; check?: (run: Run) => void };
  /** The finished run's fence-and-promote output (the second worker's when the kill was inside it). */
  finished?: (output: Record<string, unknown>, atKill: Run) => void;
}

async function killAndRecover(fault: FaultCase, spec: KillCase): Promise<void> {
  const { index } = spec;
  let pair: PgPair | null = null;
  try {
    pair = await startPgPair();
    env['KILL_PRIMARY'] = pair.primaryUrl;
    env['KILL_STANDBY'] = pair.standbyUrl;
    const writer = await startWriter(pair.primaryUrl, 'orders');
    try {
      await waitFor('writes flowing', async () => writer.acknowledged.length > 10);
      const first = await worker(spec.kill);
      const runId = await startRun(web, 'kill-db');
      if (index > GATE_STEP) {
        await untilRunState(web.store, runId, ['awaiting_approval']);
        if (spec.pauseReplay) await pair.pauseReplay();
        await approveGate(web, runId);
      }
      await waitFor(
        'the worker to kill itself',
        async () => first.signalCode !== null || first.exitCode !== null,
        {
          timeoutMs: 30_000,
        },
      );
      fault.faultsInjected++;
      expect(first.signalCode).toBe('SIGKILL');
      // The fault landed on the boundary: the step acted, the store still says running.
      const atKill = (await web.store.getRun(runId))!;
      expect(atKill.steps.map((step) => step.spec.name)).toEqual([...PROMOTION_STEPS]);
      expect(atKill.steps[index]?.state).toBe('running');
      if (spec.atKill) {
        fault.note = `at the kill: primary ${spec.atKill.fenced ? 'fenced' : 'writable'}, standby ${spec.atKill.promoted ? 'promoted' : 'in recovery'}`;
        // Where inside the critical section it landed, as the servers see it.
        expect(await takesWrites(pair.primaryUrl)).toBe(!spec.atKill.fenced);
        expect((await real.describe(pair.standbyUrl)).inRecovery).toBe(!spec.atKill.promoted);
        spec.atKill.check?.(atKill);
      }
      if (spec.pauseReplay) await pair.resumeReplay();

      await worker(null);
      if (index < GATE_STEP) {
        await untilRunState(web.store, runId, ['awaiting_approval']);
        await approveGate(web, runId);
      }
      const done = await untilRunState(web.store, runId, ['succeeded', 'failed', 'aborted'], 60_000);
      fault.runsCompleted++;
      await writer.stop();

      const promotes = await ledger.count(pair.standbyUrl);
      await checkPromotion(fault, pair.standbyUrl, writer.acknowledged, promotes);
      expect(done.state).toBe('succeeded');
      spec.finished?.(done.steps[FENCE_AND_PROMOTE]?.output ?? {}, atKill);
    } finally {
      await writer.stop();
    }
  } finally {
    await stopChildren();
    if (spec.pauseReplay) await pair?.resumeReplay().catch(() => undefined);
    await pair?.destroy();
  }
}

/** Whether the application's role can write to the server at `url` (it turns read-only off first). */
async function takesWrites(url: string): Promise<boolean> {
  const target = new URL(url);
  target.username = WRITER_ROLE;
  const client = new Client({ connectionString: target.toString(), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SET default_transaction_read_only = off');
    await client.query("INSERT INTO orders (payload) VALUES ('probe')");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const boundaries = PROMOTION_STEPS.filter((_, index) => index !== GATE_STEP);

describe.each(boundaries.map((step) => [step]))('after %s', (step) => {
  const index = PROMOTION_STEPS.indexOf(step);
  faultTest(
    SUITE,
    `SIGKILL after ${step} returned, before its result was stored`,
    (fault) =>
      killAndRecover(fault, {
        kill: { afterStep: step },
        index,
        ...(index === FENCE_AND_PROMOTE
          ? {
              atKill: { fenced: true, promoted: true },
              // The second worker found the standby promoted: it verified, it did not promote again.
              finished: (output) => expect(output['alreadyPromoted']).toBe(true),
            }
          : {}),
      }),
    120_000,
  );
});

describe(`inside ${PROMOTION_STEPS[FENCE_AND_PROMOTE]}`, () => {
  const output = (run: Run) => run.steps[FENCE_AND_PROMOTE]?.output ?? {};

  faultTest(
    SUITE,
    'SIGKILL inside fence-and-promote right after fence returned (primary fenced, standby not promoted)',
    (fault) =>
      killAndRecover(fault, {
        kill: { afterCall: 'fence' },
        index: FENCE_AND_PROMOTE,
        atKill: {
          fenced: true,
          promoted: false,
          // The roles to lock were recorded before they were locked; nothing of the promotion.
          check: (run) => {
            expect(output(run)).toMatchObject({
              mode: 'sql',
              lockedRoles: expect.arrayContaining(['app_writer']),
            });
            expect(output(run)['promoteRequested']).toBeUndefined();
          },
        },
        // The second worker fenced again (idempotent), caught up and promoted (once: the ledger).
        finished: (done) => expect(done).toMatchObject({ alreadyPromoted: false, bytesOutstanding: 0 }),
      }),
    120_000,
  );

  faultTest(
    SUITE,
    'SIGKILL inside fence-and-promote right after the seal before promote (sealed, not promoted, not requested)',
    (fault) =>
      killAndRecover(fault, {
        kill: { afterCall: 'lockOut' },
        index: FENCE_AND_PROMOTE,
        atKill: {
          fenced: true,
          promoted: false,
          check: (run) => expect(output(run)['promoteRequested']).toBeUndefined(),
        },
        finished: (done) => expect(done).toMatchObject({ alreadyPromoted: false, bytesOutstanding: 0 }),
      }),
    120_000,
  );

  faultTest(
    SUITE,
    'SIGKILL inside fence-and-promote right before pg_promote (its request recorded, the call never made)',
    (fault) =>
      killAndRecover(fault, {
        kill: { beforeCall: 'promote' },
        index: FENCE_AND_PROMOTE,
        atKill: {
          fenced: true,
          promoted: false,
          check: (run) => expect(output(run)).toMatchObject({ promoteRequested: true, phase: 'promoting' }),
        },
        // The second worker promoted (the only pg_promote: the ledger), without fencing or unfencing.
        finished: (done) => expect(done).toMatchObject({ alreadyPromoted: false, promoteRequested: true }),
      }),
    120_000,
  );

  faultTest(
    SUITE,
    'SIGKILL inside fence-and-promote right after promote returned (promoted, logins not yet given back)',
    (fault) =>
      killAndRecover(fault, {
        kill: { afterCall: 'promote' },
        index: FENCE_AND_PROMOTE,
        atKill: {
          fenced: true,
          promoted: true,
          check: (run) => {
            expect(output(run)).toMatchObject({ promoteRequested: true });
            expect(output(run)['writableAtMs']).toBeUndefined();
          },
        },
        // The second worker found the standby promoted: it finished that promotion, no second one.
        finished: (done) => expect(done).toMatchObject({ alreadyPromoted: true, timeline: 2 }),
      }),
    120_000,
  );

  faultTest(
    SUITE,
    'SIGKILL inside fence-and-promote right after the logins were given back on the new primary (no canary commit yet)',
    (fault) =>
      killAndRecover(fault, {
        kill: { afterCall: 'restoreLogins' },
        index: FENCE_AND_PROMOTE,
        atKill: { fenced: true, promoted: true },
        finished: (done) => expect(done).toMatchObject({ alreadyPromoted: true, timeline: 2 }),
      }),
    120_000,
  );

  faultTest(
    SUITE,
    "SIGKILL inside fence-and-promote right after a catch-up re-run's check of the fence (replay paused)",
    (fault) =>
      killAndRecover(fault, {
        // Replay paused: the first attempt fences and, behind, asks to be run again ('catching up');
        // the re-run only checks that the fence holds (the second fenceCheck) and dies right after it.
        kill: { afterCall: 'fenceCheck', nth: 2 },
        index: FENCE_AND_PROMOTE,
        pauseReplay: true,
        atKill: {
          fenced: true,
          promoted: false,
          check: (run) => {
            const step = run.steps[FENCE_AND_PROMOTE]!;
            expect(step.attempt).toBeGreaterThanOrEqual(2);
            expect(step.output).toMatchObject({ phase: 'catching up', fenced: true });
            expect(typeof step.output?.['finalLsn']).toBe('string');
            expect(typeof step.output?.['fencedAtMs']).toBe('number');
          },
        },
        // The window is measured from the first fence, across the kill.
        finished: (done, atKill) =>
          expect(done).toMatchObject({
            alreadyPromoted: false,
            bytesOutstanding: 0,
            fencedAtMs: atKill.steps[FENCE_AND_PROMOTE]?.output?.['fencedAtMs'],
          }),
      }),
    120_000,
  );
});
