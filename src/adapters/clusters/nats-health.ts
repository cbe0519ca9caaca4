// Replication health of a NATS JetStream cluster, read from the stream info of each stream: a
// stream is fully replicated when it has a leader and every replica is current with no lag.
import { connect, type JetStreamManager, type NatsConnection, type StreamInfo } from 'nats';
import type { ClusterHealth, ClusterHealthPort } from '../../ports/cluster-health';

export interface NatsClusterHealthOptions {
  servers: string[];
  /** Streams to check; default: every stream of the account. */
  streams?: string[];
  /** Connect and JetStream API timeout in ms (default 5000). */
  timeoutMs?: number;
}

export class NatsClusterHealth implements ClusterHealthPort {
  private connection: Promise<{ nc: NatsConnection; jsm: JetStreamManager }> | undefined;

  constructor(private readonly options: NatsClusterHealthOptions) {}

  async health(): Promise<ClusterHealth> {
    const { jsm } = await this.connect();
    const names = this.options.streams ?? (await listStreams(jsm));
    const members = new Set<string>();
    const detail: string[] = [];
    let laggingReplicas = 0;
    let fullyReplicated = true;
    const failures: unknown[] = [];
    for (const name of names) {
      let info: StreamInfo;
      try {
        info = await jsm.streams.info(name);
      } catch (error) {
        // A stream without a leader does not answer; the cluster may still be reachable.
        failures.push(error);
        fullyReplicated = false;
        detail.push(`${name}: no stream info (${error instanceof Error ? error.message : String(error)})`);
        continue;
      }
      const result = assessStream(info);
      result.members.forEach((member) => members.add(member));
      detail.push(...result.detail);
      laggingReplicas += result.lagging;
      if (!result.healthy) fullyReplicated = false;
    }
    // Nothing answered at all: the cluster cannot be read, which is not a health reading.
    if (names.length > 0 && failures.length === names.length) throw failures[0];
    return { fullyReplicated, laggingReplicas, members: [...members].sort(), detail };
  }

  async close(): Promise<void> {
    const pending = this.connection;
    this.connection = undefined;
    if (!pending) return;
    try {
      const { nc } = await pending;
      await nc.close();
    } catch {
      // never connected: nothing to close
    }
  }

  private connect(): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
    if (!this.connection) {
      const pending = (async () => {
        const nc = await connect({
          servers: this.options.servers,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          timeout: this.options.timeoutMs ?? 5000,
          name: 'cutover-bot-health',
        });
        const timeout = this.options.timeoutMs ?? 5000;
        return { nc, jsm: await nc.jetstreamManager({ timeout, checkAPI: false }) };
      })();
      this.connection = pending;
      // A failed connect is retried by the next reading.
      pending.catch(() => {
        if (this.connection === pending) this.connection = undefined;
      });
    }
    return this.connection;
  }
}

async function listStreams(jsm: JetStreamManager): Promise<string[]> {
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  return names.sort();
}

/** One stream's replication state; exported for unit tests. */
export function assessStream(info: StreamInfo): {
  healthy: boolean;
  lagging: number;
  members: string[];
  detail: string[];
} {
  const name = info.config.name;
  const wanted = Math.max(0, (info.config.num_replicas || 1) - 1);
  const leader = info.cluster?.leader;
  const replicas = info.cluster?.replicas ?? [];
  const members: string[] = [];
  const detail: string[] = [];
  let lagging = 0;
  if (leader) members.push(leader);
  else detail.push(`${name}: no leader`);
  for (const replica of replicas) {
    members.push(replica.name);
    const lag = replica.lag ?? 0;
    if (replica.offline) {
      lagging++;
      detail.push(`${name}: replica ${replica.name} not current (offline, lag ${lag})`);
    } else if (!replica.current || lag > 0) {
      lagging++;
      detail.push(`${name}: replica ${replica.name} not current (lag ${lag})`);
    }
  }
  const missing = Math.max(0, wanted - replicas.length);
  if (missing > 0) {
    lagging += missing;
    detail.push(`${name}: ${missing} of ${wanted} replicas missing`);
  }
  return { healthy: Boolean(leader) && detail.length === 0, lagging, members, detail };
}
