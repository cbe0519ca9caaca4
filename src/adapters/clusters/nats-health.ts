// Replication health of a NATS JetStream cluster. The stream info of each stream (answered by its
// leader) says whether it has a leader and every replica is current with no lag. That view alone
// is not enough after a node is replaced: the leader judges a replica by what the peer of that
// name last acknowledged, so for as long as no new message is stored, a server restarted on an
// empty disk reads "current, lag 0" on the strength of its previous process's acks (seen on a
// real cluster: a wiped node counted as recovered 166 ms after its restart, before it held the
// stream). So each node is also asked itself, through its monitoring port: which process it is
// (`/varz` server_id, new at every start) and what it holds (`/jsz`: every stream it is a peer of,
// up to the last sequence the leader reported before).
import { connect, type JetStreamManager, type NatsConnection, type StreamInfo } from 'nats';
import { z } from 'zod';
import type { ClusterHealth, ClusterHealthPort, CopyAtRisk, NodeReading } from '../../ports/cluster-health';

export interface NatsNodeMonitor {
  /** The server's name (`server_name`), as the stream peers list it. */
  id: string;
  /** Its HTTP monitoring base URL (`http_port`, usually 8222): http://nats-1.internal:8222 */
  monitor: string;
}

export interface NatsClusterHealthOptions {
  servers: string[];
  /** Streams to check; default: every stream of the account. */
  streams?: string[];
  /** Ask each node itself what it holds (see the top of this file). */
  nodes?: NatsNodeMonitor[];
  /** Connect, JetStream API and monitoring timeout in ms (default 5000). */
  timeoutMs?: number;
}

/** What one stream needs of each of its peers: to hold it up to the leader's last sequence. */
interface StreamWatermark {
  name: string;
  peers: string[];
  lastSeq: number;
}

const varzSchema = z.object({ server_id: z.string().min(1), server_name: z.string() });
const jszSchema = z.object({
  server_id: z.string().min(1),
  /** The JetStream meta group as this server sees it: no leader while it has not joined the cluster. */
  meta_cluster: z.object({ leader: z.string().optional() }).optional(),
  account_details: z
    .array(
      z.object({
        stream_detail: z
          .array(z.object({ name: z.string(), state: z.object({ last_seq: z.number() }) }))
          .optional(),
      }),
    )
    .optional(),
});

export class NatsClusterHealth implements ClusterHealthPort {
  private connection: Promise<{ nc: NatsConnection; jsm: JetStreamManager }> | undefined;

  constructor(private readonly options: NatsClusterHealthOptions) {}

  async health(): Promise<ClusterHealth> {
    const { jsm } = await this.connect();
    const names = this.options.streams ?? (await listStreams(jsm));
    const members = new Set<string>();
    const detail: string[] = [];
    const watermarks: StreamWatermark[] = [];
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
      watermarks.push({ name, peers: result.members, lastSeq: info.state.last_seq });
      result.members.forEach((member) => members.add(member));
      detail.push(...result.detail);
      laggingReplicas += result.lagging;
      if (!result.healthy) fullyReplicated = false;
    }
    // Nothing answered at all: the cluster cannot be read, which is not a health reading.
    if (names.length > 0 && failures.length === names.length) throw failures[0];
    if (!this.options.nodes)
      return { fullyReplicated, laggingReplicas, members: [...members].sort(), detail };

