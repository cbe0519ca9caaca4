// A private Redis primary with replicas on free loopback ports, for replication-health tests.
// No persistence anywhere: a replica started again comes up empty and resyncs from the primary.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateRedis, type PrivateRedis } from './redis-server';

export interface RedisReplicaHandle {
  port: number;
  url: string;
}

export interface RedisReplicaSet {
  primaryUrl: string;
  primaryPort: number;
  replicas: RedisReplicaHandle[];
  /** Stops replica i (SIGTERM): the primary sees its link drop. */
  stopReplica(i: number): Promise<void>;
  /** Starts replica i again on the same port, empty, so it resyncs. */
  startReplica(i: number): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRedisReplicaSet({
  replicas = 2,
}: { replicas?: number } = {}): Promise<RedisReplicaSet> {
  // A full resync writes an RDB file (the primary's snapshot, the replica's copy): keep it out of the repo.
  const dir = await mkdtemp(join(tmpdir(), 'redis-replicas-'));
  const primary = await startPrivateRedis([
    '--dir',
    dir,
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
  ]);
  const running: (PrivateRedis | undefined)[] = [];
  const replicaArgs = [
    '--dir',
    dir,
    '--repl-diskless-load',
    'on-empty-db',
    '--replicaof',
    '127.0.0.1',
    String(primary.port),
  ];
  try {
    for (let i = 0; i < replicas; i++) running.push(await startPrivateRedis(replicaArgs));
  } catch (error) {
    for (const server of running) await server?.stop();
    await primary.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const handles: RedisReplicaHandle[] = running.map((server) => ({ port: server!.port, url: server!.url }));

  const at = (i: number): RedisReplicaHandle => {
    const handle = handles[i];
    if (!handle) throw new Error(`no replica ${i} (have ${handles.length})`);
    return handle;
  };

  return {
    primaryUrl: primary.url,
    primaryPort: primary.port,
    replicas: handles,
    async stopReplica(i) {
      at(i);
      const server = running[i];
      running[i] = undefined;
      await server?.stop();
    },
    async startReplica(i) {
      const handle = at(i);
      if (running[i]) return;
      running[i] = await startPrivateRedis(replicaArgs, handle.port);
    },
    async destroy() {
      for (let i = 0; i < running.length; i++) {
        const server = running[i];
        running[i] = undefined;
        await server?.stop();
      }
      await primary.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
