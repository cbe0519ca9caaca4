// Replication health of a clustered data store (Kafka, NATS JetStream, Redis), in one shape for
// every kind, so the rolling-replace strategy never needs to know which store it is replacing.

export interface ClusterHealth {
  /** Every piece of data has all its copies, current: safe to take the next node out. */
  fullyReplicated: boolean;
  /** Under-replicated partitions, lagging stream replicas or unsynced Redis replicas. */
  laggingReplicas: number;
  /** Node ids the cluster currently sees as members (brokers, servers, replicas). */
  members: string[];
  /** One line per problem, for people ("orders/2: ISR 1 < min.insync.replicas 2"). */
  detail: string[];
  /**
   * Each configured node as the node itself reports it, where the adapter can ask the node (NATS
   * through its monitoring port). Cluster-wide replica readings can describe a restarted node by
   * what its previous process acknowledged; only the node's own view shows a replacement holds
   * the data. Absent: the adapter cannot ask nodes one by one.
   */
  nodes?: NodeReading[];
}

export interface NodeReading {
  id: string;
  /** What identifies the running process (NATS server_id, new at every start); null: not answering. */
  incarnation: string | null;
  /** It holds a current copy of every replica assigned to it. */
  holdsAll: boolean;
  /** What it lacks, for people ("orders: last seq 12 of 40"). */
  detail: string[];
}

export interface ClusterHealthPort {
  /** A fresh reading; a cluster that cannot be reached throws. */
  health(): Promise<ClusterHealth>;
  /** Kafka: partitions the node still leads (drain check); other kinds: []. */
  ledBy?(nodeId: string): Promise<string[]>;
  close(): Promise<void>;
}
