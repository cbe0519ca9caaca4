// Replication health of a Kafka cluster: under-replicated, offline and below-min-ISR partitions,
// the brokers the cluster sees, which partitions a broker still leads, each broker's own standing
// (NodeReading), and a preferred leader election after a roll. Reads through a KafkaAdmin
// (kafka-admin.ts: the bot's own Metadata, DescribeConfigs and ElectLeaders requests).
//
// The ISR can be taken at its word for a restarted broker (unlike a NATS stream's replica view): on
// a real Kafka 4 cluster a broker that stops leaves every ISR (a controlled shutdown removes it, a
// crash fences it), and a new process, on its old disk or an empty one, is let back into a
// partition's ISR only once it has caught up with the leader (test/integration/clusters/
// kafka-health.test.ts). So "holds every replica assigned to it" is "in the ISR of every partition
// it is a replica of". Kafka tells clients no broker epoch or process id (a broker is an id, a host,
// a port and a rack to them): a broker's incarnation here is its advertised host:port, which a new
// server changes and a restart in place does not.
import type { ClusterHealth, ClusterHealthPort, CopyAtRisk, NodeReading } from '../../ports/cluster-health';
import {
  ELECTION_NOT_NEEDED,
  type KafkaAdmin,
  type MetadataQuorum,
  type TopicMetadata,
  type TopicPartitions,
} from './kafka-admin';
import { errorName } from './kafka-wire';

export interface KafkaClusterHealthOptions {
  /** How the adapter asks the cluster: a KafkaWireAdmin on the target's brokers. */
  admin: KafkaAdmin;
  /** Topics to watch; every topic (internal ones too) when not given. */
  topics?: string[];
  /**
   * Broker ids to report one by one in `nodes` (their incarnation and whether they hold every
   * replica assigned to them); no `nodes` when not given.
   */
  nodes?: string[];
}

export interface PreferredLeaderElection {
  /** `topic/partition` now led by its preferred replica. */
  elected: string[];
  /** `topic/partition: why` of those that were not (the preferred replica is out of the ISR, say). */
  failed: string[];
}

const MIN_ISR = 'min.insync.replicas';
/** Broker default for min.insync.replicas when a topic does not report one. */
const DEFAULT_MIN_ISR = 1;
/** Partitions named in one NodeReading detail line; the rest are counted. */
const PARTITIONS_NAMED = 10;
const LEADER_NOT_AVAILABLE = 5;
/**
 * A voter of the metadata quorum counts as current when it caught up with the leader within this
 * long (by the leader's clock). Followers fetch continuously and start an election after
 * controller.quorum.fetch.timeout.ms (2 s by default) without an answer: 10 s behind is not normal.
 */
const QUORUM_VOTER_STALE_MS = 10_000;
/** Old brokers set it on a partition with a replica down; the partition's data still comes along. */
const REPLICA_NOT_AVAILABLE = 9;

export class KafkaClusterHealth implements ClusterHealthPort {
  private readonly admin: KafkaAdmin;
  private readonly topics: string[] | undefined;
  private readonly nodes: string[] | undefined;

  constructor(options: KafkaClusterHealthOptions) {
    this.admin = options.admin;
    this.topics = options.topics ? [...options.topics] : undefined;
    this.nodes = options.nodes ? options.nodes.map((id) => id.trim()) : undefined;
  }

