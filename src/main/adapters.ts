// The production adapters behind the strategies' ports.
import { PgBouncerAdmin } from '../adapters/pgbouncer/pgbouncer-admin';
import { AwsEc2Adapter } from '../adapters/aws/ec2-adapter';
import { AwsRdsAdapter } from '../adapters/aws/rds-adapter';
import { ProbeHealthChecker } from '../adapters/health/probe-health-checker';
import { ProcessHookRunner } from '../adapters/hooks/process-hook-runner';
import { PgReplication } from '../adapters/postgres/pg-replication';
import { KafkaWireAdmin } from '../adapters/clusters/kafka-admin';
import { KafkaClusterHealth } from '../adapters/clusters/kafka-health';
import { NatsClusterHealth } from '../adapters/clusters/nats-health';
import { RedisReplicationHealth } from '../adapters/clusters/redis-health';
import { resolveSecret, secretValues } from '../config/secrets';
import type { ClusterSettings } from '../strategies/rolling-replace/config';
import type { ClusterHealthPort } from '../ports/cluster-health';
import type { TargetsConfig } from '../config/types';
import type { StrategyPorts } from '../strategies';

/**
 * `targets()` is read lazily: the strategies exist before the targets file is loaded (the loader
 * validates entries with their schemas), and hook output must be redacted of every target secret.
 */
export function productionPorts(env: NodeJS.ProcessEnv, targets: () => TargetsConfig | null): StrategyPorts {
  return {
    replication: new PgReplication(),
    pooler: new PgBouncerAdmin(),
    rds: new AwsRdsAdapter(),
    ec2: new AwsEc2Adapter(),
    clusterHealth: (cluster) => clusterHealthFor(cluster, env),
    health: new ProbeHealthChecker(),
    hooks: new ProcessHookRunner({ secrets: () => secretValues(targets()?.targets ?? [], env) }),
    env,
  };
}

/** One health adapter per cluster kind; connections open lazily on the first reading. */
export function clusterHealthFor(
  cluster: ClusterSettings,
  env: NodeJS.ProcessEnv,
  options: { timeoutMs?: number } = {},
): ClusterHealthPort {
  switch (cluster.kind) {
    case 'nats':
      return new NatsClusterHealth({
        servers: cluster.servers,
        ...(cluster.streams ? { streams: cluster.streams } : {}),
        nodes: cluster.nodes.map(({ id, monitor }) => ({ id, monitor })),
        ...options,
      });
    case 'redis':
      return new RedisReplicationHealth({
        primary: resolveSecret(cluster.primary, env),
        expectedReplicas: cluster.expectedReplicas,
        maxLagBytes: cluster.maxReplicaLag,
        // Each replica asked itself: its process (run_id) and its link to the primary.
        nodes: cluster.nodes.map((node) => node.id),
        ...options,
      });
    case 'kafka':
      // Each broker read from the metadata: a member, in the ISR of all its partitions. A broker
      // replaced in place keeps its host:port; rr-recover then waits until it has left and come back.
      return new KafkaClusterHealth({
        admin: new KafkaWireAdmin({ brokers: cluster.brokers, ...options }),
        ...(cluster.topics ? { topics: cluster.topics } : {}),
        nodes: cluster.nodes.map((node) => node.id),
      });
  }
}
