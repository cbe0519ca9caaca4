// A private Redis primary, one replica and three Sentinels (Debian's redis-sentinel) on free loopback
// ports, for tests of REDIS_URL=redis+sentinel://…: the Sentinels fail the primary over when it goes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import IORedis from 'ioredis';
import { freePort, startPrivateRedis, type PrivateRedis } from './redis-server';
import { waitFor } from '../wait-for';

export const MASTER_NAME = 'cutover-primary';
const SENTINELS = 3;
const QUORUM = 2;

export interface SentinelSet {
  primary: PrivateRedis;
  replica: PrivateRedis;
  sentinelPorts: number[];
  /** REDIS_URL naming the Sentinels. */
  url: string;
  /** The port of the server the Sentinels currently name as primary. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

async function ask<T>(port: number, ...args: string[]): Promise<T> {
  const client = new IORedis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return (await client.call(args[0]!, ...args.slice(1))) as T;
  } finally {
    client.disconnect();
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-sentinel-'));
  const primary = await startPrivateRedis();
  const replica = await startPrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  try {
    for (let i = 0; i < SENTINELS; i++) {
      const port = await freePort();
      // Sentinel rewrites its own file (it records what it learns): one writable file each.
      const conf = path.join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} ${QUORUM}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(spawn('redis-sentinel', [conf], { stdio: 'ignore' }));
      sentinelPorts.push(port);
    }
    // Ready when every Sentinel knows the replica and the other Sentinels: a failover needs both.
    await waitFor('the Sentinels to see the replica and each other', async () => {
      for (const port of sentinelPorts) {
        const replicas = await ask<unknown[]>(port, 'SENTINEL', 'REPLICAS', MASTER_NAME);
        const peers = await ask<unknown[]>(port, 'SENTINEL', 'SENTINELS', MASTER_NAME);
        if (replicas.length !== 1 || peers.length !== SENTINELS - 1) return false;
      }
      return true;
    });
  } catch (error) {
    await Promise.all([...sentinels.map(stopProcess), replica.stop(), primary.stop()]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const hosts = sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',');
  return {
    primary,
    replica,
    sentinelPorts,
    url: `redis+sentinel://${hosts}/${MASTER_NAME}`,
    async primaryPort() {
      const [, port] = await ask<[string, string]>(
        sentinelPorts[0]!,
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        MASTER_NAME,
      );
      return Number(port);
    },
    async stop() {
      await Promise.all([...sentinels.map(stopProcess), replica.stop(), primary.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