  async health(): Promise<ClusterHealth> {
    const metadata = await this.admin.metadata(this.topics ?? null);
    const members = metadata.brokers.map((broker) => String(broker.nodeId)).sort(byNumber);
    const topics = sortedTopics(metadata.topics);
    const minIsr = await this.minInsyncReplicas(topics.filter((t) => t.errorCode === 0).map((t) => t.name));
    // The brokers' metadata comes from the controller quorum: without a leader and a majority of
    // current voters nothing can change (no ISR change, no fencing), so the next node must wait.
    const quorumProblem = quorumProblemOf(await this.admin.quorum());

    const detail: string[] = quorumProblem ? [quorumProblem] : [];
    let lagging = 0;
    let belowMinIsr = 0;
    let missingTopics = 0;
    for (const topic of topics) {
      if (topic.errorCode !== 0) {
        missingTopics++;
        detail.push(`${topic.name}: cannot be described (${errorName(topic.errorCode)})`);
        continue;
      }
      const min = minIsr.get(topic.name) ?? DEFAULT_MIN_ISR;
      for (const partition of topic.partitions) {
        const name = `${topic.name}/${partition.partition}`;
        let problem = false;
        if (partition.leader < 0) {
          problem = true;
          detail.push(`${name}: offline (no leader)`);
        } else if (![0, LEADER_NOT_AVAILABLE, REPLICA_NOT_AVAILABLE].includes(partition.errorCode)) {
          problem = true;
          detail.push(`${name}: ${errorName(partition.errorCode)}`);
        }
        if (partition.offlineReplicas.length > 0) {
          problem = true;
          detail.push(`${name}: offline replicas ${list(partition.offlineReplicas)}`);
        }
        const outOfSync = partition.replicas.filter((id) => !partition.isr.includes(id));
        if (outOfSync.length > 0) {
          problem = true;
          detail.push(
            `${name}: ISR ${list(partition.isr)} of replicas ${list(partition.replicas)}, out of sync: ${outOfSync.join(',')}`,
          );
        }
        if (problem) lagging++;
        // A broker refuses acks=all writes below min(min.insync.replicas, replication factor): a
        // topic set to more in-sync replicas than it has copies takes writes with all of them
        // (Kafka's Partition.effectiveMinIsr; test/integration/clusters/kafka-client.test.ts).
        const effectiveMin = Math.min(min, partition.replicas.length);
        if (partition.isr.length < effectiveMin) {
          belowMinIsr++;
          detail.push(`${name}: ISR ${partition.isr.length} < ${MIN_ISR} ${effectiveMin}`);
        }
      }
    }
    const fullyReplicated = lagging === 0 && belowMinIsr === 0 && missingTopics === 0 && !quorumProblem;
    if (!this.nodes) return { fullyReplicated, laggingReplicas: lagging, members, detail };

    const addresses = new Map(metadata.brokers.map((b) => [String(b.nodeId), `${b.host}:${b.port}`]));
    const nodes = this.nodes.map((id) => readBroker(id, addresses.get(id) ?? null, topics));
    // A broker short of replicas is already counted through its partitions above.
    for (const node of nodes) detail.push(...node.detail);
    return { fullyReplicated, laggingReplicas: lagging, members, detail, nodes };
  }

  /**
   * Watched partitions that cannot spare one of `nodes` while it is replaced: the only copy is on it
   * (an empty disk loses the partition), or without it fewer replicas remain than acks=all writes
   * need (min.insync.replicas, capped at the replication factor as the broker caps it), so those
   * writes stop until it is back.
   */
  async copiesAtRisk(nodes: string[]): Promise<CopyAtRisk[]> {
    const wanted = new Set(nodes.map((id) => id.trim()));
    const topics = sortedTopics((await this.admin.metadata(this.topics ?? null)).topics).filter(
      (topic) => topic.errorCode === 0,
    );
    const minIsr = await this.minInsyncReplicas(topics.map((topic) => topic.name));
    const atRisk: CopyAtRisk[] = [];
    for (const topic of topics) {
      const min = minIsr.get(topic.name) ?? DEFAULT_MIN_ISR;
      for (const partition of topic.partitions) {
        const name = `${topic.name}/${partition.partition}`;
        const replicas = partition.replicas.map(String);
        const effectiveMin = Math.min(min, replicas.length);
        for (const node of replicas.filter((id) => wanted.has(id))) {
          if (replicas.length === 1)
            atRisk.push({
              name,
              node,
              replicas,
              risk: 'only_copy',
              detail: `${name}: its only copy is on broker ${node}`,
            });
          else if (replicas.length - 1 < effectiveMin)
            atRisk.push({
              name,
              node,
              replicas,
              risk: 'writes_stop',
              detail: `${name}: ${replicas.length} replicas and ${MIN_ISR} ${effectiveMin}: acks=all writes stop while broker ${node} is out`,
            });
        }
      }
    }
    return atRisk;
  }

  /** `topic/partition` of every watched partition whose leader is broker `nodeId`. */
  async ledBy(nodeId: string): Promise<string[]> {
    const led: string[] = [];
    for (const topic of sortedTopics((await this.admin.metadata(this.topics ?? null)).topics)) {
      for (const partition of topic.partitions) {
        if (partition.leader >= 0 && String(partition.leader) === nodeId.trim()) {
          led.push(`${topic.name}/${partition.partition}`);
        }
      }
    }
    return led;
  }

