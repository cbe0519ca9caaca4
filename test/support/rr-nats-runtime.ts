// The rolling-replace strategy wired to real NATS health and real hook processes, in a runtime of
// the given role: for the NATS rolling-replace tests and their child worker (rr-worker-main.ts).
import pino from 'pino';
import { ProcessHookRunner } from '../../src/adapters/hooks/process-hook-runner';
import type { Role } from '../../src/config/types';
import { parseTargets } from '../../src/config/targets';
import { clusterHealthFor } from '../../src/main/adapters';
import { startRuntime, type Runtime } from '../../src/main/runtime';
import type { ClusterHealthPort } from '../../src/ports/cluster-health';
import { configSchemasOf } from '../../src/strategies';
import { createRollingReplace } from '../../src/strategies/rolling-replace';
import { registryOf } from '../../src/strategies/types';
import { testAppConfig } from './harness';

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
  const strategies = registryOf([strategy]);
  const config = testAppConfig(options.role);
  const lockDurationMs = options.lockDurationMs ?? 30_000;
  const runtime = await startRuntime({
    config,
    targets: parseTargets(options.targetsYaml, 'rolling.yaml', {
      env,
      strategies: configSchemasOf(strategies),
    }),
    strategies,
    log: pino({ level: config.logLevel }),
    storeSchema: options.schema,
    queueName: options.queueName,
    httpPort: null,
    reconcileIntervalMs: 500,
    tuning: {
      concurrency: 2,
      lockDurationMs,
      stalledIntervalMs: Math.max(500, Math.floor(lockDurationMs / 2)),
    },
  });
  return {
    runtime,
    closeHealth: async () => {
      await Promise.all(made.splice(0).map((health) => health.close()));
    },
  };
}
