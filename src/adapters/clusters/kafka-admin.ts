// The Kafka admin requests the bot makes, over kafka-wire.ts: Metadata (brokers, and each
// partition's leader, replicas, ISR and offline replicas, offline partitions included), DescribeConfigs
// (a topic's min.insync.replicas), ElectLeaders (preferred leaders back after a roll) and
// DescribeQuorum (the KRaft controller quorum: its leader and how current each voter is).
//
// Versions: the newest before each API's flexible encoding (Metadata 8, DescribeConfigs 2,
// ElectLeaders 1), all served by Kafka 2.4 up to 4.4, whose dropped versions (KIP-896: those before
// 2.1) they are not; DescribeQuorum exists only flexible (v1: Kafka 3.3 on, any broker forwards it to
// the controller). Encoded from the message schemas in kafka-clients
// (common/message/*Request.json and *Response.json). Plaintext only, as the bot's targets file has
// no TLS or SASL settings for Kafka.
import { BrokerUnreachable, errorName, send, type Reader, type WireRequest } from './kafka-wire';

export interface BrokerMetadata {
  nodeId: number;
  host: string;
  port: number;
}

export interface PartitionMetadata {
  partition: number;
  /** LEADER_NOT_AVAILABLE (5) for an offline partition; its replicas and ISR still come along. */
  errorCode: number;
  /** -1: no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicMetadata {
  name: string;
  /** Non-zero: the topic could not be described (UNKNOWN_TOPIC_OR_PARTITION: it does not exist). */
  errorCode: number;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  /** The registered, unfenced brokers. */
  brokers: BrokerMetadata[];
  topics: TopicMetadata[];
}

export interface TopicConfig {
  topic: string;
  errorCode: number;
  errorMessage: string | null;
  /** The requested keys with a value (a sensitive or unset one has none). */
  values: Map<string, string>;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface PartitionElection {
  topic: string;
  partition: number;
  /** 0: elected; ELECTION_NOT_NEEDED: its preferred replica already leads. */
  errorCode: number;
  /** The error's name and the controller's message; null when elected. */
  error: string | null;
}

/** One member of the metadata quorum as its leader sees it; timestamps are the leader's clock, -1 unknown. */
export interface QuorumReplica {
  id: number;
  logEndOffset: number;
  lastFetchTimestamp: number;
  /** The leader's own entry carries the leader's current time. */
  lastCaughtUpTimestamp: number;
}

export interface MetadataQuorum {
  /** The first error of the answer (top level, then the partition's), 0 when none. */
  errorCode: number;
  /** -1: no leader. */
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumReplica[];
  /** Brokers (and controllers that are not voters) following the metadata log. */
  observers: QuorumReplica[];
}

export const ELECTION_NOT_NEEDED = 84;
const METADATA_LOG = '__cluster_metadata';
const TOPIC_RESOURCE = 2;

/** What the health adapter asks of a cluster; KafkaWireAdmin on a real one, a fake in unit tests. */
export interface KafkaAdmin {
  /** Every topic (internal ones too) when `topics` is null. */
  metadata(topics: string[] | null): Promise<ClusterMetadata>;
  topicConfigs(topics: string[], keys: string[]): Promise<TopicConfig[]>;
  electPreferredLeaders(partitions: TopicPartitions[]): Promise<PartitionElection[]>;
  quorum(): Promise<MetadataQuorum>;
}

export function metadataRequest(topics: string[] | null): WireRequest<ClusterMetadata> {
  return {
    name: 'Metadata',
    apiKey: 3,
    version: 8,
    encode: (w) =>
      w
        .array(topics, (name) => w.string(name))
        .bool(false) // AllowAutoTopicCreation: a health check never creates a topic
        .bool(false) // IncludeClusterAuthorizedOperations
        .bool(false), // IncludeTopicAuthorizedOperations
    decode: (r) => {
      r.int32(); // ThrottleTimeMs
      const brokers = r.array(() => {
        const nodeId = r.int32();
        const host = r.string() ?? '';
        const port = r.int32();
        r.string(); // Rack
        return { nodeId, host, port };
      });
      const clusterId = r.string();
      r.int32(); // ControllerId: on KRaft brokers a random live broker, not the controller
      const topicList = r.array(() => {
        const errorCode = r.int16();
        const name = r.string() ?? '';
        const isInternal = r.bool();
        const partitions = r.array(() => {
          const partitionError = r.int16();
          const partition = r.int32();
          const leader = r.int32();
          r.int32(); // LeaderEpoch
          const replicas = r.int32s();
          const isr = r.int32s();
          const offlineReplicas = r.int32s();
          return { partition, errorCode: partitionError, leader, replicas, isr, offlineReplicas };
        });
        r.int32(); // TopicAuthorizedOperations
        return { name, errorCode, isInternal, partitions };
      });
      r.int32(); // ClusterAuthorizedOperations
      return { clusterId, brokers, topics: topicList };
    },
  };
}

export function topicConfigsRequest(topics: string[], keys: string[]): WireRequest<TopicConfig[]> {
  return {
    name: 'DescribeConfigs',
    apiKey: 32,
    version: 2,
    encode: (w) =>
      w
        .array(topics, (topic) =>
          w
            .int8(TOPIC_RESOURCE)
            .string(topic)
            .array(keys, (key) => w.string(key)),
        )
        .bool(false), // IncludeSynonyms
    decode: (r) => {
      r.int32(); // ThrottleTimeMs
      return r.array(() => {
        const errorCode = r.int16();
        const errorMessage = r.string();
        r.int8(); // ResourceType
        const topic = r.string() ?? '';
        const values = new Map<string, string>();
        r.array(() => {
          const name = r.string() ?? '';
          const value = r.string();
          r.bool(); // ReadOnly
          r.int8(); // ConfigSource
          r.bool(); // IsSensitive
          r.array(() => [r.string(), r.string(), r.int8()]); // Synonyms (none asked for)
          if (value !== null) values.set(name, value);
        });
        return { topic, errorCode, errorMessage, values };
      });
    },
  };
}

export function electPreferredLeadersRequest(
  partitions: TopicPartitions[],
  timeoutMs: number,
): WireRequest<PartitionElection[]> {
  return {
    name: 'ElectLeaders',
    apiKey: 43,
    version: 1,
    encode: (w) =>
      w
        .int8(0) // ElectionType: preferred
        .array(partitions, ({ topic, partitions: ids }) => w.string(topic).array(ids, (id) => w.int32(id)))
        .int32(timeoutMs),
    decode: (r) => {
      r.int32(); // ThrottleTimeMs
      const errorCode = r.int16();
      if (errorCode !== 0) throw new Error(`ElectLeaders refused: ${errorName(errorCode)}`);
      return r
        .array(() => {
          const topic = r.string() ?? '';
          return r.array(() => {
            const partition = r.int32();
            const code = r.int16();
            const message = r.string();
            const error = code === 0 ? null : `${errorName(code)}${message ? `: ${message}` : ''}`;
            return { topic, partition, errorCode: code, error };
          });
        })
        .flat();
    },
  };
}

export function describeQuorumRequest(): WireRequest<MetadataQuorum> {
  const replica = (r: Reader): QuorumReplica => {
    const id = r.int32();
    const logEndOffset = r.int64();
    const lastFetchTimestamp = r.int64();
    const lastCaughtUpTimestamp = r.int64();
    r.skipTags();
    return { id, logEndOffset, lastFetchTimestamp, lastCaughtUpTimestamp };
  };
  return {
    name: 'DescribeQuorum',
    apiKey: 55,
    version: 1,
    flexible: true,
    encode: (w) =>
      w
        .compactArray([METADATA_LOG], (topic) =>
          w
            .compactString(topic)
            .compactArray([0], (partition) => w.int32(partition).noTags())
            .noTags(),
        )
        .noTags(),
    decode: (r) => {
      const topLevel = r.int16();
      const partitions = r
        .compactArray(() => {
          r.compactString(); // TopicName
          const found = r.compactArray(() => {
            r.int32(); // PartitionIndex
            const errorCode = r.int16();
            const leaderId = r.int32();
            const leaderEpoch = r.int32();
            const highWatermark = r.int64();
            const voters = r.compactArray(() => replica(r));
            const observers = r.compactArray(() => replica(r));
            r.skipTags();
            return { errorCode, leaderId, leaderEpoch, highWatermark, voters, observers };
          });
          r.skipTags();
          return found;
        })
        .flat();
      r.skipTags();
      const partition = partitions[0];
      if (topLevel !== 0 || !partition)
        return {
          errorCode: topLevel || 3,
          leaderId: -1,
          leaderEpoch: -1,
          highWatermark: -1,
          voters: [],
          observers: [],
        };
      return partition;
    },
  };
}

export interface KafkaWireAdminOptions {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  clientId?: string;
  /** Per request: connect, send, answer (default 10 s). */
  timeoutMs?: number;
}

/**
 * The admin requests over plain connections to the cluster's brokers. A request goes to the broker
 * that answered last, then to the bootstrap brokers, then to the brokers the last Metadata answer
 * named (a roll that replaces every bootstrap address still finds the cluster); the first answer
 * counts. When none answers, the error names what went wrong with each.
 */
export class KafkaWireAdmin implements KafkaAdmin {
  private readonly bootstrap: string[];
  private readonly clientId: string;
  private readonly timeoutMs: number;
  private learned: string[] = [];
  private lastGood: string | undefined;