  /**
   * Gives every watched partition whose leader is not its preferred replica (the first in its
   * replica list) back to that replica where the preferred replica is in the ISR; the others are
   * reported as failed without asking. Safe to repeat: a partition led by its preferred replica is
   * left alone. Brokers learn the new leaders a moment after the answer: read again to see them.
   */
  async electPreferredLeaders(): Promise<PreferredLeaderElection> {
    const wanted: TopicPartitions[] = [];
    const failed: string[] = [];
    for (const topic of sortedTopics((await this.admin.metadata(this.topics ?? null)).topics)) {
      const partitions: number[] = [];
      for (const partition of topic.partitions) {
        const preferred = partition.replicas[0];
        if (preferred === undefined || partition.leader === preferred) continue;
        if (partition.isr.includes(preferred)) partitions.push(partition.partition);
        else
          failed.push(
            `${topic.name}/${partition.partition}: preferred replica ${preferred} is not in the ISR`,
          );
      }
      if (partitions.length > 0) wanted.push({ topic: topic.name, partitions });
    }
    if (wanted.length === 0) return { elected: [], failed };
    const elected: string[] = [];
    for (const result of await this.admin.electPreferredLeaders(wanted)) {
      const name = `${result.topic}/${result.partition}`;
      if (result.errorCode === 0 || result.errorCode === ELECTION_NOT_NEEDED) elected.push(name);
      else failed.push(`${name}: ${result.error ?? 'not elected'}`);
    }
    return { elected: elected.sort(), failed };
  }

  /** Nothing to release: every request has its own connection. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async minInsyncReplicas(topics: string[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    if (topics.length === 0) return result;
    for (const config of await this.admin.topicConfigs(topics, [MIN_ISR])) {
      if (config.errorCode !== 0) {
        throw new Error(
          `describeConfigs for topic ${config.topic} failed: ${config.errorMessage || errorName(config.errorCode)}`,
        );
      }
      const value = Number(config.values.get(MIN_ISR));
      if (Number.isInteger(value) && value > 0) result.set(config.topic, value);
    }
    return result;
  }
}

/**
 * Why the controller quorum is not healthy, or null when it is: a leader, and every voter current.
 * A majority would keep the quorum working, but a broker that is also a voter (combined mode) may be
 * the next node out: a voter already behind then costs the quorum.
 */
export function quorumProblemOf(quorum: MetadataQuorum): string | null {
  if (quorum.errorCode !== 0) return `metadata quorum: cannot be described (${errorName(quorum.errorCode)})`;
  if (quorum.leaderId < 0) return 'metadata quorum: no leader';
  if (!quorum.voters.some((voter) => voter.id === quorum.leaderId))
    return `metadata quorum: leader ${quorum.leaderId} is not among the voters`;
  // The leader's own entry carries its current time.
  const now = Math.max(...quorum.voters.map((voter) => voter.lastCaughtUpTimestamp));
  const behind = quorum.voters.filter(
    (voter) =>
      voter.id !== quorum.leaderId &&
      (voter.lastCaughtUpTimestamp < 0 || now - voter.lastCaughtUpTimestamp > QUORUM_VOTER_STALE_MS),
  );
  if (behind.length > 0)
    return `metadata quorum: voters ${behind.map((voter) => voter.id).join(', ')} of ${quorum.voters.length} not current (leader ${quorum.leaderId})`;
  return null;
}

/** One broker's standing: registered (at which address) and in the ISR of all its partitions. */
function readBroker(id: string, address: string | null, topics: TopicMetadata[]): NodeReading {
  const assigned: string[] = [];
  const missing: string[] = [];
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      if (!partition.replicas.some((replica) => String(replica) === id)) continue;
      const name = `${topic.name}/${partition.partition}`;
      assigned.push(name);
      const inSync = partition.isr.some((replica) => String(replica) === id);
      const offline = partition.offlineReplicas.some((replica) => String(replica) === id);
      if (!inSync || offline) missing.push(name);
    }
  }
  const detail: string[] = [];
  if (address === null) detail.push(`broker ${id}: not a member of the cluster`);
  if (missing.length > 0) {
    const more = missing.length > PARTITIONS_NAMED ? ` and ${missing.length - PARTITIONS_NAMED} more` : '';
    detail.push(
      `broker ${id}: not in the ISR of ${missing.slice(0, PARTITIONS_NAMED).join(', ')}${more} (${missing.length} of ${assigned.length})`,
    );
  }
  // Not a member: it serves none of its replicas, whatever an ISR that kept it as its last member says.
  const holdsAll = address === null ? assigned.length === 0 : missing.length === 0;
  return { id, incarnation: address, holdsAll, detail };
}

function sortedTopics(topics: TopicMetadata[]): TopicMetadata[] {
  return [...topics]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((topic) => ({
      ...topic,
      partitions: [...topic.partitions].sort((a, b) => a.partition - b.partition),
    }));
}

function list(ids: number[]): string {
  return `[${ids.join(',')}]`;
}

function byNumber(a: string, b: string): number {
  return Number(a) - Number(b);
}
