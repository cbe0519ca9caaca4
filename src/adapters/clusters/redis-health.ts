// Replication health of a Redis primary and its replicas, read from the primary's
// `INFO replication`, and (with `nodes`) from each replica's own. A replica counts as in sync when it
// is online and its acknowledged offset is within `maxLagBytes` of the primary's: under steady writes
// the primary's offset moves on between a replica's acknowledgements (about one a second), so an
// exact match may never be read. A lagging reading is re-read a few times before it is believed; the
// rolling-replace recover step asks for several healthy readings in a row on top.
//
// A replica's own view says what the primary's cannot: which process answers (`run_id`, new at every
// start, so a replacement is told from the replica it replaced) and whether its link to the primary
// is up with no full sync under way (`master_link_status:up`, `master_sync_in_progress:0`).
import IORedis, { type Redis } from 'ioredis';
import type { ClusterHealth, ClusterHealthPort, NodeReading } from '../../ports/cluster-health';

export interface RedisReplicationHealthOptions {
  /** redis:// URL of the primary. */
  primary: string;
  /** How many replicas the primary must have, all online and current. */
  expectedReplicas: number;
  /** Bytes a replica may be behind the primary's offset and still count as in sync (default 1 MiB). */
  maxLagBytes?: number;
  /**
   * Replicas (`ip:port`, as the primary lists them) to ask one by one in `nodes`; the primary's
   * credentials are used. No `nodes` when not given.
   */
  nodes?: string[];
  /** Readings taken before a lagging verdict stands (default 3). */
  attempts?: number;
  /** Pause between those readings in ms (default 50). */
  retryDelayMs?: number;
  /** Connect and command timeout in ms (default 2000). */
  timeoutMs?: number;
}

export interface RedisReplica {
  /** `ip:port` as the replica announced itself. */
  address: string;
  state: string;
  offset: number;
  lag: number | undefined;
}

export interface RedisReplicationInfo {
  role: string;
  connectedReplicas: number;
  masterReplOffset: number;
  replicas: RedisReplica[];
  /** On a replica: `up` while its link to the primary is. */
  masterLinkStatus: string | undefined;
  /** On a replica: a full sync from the primary is under way. */
  syncInProgress: boolean;
  /** On a replica: the replication offset it has processed. */
  replicaOffset: number;
}

/** Default lag tolerance: a second of heavy writes, far less than a full resync brings. */
export const DEFAULT_MAX_LAG_BYTES = 1024 * 1024;

/** Parses the text of `INFO replication` (fields the health check needs; the rest is ignored). */
export function parseReplicationInfo(text: string): RedisReplicationInfo {
  const fields = fieldsOf(text);
  const replicas = replicasOf(fields);
  return {
    role: fields.get('role') ?? 'unknown',
    connectedReplicas: Number(fields.get('connected_slaves') ?? replicas.length),
    masterReplOffset: Number(fields.get('master_repl_offset') ?? NaN),
    replicas,
    masterLinkStatus: fields.get('master_link_status'),
    syncInProgress: fields.get('master_sync_in_progress') === '1',
    replicaOffset: Number(fields.get('slave_repl_offset') ?? NaN),
  };
}

