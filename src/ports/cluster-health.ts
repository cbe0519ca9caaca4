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
  /**
   * What identifies the node's running process or server, as far as the store tells (NATS
   * server_id and Redis run_id, new at every start; a Kafka broker's advertised host:port, new only
   * on a new server); null: not answering, or not a member.
   */
  incarnation: string | null;
  /** It holds a current copy of every replica assigned to it. */
  holdsAll: boolean;
  /** What it lacks, for people ("orders: last seq 12 of 40"). */
  detail: string[];
}

/** Data whose copies cannot spare a node while it is replaced. */
export interface CopyAtRisk {
  /** `topic/partition` (Kafka) or the stream's name (NATS). */
  name: string;
  /** The node to be replaced that it cannot spare. */
  node: string;
  /** The nodes holding its copies. */
  replicas: string[];
  /**
   * only_copy: its one copy is on the node (a replacement on an empty disk loses it); writes_stop:
   * without the node fewer copies remain than writes need (Kafka min.insync.replicas with acks=all,
   * a NATS stream's quorum), so writes stop until it is back.
   */
  risk: 'only_copy' | 'writes_stop';
  /** One line for people. */
  detail: string;
}

export interface ClusterHealthPort {
  /** A fresh reading; a cluster that cannot be reached throws. */
  health(): Promise<ClusterHealth>;
  /** Kafka: partitions the node still leads (drain check); other kinds: []. */
  ledBy?(nodeId: string): Promise<string[]>;
  /** Data that cannot spare one of `nodes` (one at a time); absent: the kind has none (Redis). */
  copiesAtRisk?(nodes: string[]): Promise<CopyAtRisk[]>;
  /**
   * Kafka: give each partition back to its preferred replica where that replica is in sync.
   * `elected` is what was asked for this time (or needed nothing by the time it was asked): empty
   * once every leader is where it should be. Safe to repeat.
   */
  electPreferredLeaders?(): Promise<{ elected: string[]; failed: string[] }>;
  close(): Promise<void>;
}
