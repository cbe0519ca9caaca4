// A private NATS JetStream cluster (n nats-server processes on free loopback ports), for tests
// that stop nodes, wipe their stores and watch the streams heal. Never the machine's own NATS.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import { freePort } from './redis-server';
import { waitFor } from './wait-for';

const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

export interface NatsNode {
  name: string;
  clientPort: number;
  clusterPort: number;
  storeDir: string;
  configPath: string;
  logPath: string;
  /** The running server, or null while stopped. */
  process: ChildProcess | null;
}

export interface NatsCluster {
  urls: string[];
  nodes: NatsNode[];
  dir: string;
  node(name: string): NatsNode;
  /** SIGTERM and wait for the exit. */
  stop(name: string): Promise<void>;
  /** Same ports and config; `emptyStore` wipes the store dir first (a fresh disk). */
  start(name: string, options?: { emptyStore?: boolean }): Promise<void>;
  /** Waits until the cluster answers JetStream API calls (it has a meta leader). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the directory. Safe to call twice. */
  destroy(): Promise<void>;
}

export async function startNatsCluster({ size = 3, name = 'cutover' } = {}): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-cluster-'));
  const nodes: NatsNode[] = [];
  for (let i = 1; i <= size; i++) {
    const nodeName = `n${i}`;
    nodes.push({
      name: nodeName,
      clientPort: await freePort(),
      clusterPort: await freePort(),
      storeDir: join(dir, nodeName),
      configPath: join(dir, `${nodeName}.conf`),
      logPath: join(dir, `${nodeName}.log`),
      process: null,
    });
  }
  for (const node of nodes) {
    const routes = nodes
      .filter((other) => other !== node)
      .map((other) => `    "nats-route://127.0.0.1:${other.clusterPort}"`)
      .join('\n');
    writeFileSync(
      node.configPath,
      [
        `server_name: "${node.name}"`,
        `listen: "127.0.0.1:${node.clientPort}"`,
        `jetstream {`,
        `  store_dir: "${node.storeDir}"`,
        `  max_memory_store: 64MB`,
        `  max_file_store: 256MB`,
        `}`,
        `cluster {`,
        `  name: "${name}"`,
        `  listen: "127.0.0.1:${node.clusterPort}"`,
        `  routes: [`,
        routes,
        `  ]`,
        `}`,
        '',
      ].join('\n'),
    );
  }
  const urls = nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`);

  const find = (nodeName: string): NatsNode => {
    const node = nodes.find((candidate) => candidate.name === nodeName);
    if (!node) throw new Error(`no NATS node ${nodeName}`);
    return node;
  };

  const launch = (node: NatsNode): void => {
    mkdirSync(node.storeDir, { recursive: true });
    const log = createWriteStream(node.logPath, { flags: 'a' });
    const child = spawn(NATS_SERVER, ['-c', node.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('exit', () => {
      if (node.process === child) node.process = null;
    });
    node.process = child;
  };

  const stop = async (nodeName: string): Promise<void> => {
    const node = find(nodeName);
    const child = node.process;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    node.process = null;
  };

  const waitListening = async (node: NatsNode): Promise<void> => {
    await waitFor(
      `${node.name} to accept clients`,
      async () => {
        if (!node.process) throw new Error(`${node.name} exited; see ${node.logPath}`);
        const nc = await connect({ servers: `nats://127.0.0.1:${node.clientPort}`, reconnect: false });
        await nc.close();
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  };

  const waitReady = async (timeoutMs = 30_000): Promise<void> => {
    const nc = await connect({ servers: urls, reconnect: true, maxReconnectAttempts: -1 });
    try {
      const jsm = await nc.jetstreamManager({ timeout: 2_000, checkAPI: false });
      await waitFor('a JetStream meta leader', async () => Boolean(await jsm.getAccountInfo()), {
        timeoutMs,
        intervalMs: 200,
      });
    } finally {
      await nc.close();
    }
  };

  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => stop(node.name)));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    nodes.forEach(launch);
    await Promise.all(nodes.map(waitListening));
    await waitReady();
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    urls,
    nodes,
    dir,
    node: find,
    stop,
    start: async (nodeName, { emptyStore = false } = {}) => {
      const node = find(nodeName);
      if (node.process) throw new Error(`${nodeName} is already running`);
      if (emptyStore) rmSync(node.storeDir, { recursive: true, force: true });
      launch(node);
      await waitListening(node);
    },
    waitReady,
    destroy,
  };
}

export interface Publisher {
  /** Sequence numbers JetStream acknowledged, in order. */
  acked: number[];
  /** Publishes that failed (no ack: leader change, node down); they may or may not be stored. */
  failures: number;
  /** Stops publishing and closes the connection; resolves once the loop has ended. */
  stop(): Promise<void>;
}

/** Creates an R3 stream if missing and publishes to it continuously, recording acked sequences. */
export async function startPublisher(
  urls: string[],
  stream: string,
  subject: string,
  { intervalMs = 10, replicas = 3 }: { intervalMs?: number; replicas?: number } = {},
): Promise<Publisher> {
  const nc: NatsConnection = await connect({
    servers: urls,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({
        name: stream,
        subjects: [subject],
        num_replicas: replicas,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
      });
    }
  } catch (error) {
    await nc.close();
    throw error;
  }
  const js = nc.jetstream({ timeout: 2_000 });
  const publisher: Publisher = { acked: [], failures: 0, stop: async () => undefined };
  let running = true;
  let counter = 0;
  const loop = (async () => {
    while (running) {
      counter++;
      try {
        const ack = await js.publish(subject, new TextEncoder().encode(`message ${counter}`), {
          msgID: `${stream}-${counter}`,
        });
        publisher.acked.push(ack.seq);
      } catch {
        publisher.failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  publisher.stop = async () => {
    running = false;
    await loop;
    await nc.close();
  };
  return publisher;
}
