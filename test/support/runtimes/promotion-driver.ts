// Drives replica promotions the way people do, on the real runtime around the real strategy (real
// PgReplication, real hooks): one target per fence mode whose servers are whatever pair the test
// points it at; start, approve as a second person, wait for where the run stops.
import path from 'node:path';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { Run, RunState, StepRecord } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { ReplicationPort } from '../../../src/ports/replication';
import type { Strategy } from '../../../src/strategies/types';
import { APPROVER, REQUESTER, stopRuntimeAndClean } from './harness';
import { startPgPair, type PgPair, type StartPgPairOptions } from '../services/pg-pair';
import { setUpClientRoles } from '../services/pg-clients';
import type { PgBouncer } from '../services/pgbouncer';
import { untilRunState } from './run-state';
import { startPromotionRuntime } from '../../faults/support/promotion-runtime';

const HOOKS = path.join(__dirname, '../../../scripts/hooks');

export const SQL_TARGET = 'sql-db';
export const STOP_TARGET = 'stop-db';

export interface PromotionDriver {
  runtime: Runtime;
  strategy: Strategy;
  /** Points both targets at `pair` (and the stop hooks at its primary's data directory). */
  use(pair: PgPair): void;
  /**
   * A new pair with the client roles of pg-clients.ts on its primary, both targets pointed at it
   * (`use`); `close` destroys it.
   */
  freshPair(options?: StartPgPairOptions): Promise<PgPair>;
  /** Points both targets' PgBouncer settings at `bouncer` (its probe logs in as the `probeRole`). */
  useBouncer(bouncer: PgBouncer): void;
  /** Starts a run of `target` and waits until it stops at its first gate (or ends). */
  start(target: string): Promise<Run>;
  /** Approves the open gate of `runId` as a second person; waits until the run stops or ends again. */
  approve(runId: string, until?: RunState[]): Promise<Run>;
  /** start + approve: the run where it next stops or ends. */
  cutOver(target: string): Promise<Run>;
  close(): Promise<void>;
}

/** The step waiting at a gate, if any. */
export function openGate(run: Run): StepRecord | undefined {
  return run.steps.find((step) => step.state === 'awaiting_approval' && step.gate !== null);
}