  constructor(options: KafkaWireAdminOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaWireAdmin needs at least one broker');
    this.bootstrap = [...options.brokers];
    this.clientId = options.clientId ?? 'cutover-bot';
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async metadata(topics: string[] | null): Promise<ClusterMetadata> {
    const metadata = await this.send(metadataRequest(topics));
    this.learned = metadata.brokers.map((broker) => `${broker.host}:${broker.port}`);
    return metadata;
  }

  topicConfigs(topics: string[], keys: string[]): Promise<TopicConfig[]> {
    return this.send(topicConfigsRequest(topics, keys));
  }

  /** Any broker forwards the request to the controller; it answers once the change is committed. */
  electPreferredLeaders(partitions: TopicPartitions[]): Promise<PartitionElection[]> {
    return this.send(electPreferredLeadersRequest(partitions, this.timeoutMs), this.timeoutMs + 5_000);
  }

  quorum(): Promise<MetadataQuorum> {
    return this.send(describeQuorumRequest());
  }

  private async send<T>(request: WireRequest<T>, timeoutMs = this.timeoutMs): Promise<T> {
    const candidates = [
      ...new Set([...(this.lastGood ? [this.lastGood] : []), ...this.bootstrap, ...this.learned]),
    ];
    const failures: string[] = [];
    for (const address of candidates) {
      try {
        const answer = await send(address, request, { clientId: this.clientId, timeoutMs });
        this.lastGood = address;
        return answer;
      } catch (error) {
        // An answer that refuses the request would be the same from every broker.
        if (!(error instanceof BrokerUnreachable)) throw error;
        failures.push(error.message);
      }
    }
    throw new Error(`no Kafka broker answered ${request.name}: ${failures.join('; ')}`);
  }
}
