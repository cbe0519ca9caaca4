// Replication health of a Kafka cluster through a kafkajs Admin: under-replicated, offline and
// below-min-ISR partitions, the brokers the cluster sees, and which partitions a broker still leads.
import { ConfigResourceTypes, type Admin, type ITopicMetadata, type PartitionMetadata } from 'kafkajs';
import type { ClusterHealth, ClusterHealthPort } from '../../ports/cluster-health';

export interface KafkaClusterHealthOptions {
  /** A kafkajs Admin; the adapter connects it lazily and disconnects it on close(). */
  admin: Admin;
  /** Topics to watch; every topic (admin.listTopics()) when not given. */
  topics?: string[];
}

/** Broker default for min.insync.replicas when a topic does not report one. */
const DEFAULT_MIN_ISR = 1;

export class KafkaClusterHealth implements ClusterHealthPort {
  private readonly admin: Admin;
  private readonly topics: string[] | undefined;
  private connected: Promise<void> | undefined;

  constructor(options: KafkaClusterHealthOptions) {
    this.admin = options.admin;
    this.topics = options.topics ? [...options.topics] : undefined;
  }

  async health(): Promise<ClusterHealth> {
    await this.connect();
    const cluster = await this.admin.describeCluster();
    const members = cluster.brokers.map((broker) => String(broker.nodeId)).sort(byNumber);
    const metadata = await this.metadata();
    const minIsr = await this.minInsyncReplicas(metadata.map((topic) => topic.name));

    const detail: string[] = [];
    let lagging = 0;
    let belowMinIsr = 0;
    for (const topic of metadata) {
      const min = minIsr.get(topic.name) ?? DEFAULT_MIN_ISR;
      for (const partition of sortedPartitions(topic)) {
        const name = `${topic.name}/${partition.partitionId}`;
        let problem = false;
        if (partition.leader < 0) {
          problem = true;
          detail.push(`${name}: offline (no leader)`);
        }
        const offline = partition.offlineReplicas ?? [];
        if (offline.length > 0) {
          problem = true;
          detail.push(`${name}: offline replicas ${list(offline)}`);
        }
        if (partition.isr.length < partition.replicas.length) {
          problem = true;
          detail.push(`${name}: ISR ${list(partition.isr)} of replicas ${list(partition.replicas)}`);
        }
        if (problem) lagging++;
        if (partition.isr.length < min) {
          belowMinIsr++;
          detail.push(`${name}: ISR ${partition.isr.length} < min.insync.replicas ${min}`);
        }
      }
    }
    return { fullyReplicated: lagging === 0 && belowMinIsr === 0, laggingReplicas: lagging, members, detail };
  }

  /** `topic/partition` of every watched partition whose leader is broker `nodeId`. */
  async ledBy(nodeId: string): Promise<string[]> {
    await this.connect();
    const led: string[] = [];
    for (const topic of await this.metadata()) {
      for (const partition of sortedPartitions(topic)) {
        if (partition.leader >= 0 && String(partition.leader) === nodeId.trim()) {
          led.push(`${topic.name}/${partition.partitionId}`);
        }
      }
    }
    return led;
  }

  async close(): Promise<void> {
    this.connected = undefined;
    await this.admin.disconnect();
  }

  private connect(): Promise<void> {
    if (!this.connected) {
      this.connected = this.admin.connect().catch((error: unknown) => {
        this.connected = undefined;
        throw error;
      });
    }
    return this.connected;
  }

  private async metadata(): Promise<ITopicMetadata[]> {
    const topics = this.topics ?? (await this.admin.listTopics());
    if (topics.length === 0) return [];
    const { topics: metadata } = await this.admin.fetchTopicMetadata({ topics });
    return [...metadata].sort((a, b) => a.name.localeCompare(b.name));
  }

  private async minInsyncReplicas(topics: string[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    if (topics.length === 0) return result;
    const response = await this.admin.describeConfigs({
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['min.insync.replicas'],
      })),
      includeSynonyms: false,
    });
    for (const resource of response.resources) {
      if (resource.errorCode !== 0) {
        throw new Error(
          `describeConfigs for topic ${resource.resourceName} failed: ` +
            `${resource.errorMessage || 'error code ' + String(resource.errorCode)}`,
        );
      }
      const entry = resource.configEntries.find((e) => e.configName === 'min.insync.replicas');
      const value = entry ? Number(entry.configValue) : NaN;
      if (Number.isInteger(value) && value > 0) result.set(resource.resourceName, value);
    }
    return result;
  }
}

function sortedPartitions(topic: ITopicMetadata): PartitionMetadata[] {
  return [...topic.partitions].sort((a, b) => a.partitionId - b.partitionId);
}

function list(ids: number[]): string {
  return `[${ids.join(',')}]`;
}

function byNumber(a: string, b: string): number {
  return Number(a) - Number(b);
}