export async function startPromotionDriver(options: {
  schema: string;
  queueName: string;
  /** The port the strategy uses (a probe around the real one, to inject faults); default the real one. */
  replication?: ReplicationPort;
  /** Extra keys of both targets' `postgres` sections (e.g. `promoteTimeout: 2s`). */
  postgresExtra?: string;
  /**
   * Both targets behind a PgBouncer (pointed at with `useBouncer`): paused for the switch, repointed
   * by scripts/hooks/pgbouncer-repoint.sh, with a write probe as `probeRole`.
   */
  pgbouncer?: { pauseTimeout?: string; probeRole: string };
  /** Both targets rejoin the old primary as a standby with scripts/hooks/postgres-rejoin.sh. */
  rejoin?: boolean;
  /** The stop target's stop hook (a path; it gets PGDATA): default scripts/hooks/postgres-stop.sh. */
  stopHook?: string;
}): Promise<PromotionDriver> {
  const env: NodeJS.ProcessEnv = {
    PR_PRIMARY: 'postgres://unset',
    PR_STANDBY: 'postgres://unset',
    PR_PGDATA: '/nonexistent',
    PR_PGB_ADMIN: 'postgres://unset',
    PR_PGB_CLIENT: 'postgres://unset',
    PR_PGB_INI: '/nonexistent',
    PR_PGB_DB: 'app',
  };
  const extra = options.postgresExtra ? `, ${options.postgresExtra}` : '';
  const hook = (script: string) =>
    `{ command: ['${path.resolve(HOOKS, script)}'], env: { PGDATA: env:PR_PGDATA }, timeout: 60s }`;
  const routing = options.pgbouncer
    ? `
    pgbouncer:
      instances: [{ admin: env:PR_PGB_ADMIN, client: env:PR_PGB_CLIENT }]
      pauseTimeout: ${options.pgbouncer.pauseTimeout ?? '5s'}
    route:
      command: ['${HOOKS}/pgbouncer-repoint.sh', 'app', '{standby.host}', '{standby.port}']
      env: { PGBOUNCER_INI: env:PR_PGB_INI }
      timeout: 30s`
    : '';
  const rejoin = options.rejoin
    ? `
    rejoin: { command: ['${HOOKS}/postgres-rejoin.sh', '{standby.host}', '{standby.port}'], env: { PGDATA: env:PR_PGDATA }, timeout: 120s }
    rejoinTimeout: 30s`
    : '';
  const yaml = `defaults: { channel: C0TEST0001, approvers: [${APPROVER}] }
targets:
  - name: ${SQL_TARGET}
    strategy: replica-promotion
    postgres: { primary: env:PR_PRIMARY, standby: env:PR_STANDBY, fence: { mode: sql }${extra} }
    lagPollInterval: 50ms${routing}${rejoin}
  - name: ${STOP_TARGET}
    strategy: replica-promotion
    postgres:
      { primary: env:PR_PRIMARY, standby: env:PR_STANDBY${extra},
        fence: { mode: stop, stop: ${hook(options.stopHook ?? 'postgres-stop.sh')}, start: ${hook('postgres-start.sh')} } }
    lagPollInterval: 50ms${routing}${rejoin}
`;
  let strategy: Strategy | undefined;
  const runtime: Runtime = await startPromotionRuntime({
    yaml,
    env,
    replication: options.replication ?? new PgReplication(),
    schema: options.schema,
    queueName: options.queueName,
    // No background lag sampling: its sessions would be among those the fence looks at.
    lagSampleIntervalMs: 3_600_000,
    wrapStrategy: (built) => (strategy = built),
  });
  const stopped: RunState[] = ['awaiting_approval', 'succeeded', 'failed', 'aborted'];
  const approve = async (runId: string, until: RunState[] = stopped): Promise<Run> => {
    const run = await runtime.store.getRun(runId);
    const gate = run ? openGate(run) : undefined;
    if (!gate?.gate) throw new Error(`run ${runId} has no open gate (${run?.state ?? 'missing'})`);
    const approved = await runtime.runs.approve(runId, gate.index, gate.gate.round, APPROVER);
    if (!approved.ok) throw new Error(approved.error);
    // The approval is stored (the run is running again) before approve returns: the next stop is a new one.
    return untilRunState(runtime.store, runId, until, 90_000);
  };
  const start = async (target: string): Promise<Run> => {
    const outcome = await runtime.runs.start({ target: runtime.findTarget(target)!, requestedBy: REQUESTER });
    if (!outcome.ok) throw new Error(outcome.message);
    return untilRunState(runtime.store, outcome.run.id, stopped, 60_000);
  };
  const use = (pair: PgPair): void => {
    env['PR_PRIMARY'] = pair.primaryUrl;
    env['PR_STANDBY'] = pair.standbyUrl;
    env['PR_PGDATA'] = pair.dataDirs.primary;
  };
  const pairs: PgPair[] = [];
  return {
    runtime,
    strategy: strategy!,
    use,
    async freshPair(pairOptions = {}) {
      const pair = await startPgPair(pairOptions);
      pairs.push(pair);
      use(pair);
      await setUpClientRoles(pair.primaryUrl);
      return pair;
    },
    useBouncer(bouncer) {
      env['PR_PGB_ADMIN'] = bouncer.adminUrl;
      env['PR_PGB_CLIENT'] = bouncer.clientUrl(options.pgbouncer?.probeRole ?? 'postgres');
      env['PR_PGB_INI'] = bouncer.iniPath;
    },
    start,
    approve,
    async cutOver(target) {
      const waiting = await start(target);
      if (waiting.state !== 'awaiting_approval') return waiting;
      return approve(waiting.id);
    },
    async close() {
      await stopRuntimeAndClean(runtime, options.schema);
      for (const pair of pairs) await pair.destroy();
    },
  };
}