function fieldsOf(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function replicasOf(fields: Map<string, string>): RedisReplica[] {
  const replicas: RedisReplica[] = [];
  for (const [key, value] of fields) {
    if (!/^slave\d+$/.test(key)) continue;
    const attrs = new Map<string, string>();
    for (const pair of value.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) attrs.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const lag = attrs.get('lag');
    replicas.push({
      address: `${attrs.get('ip') ?? '?'}:${attrs.get('port') ?? '?'}`,
      state: attrs.get('state') ?? 'unknown',
      offset: Number(attrs.get('offset') ?? NaN),
      lag: lag === undefined ? undefined : Number(lag),
    });
  }
  return replicas;
}

export class RedisReplicationHealth implements ClusterHealthPort {
  private readonly redis: Redis;
  private readonly expectedReplicas: number;
  private readonly maxLagBytes: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly primaryLabel: string;
  /** One connection per replica asked itself (`nodes`), by address. */
  private readonly replicaClients = new Map<string, Redis>();
  /** Replicas seen in earlier readings, so one that disappears can be named. */
  private readonly seen = new Set<string>();

  constructor(private readonly options: RedisReplicationHealthOptions) {
    this.expectedReplicas = options.expectedReplicas;
    this.maxLagBytes = options.maxLagBytes ?? DEFAULT_MAX_LAG_BYTES;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.primaryLabel = redactUrl(options.primary);
    this.redis = this.client(options.primary);
    for (const address of options.nodes ?? [])
      this.replicaClients.set(address, this.client(replicaUrl(options.primary, address)));
  }

  async health(): Promise<ClusterHealth> {
    let reading = await this.read();
    for (let attempt = 1; attempt < this.attempts && !reading.fullyReplicated; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      reading = await this.read();
    }
    return reading;
  }

  async close(): Promise<void> {
    await Promise.all([this.redis, ...this.replicaClients.values()].map(closeClient));
  }

  private client(url: string): Redis {
    const timeoutMs = this.options.timeoutMs ?? 2000;
    const redis = new IORedis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableReadyCheck: false,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // Connection errors surface through the rejected command; without a listener ioredis logs them.
    redis.on('error', () => undefined);
    return redis;
  }

  private async read(): Promise<ClusterHealth> {
    const info = parseReplicationInfo(await this.redis.info('replication'));
    const detail: string[] = [];
    let lagging = 0;
    const members = info.replicas.map((replica) => replica.address);

    if (info.role !== 'master') {
      return {
        fullyReplicated: false,
        laggingReplicas: this.expectedReplicas,
        members,
        detail: [`${this.primaryLabel}: role is ${info.role}, not master`],
      };
    }

    for (const replica of info.replicas) {
      const lagText = replica.lag === undefined ? '' : `, lag ${replica.lag}s`;
      const behind = info.masterReplOffset - replica.offset;
      if (replica.state !== 'online') {
        lagging++;
        detail.push(`${replica.address}: state ${replica.state} (not online)`);
      } else if (!(behind <= this.maxLagBytes)) {
        lagging++;
        detail.push(
          `${replica.address}: offset ${replica.offset} of ${info.masterReplOffset} (${behind} bytes behind, more than ${this.maxLagBytes}${lagText})`,
        );
      }
    }

    const connected = info.replicas.length;
    const missing = Math.max(0, this.expectedReplicas - connected);
    if (missing > 0) {
      lagging += missing;
      const gone = [...this.seen].filter((address) => !members.includes(address));
      const named = gone.length > 0 ? ` (no longer connected: ${gone.join(', ')})` : '';
      detail.push(`${connected} of ${this.expectedReplicas} expected replicas connected${named}`);
    }
    for (const address of members) this.seen.add(address);

    const fullyReplicated = lagging === 0;
    if (!this.options.nodes) return { fullyReplicated, laggingReplicas: lagging, members, detail };
    // Read after the primary: a replica within the lag of that earlier offset is within it now.
    const nodes = await Promise.all(
      this.options.nodes.map((address) => this.readReplica(address, info, members.includes(address))),
    );
    for (const node of nodes) detail.push(...node.detail);
    return { fullyReplicated, laggingReplicas: lagging, members, detail, nodes };
  }

  /** One replica's own view: its process, its link to the primary, its offset. */
  private async readReplica(
    address: string,
    primary: RedisReplicationInfo,
    listed: boolean,
  ): Promise<NodeReading> {
    const redis = this.replicaClients.get(address)!;
    let runId: string | undefined;
    let own: RedisReplicationInfo;
    try {
      runId = fieldsOf(await redis.info('server')).get('run_id');
      own = parseReplicationInfo(await redis.info('replication'));
    } catch (error) {
      return {
        id: address,
        incarnation: null,
        holdsAll: false,
        detail: [`${address}: does not answer (${(error as Error).message})`],
      };
    }
    const detail: string[] = [];
    const behind = primary.masterReplOffset - own.replicaOffset;
    if (own.role !== 'slave') detail.push(`${address}: role is ${own.role}, not a replica`);
    else if (own.masterLinkStatus !== 'up')
      detail.push(`${address}: master_link_status ${own.masterLinkStatus ?? 'unknown'}`);
    else if (own.syncInProgress) detail.push(`${address}: a full sync from the primary is under way`);
    else if (!(behind <= this.maxLagBytes))
      detail.push(
        `${address}: offset ${own.replicaOffset} of ${primary.masterReplOffset} (${behind} bytes behind)`,
      );
    if (!listed) detail.push(`${address}: not among the primary's replicas`);
    return { id: address, incarnation: runId ?? null, holdsAll: detail.length === 0, detail };
  }
}

async function closeClient(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** The replica's URL: the primary's, with the replica's host and port (same credentials and scheme). */
function replicaUrl(primary: string, address: string): string {
  const url = new URL(primary);
  const colon = address.lastIndexOf(':');
  url.hostname = address.slice(0, colon);
  url.port = address.slice(colon + 1);
  return url.toString();
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'primary';
  }
}
