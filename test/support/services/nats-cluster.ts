// A private NATS JetStream cluster (n nats-server processes on free loopback ports), for tests
// that stop nodes, wipe their stores and watch the streams heal. Never the machine's own NATS.
// Servers are tracked by pid file, not by handle, so a hook process can replace one (see
// nats-node-ctl.ts) and the cluster still finds, stops and finally kills the new server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import {
  killHooksOf,
  killServersUnder,
  runningPid,
  startNode,
  stopNode,
  writeNodeSpec,
  type NatsNodeSpec,
} from './nats-node-process';
import { freePort } from './redis-server';
import { waitFor } from '../wait-for';

export type NatsNode = NatsNodeSpec;

export interface NatsCluster {
  urls: string[];
  /** Each node's id and monitoring URL, as a rolling-replace target lists its nodes. */
  monitors: { id: string; monitor: string }[];
  nodes: NatsNode[];
  dir: string;
  node(name: string): NatsNode;
  /** The pid of the node's running server (whoever started it), or null while it is down. */
  pid(name: string): number | null;
  /** SIGTERM and wait for the exit. */
  stop(name: string): Promise<void>;
  /** Same ports and config; `emptyStore` wipes the store dir first (a fresh disk). */
  start(name: string, options?: { emptyStore?: boolean }): Promise<void>;
  /** Waits until the cluster answers JetStream API calls (it has a meta leader). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Stops every server of the cluster, also ones hooks started, and removes the directory. Safe to call twice. */
  destroy(): Promise<void>;
}

const CTL_SCRIPT = join(__dirname, 'nats-node-ctl.ts');
const REPO_ROOT = join(__dirname, '..', '..', '..');

/**
 * A hook argv that runs nats-node-ctl.ts on `{node}` of this cluster (see that file for the
 * actions and options), and the working directory it needs (where `tsx` resolves).
 */
export function nodeCtlHook(
  cluster: Pick<NatsCluster, 'dir'>,
  action: 'replace' | 'stop' | 'start',
  options: { emptyStore?: string[]; log?: string; holdWhile?: string } = {},
): { command: string[]; cwd: string; env?: Record<string, string> } {
  const command = [process.execPath, '--import', 'tsx', CTL_SCRIPT, cluster.dir, '{node}', action];
  if (options.emptyStore?.length) command.push('--empty-store', options.emptyStore.join(','));
  if (options.log) command.push('--log', options.log);
  if (options.holdWhile) command.push('--hold-while', options.holdWhile);
  // Hooks see PATH, HOME and LANG only: pass a non-default server binary on explicitly.
  const bin = process.env['NATS_SERVER_BIN'];
  return { command, cwd: REPO_ROOT, ...(bin ? { env: { NATS_SERVER_BIN: bin } } : {}) };
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
      monitorPort: await freePort(),
      storeDir: join(dir, nodeName),
      configPath: join(dir, `${nodeName}.conf`),
      logPath: join(dir, `${nodeName}.log`),
      pidFile: join(dir, `${nodeName}.pid`),
      specPath: join(dir, `${nodeName}.json`),
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
        `http: "127.0.0.1:${node.monitorPort}"`,
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
    writeNodeSpec(node);
  }
  const urls = nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`);
  const monitors = nodes.map((node) => ({ id: node.name, monitor: `http://127.0.0.1:${node.monitorPort}` }));

  const find = (nodeName: string): NatsNode => {
    const node = nodes.find((candidate) => candidate.name === nodeName);
    if (!node) throw new Error(`no NATS node ${nodeName}`);
    return node;
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
    await killHooksOf(dir);
    await Promise.all(nodes.map((node) => stopNode(node)));
    // Servers a hook started and lost track of (killed before it wrote the pid file).
    await killServersUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(nodes.map((node) => startNode(node)));
    await waitReady();
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    urls,
    monitors,
    nodes,
    dir,
    node: find,
    pid: (nodeName) => runningPid(find(nodeName)),
    stop: async (nodeName) => {
      await stopNode(find(nodeName));
    },
    start: async (nodeName, options = {}) => {
      await startNode(find(nodeName), options);
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
