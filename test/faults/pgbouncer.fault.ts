// SIGKILL of the worker while PgBouncer is paused (right after the fence, with clients waiting in
// PgBouncer): the next worker resumes the run, and it ends with PgBouncer resumed, pointing at the new
// primary, every write a client made through it acknowledged and on the new primary, exactly one
// pg_promote. Clients are never left paused by a dead bot for longer than it takes a worker to pick
// the step up again.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PgBouncerAdmin } from '../../src/adapters/pgbouncer/pgbouncer-admin';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import type { Runtime } from '../../src/main/runtime';
import { exited, spawnWorker } from '../support/runtimes/child-worker';
import { stopRuntimeAndClean } from '../support/runtimes/harness';
import { freshSchemaName, testDatabaseUrl } from '../support/services/pg';
import { missingRows, setUpClientRoles, startClient } from '../support/services/pg-clients';
import { startPgPair } from '../support/services/pg-pair';
import { startPgBouncer } from '../support/services/pgbouncer';
import { freshQueueName } from '../support/services/redis';
import { untilRunState } from '../support/runtimes/run-state';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import {
  APPROVER,
  CHANNEL,
  FENCE_AND_PROMOTE,
  startPromotionRuntime,
  startRun,
} from './support/promotion-runtime';
import { PromoteLedger, ReplicationProbe } from './support/replication-probe';

const SUITE = 'sigkill while PgBouncer is paused';
const schema = freshSchemaName('f_pgb');
const queueName = freshQueueName('f-pgb');
const ledger = new PromoteLedger(testDatabaseUrl, `${schema}_promotes`);
const HOOKS = path.join(__dirname, '../../scripts/hooks');
const yaml = `defaults:\n  channel: ${CHANNEL}\n  approvers: [${APPROVER}]
targets:
  - name: pgb-db
    strategy: replica-promotion
    postgres: { primary: env:PGB_PRIMARY, standby: env:PGB_STANDBY, catchUpTimeout: 10m }
    lagPollInterval: 100ms
    pgbouncer: { instances: [{ admin: env:PGB_ADMIN, client: env:PGB_CLIENT }], pauseTimeout: 5s }
    route:
      command: ['${HOOKS}/pgbouncer-repoint.sh', 'app', '{standby.host}', '{standby.port}']
      env: { PGBOUNCER_INI: env:PGB_INI }
`;
const env: NodeJS.ProcessEnv = {
  PGB_PRIMARY: 'postgres://unset',
  PGB_STANDBY: 'postgres://unset',
  PGB_ADMIN: 'postgres://unset',
  PGB_CLIENT: 'postgres://unset',
  PGB_INI: '/nonexistent',
};
const workerScript = path.join(__dirname, 'support/boundary-worker-main.ts');
const children: ChildProcess[] = [];
let web: Runtime;

beforeAll(async () => {
  await ledger.setUp();
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
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  await stopRuntimeAndClean(web, schema);
  await ledger.tearDown();
});

async function worker(killAfterCall: string): Promise<ChildProcess> {
  const child = await spawnWorker(workerScript, {
    FAULT_TARGET_ENV: JSON.stringify(env),
    FAULT_TARGETS_YAML: yaml,
    FAULT_SCHEMA: schema,
    FAULT_QUEUE: queueName,
    FAULT_LEDGER: ledger.table,
    FAULT_KILL_AFTER: '',
    FAULT_KILL_AFTER_CALL: killAfterCall,
    FAULT_KILL_AFTER_CALL_NTH: '1',
  });
  children.push(child);
  return child;
}

faultTest(
  SUITE,
  'SIGKILL right after the fence, with clients paused in PgBouncer: the next worker finishes, PgBouncer resumed, nothing lost',
  async (fault) => {
    const pair = await startPgPair();
    const bouncer = await startPgBouncer({ port: pair.primaryPort, users: ['app_plain'] });
    try {
      await setUpClientRoles(pair.primaryUrl);
      Object.assign(env, {
        PGB_PRIMARY: pair.primaryUrl,
        PGB_STANDBY: pair.standbyUrl,
        PGB_ADMIN: bouncer.adminUrl,
        PGB_CLIENT: bouncer.clientUrl('app_plain'),
        PGB_INI: bouncer.iniPath,
      });
      const client = startClient(bouncer.clientUrl('app_plain'), 'plain');
      try {
        await waitFor('writes through PgBouncer', async () => client.acknowledged.length > 20 || undefined);
        const first = await worker('fence');
        const runId = await startRun(web, 'pgb-db');
        const gated = await untilRunState(web.store, runId, ['awaiting_approval']);
        const gate = gated.steps.find((step) => step.state === 'awaiting_approval')!;
        await web.runs.approve(runId, gate.index, gate.gate!.round, APPROVER, {
          typedConfirmation: 'pgb-db',
        });
        await waitFor('the worker to kill itself', async () => first.signalCode !== null || undefined, {
          timeoutMs: 30_000,
        });
        fault.faultsInjected++;
        // The bot is gone and clients wait in PgBouncer.
        const paused = await new PgBouncerAdmin().describe(bouncer.adminUrl);
        expect(paused.databases.find((db) => db.name === 'app')?.paused).toBe(true);
        expect((await web.store.getRun(runId))?.steps[FENCE_AND_PROMOTE]?.output).toMatchObject({
          pgbouncer: { paused: true },
        });

        await worker('');
        const done = await untilRunState(web.store, runId, ['succeeded', 'failed', 'aborted'], 60_000);
        fault.runsCompleted++;
        const after = client.acknowledged.length;
        await waitFor(
          'writes through PgBouncer again',
          async () => client.acknowledged.length > after + 10 || undefined,
        );
        expect(done.state).toBe('succeeded');
      } finally {
        // A failed case must not leave its client waiting in a paused PgBouncer for ever.
        await new PgBouncerAdmin().resume(bouncer.adminUrl, []).catch(() => undefined);
        await client.stop();
      }
      const lost = await missingRows(pair.standbyUrl, [client]);
      const promotes = await ledger.count(pair.standbyUrl);
      const promoted = await new PgReplication().verifyPromoted(pair.standbyUrl);
      fault.ackedWritesLost = lost.length;
      fault.irreversibleTwice = Math.max(0, promotes - 1) + Math.max(0, promoted.timeline - 2);
      fault.note = `${client.acknowledged.length} writes through PgBouncer, ${Object.keys(client.errors).length} kinds of error; pg_promote calls ${promotes}`;
      expect(client.errors).toEqual({});
      expect(lost).toEqual([]);
      expect(promotes).toBe(1);
      expect(promoted.timeline).toBe(2);
      const resumed = await new PgBouncerAdmin().describe(bouncer.adminUrl);
      expect(resumed.databases.find((db) => db.name === 'app')).toMatchObject({
        paused: false,
        port: pair.standbyPort,
      });
    } finally {
      await bouncer.stop();
      await pair.destroy();
    }
  },
  120_000,
);
