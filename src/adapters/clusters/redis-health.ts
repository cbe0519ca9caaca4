// Replication health of a Redis primary and its replicas, read from the primary's
// `INFO replication`. A replica counts as in sync only when it is online and has acknowledged
// exactly the primary's replication offset; offsets move under writes and replicas acknowledge
// about once a second, so a lagging reading is re-read a few times before it is believed.
import IORedis, { type Redis } from 'ioredis';
import type { ClusterHealth, ClusterHealthPort } from '../../ports/cluster-health';

export interface RedisReplicationHealthOptions {
  /** redis:// URL of the primary. */
  primary: string;
  /** How many replicas the primary must have, all online and current. */
  expectedReplicas: number;
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
}

/** Parses the text of `INFO replication` (fields the health check needs; the rest is ignored). */
export function parseReplicationInfo(text: string): RedisReplicationInfo {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
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
  return {
    role: fields.get('role') ?? 'unknown',
    connectedReplicas: Number(fields.get('connected_slaves') ?? replicas.length),
    masterReplOffset: Number(fields.get('master_repl_offset') ?? NaN),
    replicas,
  };
}

export class RedisReplicationHealth implements ClusterHealthPort {
  private readonly redis: Redis;
  private readonly expectedReplicas: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly primaryLabel: string;
  /** Replicas seen in earlier readings, so one that disappears can be named. */
  private readonly seen = new Set<string>();

  constructor(options: RedisReplicationHealthOptions) {
    const timeoutMs = options.timeoutMs ?? 2000;
    this.expectedReplicas = options.expectedReplicas;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.primaryLabel = redactUrl(options.primary);
    this.redis = new IORedis(options.primary, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableReadyCheck: false,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // Connection errors surface through the rejected command; without a listener ioredis logs them.
    this.redis.on('error', () => undefined);
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
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
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
      if (replica.state !== 'online') {
        lagging++;
        detail.push(`${replica.address}: state ${replica.state} (not online)`);
      } else if (replica.offset !== info.masterReplOffset) {
        lagging++;
        const behind = info.masterReplOffset - replica.offset;
        detail.push(
          `${replica.address}: offset ${replica.offset} of ${info.masterReplOffset} (${behind} bytes behind${lagText})`,
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

    return { fullyReplicated: lagging === 0, laggingReplicas: lagging, members, detail };
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'primary';
  }
}
