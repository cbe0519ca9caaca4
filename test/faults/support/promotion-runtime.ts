// The real runtime around the replica-promotion strategy with a probed ReplicationPort, for the
// fault cases: the bot's store and Redis can be private servers (restarted or flushed by a case),
// and a child worker process can wrap the strategy (to SIGKILL itself at a step boundary).
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgBouncerAdmin } from '../../../src/adapters/pgbouncer/pgbouncer-admin';
import type { WorkerTuning } from '../../../src/adapters/queue/bullmq-step-queue';
import type { Role } from '../../../src/config/types';
import type { Runtime } from '../../../src/main/runtime';
import type { ReplicationPort } from '../../../src/ports/replication';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import type { Strategy } from '../../../src/strategies/types';
import { startStrategyRuntime, strategyTargets } from '../../support/runtimes/harness';

export const CHANNEL = 'C0TEST0001';
export const APPROVER = 'U0APPROVER';
export const REQUESTER = 'U0REQUESTER';

/** The steps of a self-managed promotion with a route hook, in plan order. */
export const PROMOTION_STEPS = [
  'preflight',
  'wait-for-lag',
  'approve-promotion',
  'recheck-lag',
  'prepare',
  FENCE_AND_PROMOTE_STEP,
  'report',
] as const;
export const GATE_STEP = PROMOTION_STEPS.indexOf('approve-promotion');
/** Fence, catch-up and promotion in one step: the critical section. */
export const FENCE_AND_PROMOTE = PROMOTION_STEPS.indexOf(FENCE_AND_PROMOTE_STEP);

export interface FaultTarget {
  /** Target name; its connection strings are env:<PREFIX>_PRIMARY / env:<PREFIX>_STANDBY. */
  name: string;
  envPrefix: string;
  maxLag?: string;
  catchUpTimeout?: string;
}

export function promotionYaml(targets: readonly FaultTarget[]): string {
  const entries = targets.map(
    (target) => `  - name: ${target.name}
    strategy: replica-promotion
    postgres: { primary: env:${target.envPrefix}_PRIMARY, standby: env:${target.envPrefix}_STANDBY, catchUpTimeout: ${target.catchUpTimeout ?? '10m'} }
    maxLag: ${target.maxLag ?? '{ bytes: 16MB, seconds: 5 }'}
    lagPollInterval: 100ms
    route: { command: ["/bin/echo", "routing ${target.name} to {standby.host}:{standby.port}"], timeout: 10s }`,
  );
  return `defaults:\n  channel: ${CHANNEL}\n  approvers: [${APPROVER}]\ntargets:\n${entries.join('\n')}\n`;
}

export interface PromotionRuntimeOptions {
  yaml: string;
  /** Secrets are resolved from this object at use: a case may point a target at a fresh pair. */
  env: NodeJS.ProcessEnv;
  replication: ReplicationPort;
  schema: string;
  queueName: string;
  role?: Role;
  /** Defaults: the tests' shared PostgreSQL database and Redis. */
  databaseUrl?: string;
  redisUrl?: string;
  reconcileIntervalMs?: number;
  lagSampleIntervalMs?: number;
  tuning?: WorkerTuning;
  /** Lets a child worker wrap the strategy's executors. */
  wrapStrategy?: (strategy: Strategy) => Strategy;
}

export async function startPromotionRuntime(options: PromotionRuntimeOptions): Promise<Runtime> {
  const built = createReplicaPromotion({
    replication: options.replication,
    pooler: new PgBouncerAdmin(),
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env: options.env,
  });
  const strategy = options.wrapStrategy ? options.wrapStrategy(built) : built;
  return startStrategyRuntime({
    strategy,
    targets: strategyTargets(strategy, options.yaml, { env: options.env, file: 'faults.yaml' }),
    schema: options.schema,
    queueName: options.queueName,
    role: options.role ?? 'all',
    databaseUrl: options.databaseUrl,
    redisUrl: options.redisUrl,
    localConsole: false,
    reconcileIntervalMs: options.reconcileIntervalMs ?? 300,
    lagSampleIntervalMs: options.lagSampleIntervalMs ?? 500,
    ...(options.tuning ?? { concurrency: 4, lockDurationMs: 1500, stalledIntervalMs: 750 }),
  });
}

/** Starts a run of `target` as the requester; throws if the bot refuses. */
export async function startRun(runtime: Runtime, target: string): Promise<string> {
  const found = runtime.findTarget(target);
  if (!found) throw new Error(`no target ${target}`);
  const outcome = await runtime.runs.start({ target: found, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run.id;
}

/** Approves the promotion gate (round 1) as the approver, the way the modal's submission does. */
export async function approveGate(runtime: Runtime, runId: string): Promise<void> {
  const outcome = await runtime.runs.approve(runId, GATE_STEP, 1, APPROVER, {
    typedConfirmation: 'fault suite',
  });
  if (!outcome.ok) throw new Error(`approve refused: ${outcome.error}`);
}
