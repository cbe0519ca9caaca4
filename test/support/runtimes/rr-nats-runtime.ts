// The rolling-replace strategy wired to real NATS health and real hook processes, in a runtime of
// the given role: for the NATS rolling-replace tests and their child worker (rr-worker-main.ts).
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import type { Role } from '../../../src/config/types';
import { clusterHealthFor } from '../../../src/main/adapters';
import type { Runtime } from '../../../src/main/runtime';
import type { ClusterHealthPort } from '../../../src/ports/cluster-health';
import { createRollingReplace } from '../../../src/strategies/rolling-replace';
import { startStrategyRuntime, strategyTargets } from './harness';

export interface RollingRuntimeOptions {
  /** A targets file (YAML, or JSON: a YAML document too). */
  targetsYaml: string;
  role: Role;
  schema: string;
  queueName: string;
  /** Short locks so a killed worker's step is picked up again quickly (crash tests). */
  lockDurationMs?: number;
}

export interface RollingRuntime {
  runtime: Runtime;
  /**
   * Closes the health adapters the strategy made. Nothing else does: the strategy caches one per
   * target and the runtime's close() does not reach them (their NATS connections reconnect forever).
   */
  closeHealth(): Promise<void>;
}

export async function startRollingRuntime(options: RollingRuntimeOptions): Promise<RollingRuntime> {
  const env = {};
  const made: ClusterHealthPort[] = [];
  const strategy = createRollingReplace({
    clusterHealth: (cluster) => {
      if (cluster.kind !== 'nats') throw new Error('nats only here');
      // The adapter production builds, with a shorter timeout.
      const health = clusterHealthFor(cluster, env, { timeoutMs: 2_000 });
      made.push(health);
      return health;
    },
    hooks: new ProcessHookRunner(),
    env,
  });
  const runtime = await startStrategyRuntime({
    strategy,
    targets: strategyTargets(strategy, options.targetsYaml, { env, file: 'rolling.yaml' }),
    role: options.role,
    schema: options.schema,
    queueName: options.queueName,
    concurrency: 2,
    lockDurationMs: options.lockDurationMs,
    reconcileIntervalMs: 500,
    lagSampleIntervalMs: null,
  });
  return {
    runtime,
    closeHealth: async () => {
      await Promise.all(made.splice(0).map((health) => health.close()));
    },
  };
}
