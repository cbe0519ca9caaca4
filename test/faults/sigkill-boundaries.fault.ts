// SIGKILL of the worker at every step boundary of a replica promotion, one run (and one fresh
// PostgreSQL pair) per boundary: the worker dies right after a step's executor returned, before
// its result is stored. A second worker must finish the run with every acknowledged write on the
// new primary and exactly one pg_promote (ledger rows written before each call; timeline 2).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Runtime } from '../../src/main/runtime';
import { exited, spawnWorker } from '../support/child-worker';
import { stopRuntimeAndClean } from '../support/harness';
import { freshSchemaName, testDatabaseUrl } from '../support/pg';
import { startPgPair, startWriter, type PgPair } from '../support/pg-pair';
import { freshQueueName } from '../support/redis';
import { untilRunState } from '../support/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import {
  approveGate,
  GATE_STEP,
  PROMOTION_STEPS,
  promotionYaml,
  startPromotionRuntime,
  startRun,
} from './support/promotion-runtime';
import { checkPromotion, PromoteLedger, ReplicationProbe } from './support/replication-probe';

const SUITE = 'sigkill at step boundaries';
const schema = freshSchemaName('f_kill');
const queueName = freshQueueName('f-kill');
const ledger = new PromoteLedger(testDatabaseUrl, `${schema}_promotes`);
const yaml = promotionYaml([{ name: 'kill-db', envPrefix: 'KILL' }]);
const env: NodeJS.ProcessEnv = { KILL_PRIMARY: 'postgres://unset', KILL_STANDBY: 'postgres://unset' };
const workerScript = path.join(__dirname, 'support/boundary-worker-main.ts');
const children: ChildProcess[] = [];
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

async function worker(killAfter: string | null): Promise<ChildProcess> {
  const child = await spawnWorker(workerScript, {
    FAULT_TARGET_ENV: JSON.stringify({
      KILL_PRIMARY: env['KILL_PRIMARY'],
      KILL_STANDBY: env['KILL_STANDBY'],
    }),
    FAULT_TARGETS_YAML: yaml,
    FAULT_SCHEMA: schema,
    FAULT_QUEUE: queueName,
    FAULT_LEDGER: ledger.table,
    FAULT_KILL_AFTER: killAfter ?? '',
  });
  children.push(child);
  return child;
}

const boundaries = PROMOTION_STEPS.filter((_, index) => index !== GATE_STEP);

describe.each(boundaries.map((step) => [step]))('after %s', (step) => {
  const index = PROMOTION_STEPS.indexOf(step);
  faultTest(
    SUITE,
    `SIGKILL after ${step} returned, before its result was stored`,
    async (fault) => {
      let pair: PgPair | null = null;
      try {
        pair = await startPgPair();
        env['KILL_PRIMARY'] = pair.primaryUrl;
        env['KILL_STANDBY'] = pair.standbyUrl;
        const writer = await startWriter(pair.primaryUrl, 'orders');
        try {
          await waitFor('writes flowing', async () => writer.acknowledged.length > 10);
          const first = await worker(step);
          const runId = await startRun(web, 'kill-db');
          if (index > GATE_STEP) {
            await untilRunState(web.store, runId, ['awaiting_approval']);
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
          expect((await web.store.getRun(runId))?.steps[index]?.state).toBe('running');

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
        } finally {
          await writer.stop();
        }
      } finally {
        await stopChildren();
        await pair?.destroy();
      }
    },
    120_000,
  );
});