    // Read after the stream infos: a node that holds the leader's earlier last sequence is current.
    const nodes = await Promise.all(this.options.nodes.map((node) => this.readNode(node, watermarks)));
    for (const node of nodes) {
      detail.push(...node.detail);
      if (!node.holdsAll) {
        fullyReplicated = false;
        laggingReplicas += 1;
      }
    }
    // Members are the configured servers in the cluster now, whether or not they host a replica.
    const joined = nodes.filter((node) => node.joined).map((node) => node.id);
    return {
      fullyReplicated,
      laggingReplicas,
      members: joined.sort(),
      detail,
      nodes: nodes.map(({ joined: _joined, ...reading }) => reading),
    };
  }

  /**
   * Streams that cannot spare one of `nodes` while it is replaced: an R1 stream whose one copy is on
   * it, or a stream whose RAFT group loses its quorum without it (R2: both peers are needed), so
   * publishes to it stop until the node is back.
   */
  async copiesAtRisk(nodes: string[]): Promise<CopyAtRisk[]> {
    const { jsm } = await this.connect();
    const wanted = new Set(nodes);
    const atRisk: CopyAtRisk[] = [];
    for (const name of this.options.streams ?? (await listStreams(jsm))) {
      const info = await jsm.streams.info(name);
      const leader = info.cluster?.leader;
      const replicas = [...(leader ? [leader] : []), ...(info.cluster?.replicas ?? []).map((r) => r.name)];
      const size = Math.max(info.config.num_replicas || 1, replicas.length);
      const quorum = Math.floor(size / 2) + 1;
      for (const node of replicas.filter((peer) => wanted.has(peer))) {
        if (size === 1)
          atRisk.push({
            name,
            node,
            replicas,
            risk: 'only_copy',
            detail: `${name}: R1, its only copy is on ${node}`,
          });
        else if (size - 1 < quorum)
          atRisk.push({
            name,
            node,
            replicas,
            risk: 'writes_stop',
            detail: `${name}: R${size} loses its quorum while ${node} is out: publishes stop`,
          });
      }
    }
    return atRisk;
  }

  /** One node's own view: its process and, for each stream it is a peer of, its last sequence. */
  private async readNode(
    node: NatsNodeMonitor,
    streams: StreamWatermark[],
  ): Promise<NodeReading & { joined: boolean }> {
    const assigned = streams.filter((stream) => stream.peers.includes(node.id));
    const missing = (why: string): NodeReading & { joined: boolean } => ({
      id: node.id,
      incarnation: null,
      // A node that is the peer of nothing lacks nothing, answering or not.
      holdsAll: assigned.length === 0,
      detail: [`${node.id}: ${why}`],
      joined: false,
    });
    let varz: z.infer<typeof varzSchema>;
    let jsz: z.infer<typeof jszSchema>;
    try {
      varz = varzSchema.parse(await this.monitorGet(node.monitor, 'varz'));
      jsz = jszSchema.parse(await this.monitorGet(node.monitor, 'jsz?accounts=true&streams=true'));
    } catch (error) {
      return missing(`monitoring at ${node.monitor} does not answer (${(error as Error).message})`);
    }
    if (varz.server_name !== node.id)
      return missing(`monitoring at ${node.monitor} answers as server ${varz.server_name}`);
    if (jsz.server_id !== varz.server_id) return missing('restarted while it was being read');
    // Answering is not being in the cluster: a server counts once it sees the meta group's leader.
    if (!jsz.meta_cluster?.leader) {
      const notJoined = missing('answers, but sees no JetStream meta leader (not in the cluster yet)');
      return { ...notJoined, incarnation: varz.server_id, holdsAll: false };
    }
    const held = new Map<string, number>();
    for (const account of jsz.account_details ?? [])
      for (const stream of account.stream_detail ?? [])
        held.set(stream.name, Math.max(held.get(stream.name) ?? 0, stream.state.last_seq));
    const detail: string[] = [];
    for (const stream of assigned) {
      const lastSeq = held.get(stream.name);
      if (lastSeq === undefined) detail.push(`${node.id}: holds no copy of ${stream.name}`);
      else if (lastSeq < stream.lastSeq)
        detail.push(`${node.id}: ${stream.name} at seq ${lastSeq} of ${stream.lastSeq}`);
    }
    return { id: node.id, incarnation: varz.server_id, holdsAll: detail.length === 0, detail, joined: true };
  }

  private async monitorGet(base: string, path: string): Promise<unknown> {
    const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
    const response = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${url.pathname}`);
    return response.json();
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
