// The strategies this build ships, given the ports their executors use.
import type { ClusterHealthPort } from '../ports/cluster-health';
import type { Ec2Port } from '../ports/ec2';
import type { HealthChecker } from '../ports/health';
import type { HookRunner } from '../ports/hooks';
import type { RdsPort } from '../ports/rds';
import type { PoolerPort } from '../ports/pooler';
import type { ReplicationPort } from '../ports/replication';
import { createInPlace } from './in-place';
import { createReplicaPromotion } from './replica-promotion';
import { createRollingReplace } from './rolling-replace';
import type { ClusterSettings } from './rolling-replace/config';
import { createVolumeSwap } from './volume-swap';
import type { Strategy, StrategyRegistry } from './types';
import { registryOf } from './types';

export interface StrategyPorts {
  replication: ReplicationPort;
  pooler: PoolerPort;
  rds: RdsPort;
  hooks: HookRunner;
  ec2: Ec2Port;
  health: HealthChecker;
  /** The replication-health adapter for a rolling-replace cluster. */
  clusterHealth: (cluster: ClusterSettings) => ClusterHealthPort;
  /** Where `env:NAME` secrets are resolved, at use. */
  env: NodeJS.ProcessEnv;
}

export function builtinStrategies(ports: StrategyPorts, extra: readonly Strategy[] = []): StrategyRegistry {
  return registryOf([
    createReplicaPromotion(ports),
    createVolumeSwap(ports),
    createRollingReplace(ports),
    createInPlace(ports),
    ...extra,
  ]);
}

/** What the targets-file loader needs from each strategy: the schema of its own keys. */
export function configSchemasOf(
  strategies: StrategyRegistry,
): ReadonlyMap<string, { schema: Strategy['configSchema'] }> {
  return new Map([...strategies].map(([name, strategy]) => [name, { schema: strategy.configSchema }]));
}
