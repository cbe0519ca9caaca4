// A private Kafka 4 cluster in KRaft mode for tests that stop brokers, wipe or move their disks and
// watch the partitions heal: one dedicated controller and three brokers, each a `kafka.Kafka` JVM on
// free loopback ports with its own log directory under a fresh temp folder. Never anyone's Kafka.
//
// Why a dedicated controller rather than three combined broker+controller nodes: what a rolling
// replacement replaces, and what the bot watches, are brokers. On a combined node a fresh disk would
// also wipe a metadata-quorum voter, and stopping a broker would also cost a controller election;
// both are a controller replacement, a different procedure with its own risks. A broker-only node
// behaves as a production broker does (Kafka does not recommend combined mode for production). One
// controller suffices because the tests never stop it; it is one more small JVM, mostly idle.
//
// Processes are tracked by pid file (kafka-node-process.ts), so a hook in another process can
// replace a broker and the cluster still finds and finally kills it.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import {
  CONTROLLER_NODE_ID,
  killJvmsUnder,
  killHooksOf,
  killJvmsUnderNow,
  makeClusterDir,
  moveNode,
  readNodeSpec,
  runningPid,
  startNode,
  stopNode,
  sweepOrphans,
  writeNodeSpec,
  type KafkaNodeSpec,
} from './kafka-node-process';
import { freePort } from './redis-server';
import { waitFor } from '../wait-for';

export interface KafkaCluster {
  /** `127.0.0.1:port` of each broker, as a target's `brokers` lists them. */
  bootstrap: string[];
  /** Broker ids as strings ('1', '2', '3'), as a rolling-replace target lists its nodes. */
  brokerIds: string[];
  dir: string;
  /** The broker's current spec (its port and log dir change when it is moved). */
  broker(id: string): KafkaNodeSpec;
  /** The pid of the broker's running JVM (whoever started it), or null while it is down. */
  pid(id: string): number | null;
  /** SIGTERM (controlled shutdown) or SIGKILL (a crash); waits for the exit. */
  stop(id: string, how?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Same port and log dir; `emptyLogDir` starts it on a fresh, formatted disk. */
  start(id: string, options?: { emptyLogDir?: boolean }): Promise<void>;
  /** A stopped broker's disk moved to a new server: its log dir moves, it gets a new port. */
  moveToNewServer(id: string): Promise<void>;
  /** Bytes of the partition's log segments on the broker's disk (0 when it has no such replica). */
  logBytes(id: string, topic: string, partition: number): number;
  /** A kafkajs client on the cluster (no logging), for the tests' own admin and workload. */
  client(clientId: string, options?: { retries?: number }): Kafka;
  /** Waits until every broker that is up is a registered member of the cluster. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Kills every JVM of the cluster, also ones hooks started, and removes the folder. Safe twice. */
  destroy(): Promise<void>;
}

const BROKER_IDS = ['1', '2', '3'];
const CTL_SCRIPT = join(__dirname, 'kafka-node-ctl.ts');
const REPO_ROOT = join(__dirname, '..', '..', '..');

/**
 * A hook argv that runs kafka-node-ctl.ts on broker `{node}` of this cluster (see that file for the
 * actions and options), and the working directory it needs (where `tsx` resolves).
 */
export function kafkaNodeCtlHook(
  cluster: Pick<KafkaCluster, 'dir'>,
  action: 'replace' | 'stop' | 'start',
  options: {
    emptyDisk?: string[];
    newServer?: string[];
    background?: string[];
    kill?: boolean;
    log?: string;
  } = {},
): { command: string[]; cwd: string; env?: Record<string, string> } {
  const command = [process.execPath, '--import', 'tsx', CTL_SCRIPT, cluster.dir, '{node}', action];
  if (options.emptyDisk?.length) command.push('--empty-disk', options.emptyDisk.join(','));
  if (options.newServer?.length) command.push('--new-server', options.newServer.join(','));
  if (options.background?.length) command.push('--background', options.background.join(','));
  if (options.kill) command.push('--kill');
  if (options.log) command.push('--log', options.log);
  // Hooks see PATH, HOME and LANG only: pass a non-default Java or jar folder on explicitly.
  const env: Record<string, string> = {};
  for (const name of ['JAVA_HOME', 'KAFKA_LIB_DIR']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return { command, cwd: REPO_ROOT, ...(Object.keys(env).length > 0 ? { env } : {}) };
}

export async function startKafkaCluster(): Promise<KafkaCluster> {
  // JVMs of earlier runs whose test process died before its afterAll.
  await sweepOrphans();
  const dir = makeClusterDir();
  // A crash of this process (an uncaught error, process.exit) must not leave JVMs running.
  const killOnExit = (): void => {
    killJvmsUnderNow(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const clusterId = randomBytes(16).toString('base64url');
  const controllerPort = await freePort();
  const spec = async (name: string, nodeId: number, role: KafkaNodeSpec['role']): Promise<KafkaNodeSpec> => ({
    name,
    nodeId,
    role,
    port: role === 'controller' ? controllerPort : await freePort(),
    controllerPort,
    clusterId,
    logDir: join(dir, name, 'data'),
    heapMb: role === 'controller' ? 128 : 256,
    propertiesPath: join(dir, `${name}.properties`),
    outputPath: join(dir, `${name}.out`),
    pidFile: join(dir, `${name}.pid`),
    specPath: join(dir, `${name}.json`),
  });
  const controller = await spec('controller', CONTROLLER_NODE_ID, 'controller');
  const brokers = new Map<string, KafkaNodeSpec>();
  for (const id of BROKER_IDS) brokers.set(id, await spec(`broker-${id}`, Number(id), 'broker'));
  for (const node of [controller, ...brokers.values()]) writeNodeSpec(node);

  // Read from its file each time: a hook in another process may have moved the broker.
  const find = (id: string): KafkaNodeSpec => {
    const node = brokers.get(id);
    if (!node) throw new Error(`no Kafka broker ${id}`);
    return readNodeSpec(node.specPath);
  };
  const bootstrap = (): string[] => BROKER_IDS.map((id) => `127.0.0.1:${find(id).port}`);
  const client = (clientId: string, { retries = 3 }: { retries?: number } = {}): Kafka =>
    new Kafka({ clientId, brokers: bootstrap(), logLevel: logLevel.NOTHING, retry: { retries } });

  const waitReady = async (timeoutMs = 60_000): Promise<void> => {
    const up = BROKER_IDS.filter((id) => runningPid(find(id)) !== null).map(Number);
    const admin = client('cluster-ready').admin();
    try {
      await waitFor(
        `brokers ${up.join(', ')} registered`,
        async () => {
          await admin.connect();
          const { brokers: registered } = await admin.describeCluster();
          const ids = new Set(registered.map((broker) => broker.nodeId));
          return up.every((id) => ids.has(id));
        },
        { timeoutMs, intervalMs: 200 },
      );
    } finally {
      await admin.disconnect();
    }
  };

  let moves = 0;
  const destroy = async (): Promise<void> => {
    await killHooksOf(dir);
    await Promise.all([...brokers.values(), controller].map((node) => stopNode(node, 'SIGKILL')));
    await killJvmsUnder(dir);
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all([controller, ...brokers.values()].map((node) => startNode(node)));
    await waitReady();
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    get bootstrap() {
      return bootstrap();
    },
    brokerIds: [...BROKER_IDS],
    dir,
    broker: find,
    pid: (id) => runningPid(find(id)),
    stop: async (id, how = 'SIGTERM') => {
      await stopNode(find(id), how);
    },
    start: async (id, options = {}) => {
      await startNode(find(id), options);
    },
    moveToNewServer: async (id) => {
      moves++;
      const node = find(id);
      brokers.set(id, moveNode(node, join(dir, `${node.name}-server-${moves}`, 'data'), await freePort()));
    },
    logBytes: (id, topic, partition) => {
      const folder = join(find(id).logDir, `${topic}-${partition}`);
      let bytes = 0;
      try {
        for (const file of readdirSync(folder))
          if (file.endsWith('.log')) bytes += statSync(join(folder, file)).size;
      } catch {
        return 0;
      }
      return bytes;
    },
    client,
    waitReady,
    destroy,
  };
}

/** Creates topics (ignoring ones that exist) and waits until each partition has a leader. */
export async function createTopics(
  admin: Admin,
  topics: {
    topic: string;
    partitions?: number;
    replicationFactor?: number;
    /** Replica brokers per partition, first the preferred leader; overrides the two above. */
    assignments?: number[][];
    config?: Record<string, string>;
  }[],
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({
      topic: topic.topic,
      ...(topic.assignments
        ? { replicaAssignment: topic.assignments.map((replicas, partition) => ({ partition, replicas })) }
        : { numPartitions: topic.partitions ?? 1, replicationFactor: topic.replicationFactor ?? 3 }),
      configEntries: Object.entries(topic.config ?? {}).map(([name, value]) => ({ name, value })),
    })),
  });
}

export interface AckedWrite {
  partition: number;
  offset: string;
  value: string;
}

export interface KafkaProducerLoad {
  /** Every write the cluster acknowledged with acks=all, in order. */
  acked: AckedWrite[];
  /** Sends that failed (a leader moved, too few in-sync replicas); they may or may not be stored. */
  failures: number;
  /** Stops producing and disconnects; resolves once the loop has ended. */
  stop(): Promise<void>;
}

/** Sends one keyed message every `intervalMs` with acks=all, recording what was acknowledged. */
export async function startProducerLoad(
  kafka: Kafka,
  topic: string,
  { intervalMs = 20 }: { intervalMs?: number } = {},
): Promise<KafkaProducerLoad> {
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const load: KafkaProducerLoad = { acked: [], failures: 0, stop: async () => undefined };
  let running = true;
  let counter = 0;
  const loop = (async () => {
    while (running) {
      counter++;
      const value = `message ${counter}`;
      try {
        const [result] = await producer.send({
          topic,
          acks: -1,
          timeout: 5_000,
          messages: [{ key: `key-${counter % 30}`, value }],
        });
        if (result?.baseOffset !== undefined)
          load.acked.push({ partition: result.partition, offset: result.baseOffset, value });
      } catch {
        load.failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  load.stop = async () => {
    running = false;
    await loop;
    await producer.disconnect();
  };
  return load;
}

/** Sends `count` messages of `bytes` bytes each with acks=all, in batches: data for re-replication. */
export async function produceBulk(kafka: Kafka, topic: string, count: number, bytes: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const payload = 'x'.repeat(bytes);
    for (let sent = 0; sent < count; sent += 200) {
      const batch = Array.from({ length: Math.min(200, count - sent) }, (_, i) => ({
        key: `bulk-${sent + i}`,
        value: payload,
      }));
      await producer.send({ topic, acks: -1, messages: batch });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads the topic from the beginning up to the high watermarks of now with a fresh consumer group,
 * returning each partition's values in offset order.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  timeoutMs = 30_000,
): Promise<Map<number, string[]>> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const values = new Map<number, string[]>([...ends.keys()].map((partition) => [partition, []]));
  const next = new Map<number, number>([...ends.keys()].map((partition) => [partition, 0]));
  // Short fetch waits: disconnect() waits for the fetch in flight, which at the end has nothing to wait for.
  const consumer = kafka.consumer({
    groupId: `read-${topic}-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset < (ends.get(partition) ?? 0)) {
          values.get(partition)?.push(message.value?.toString() ?? '');
          next.set(partition, offset + 1);
        }
        return Promise.resolve();
      },
    });
    await waitFor(
      `${topic} read up to its high watermarks`,
      () => Promise.resolve([...ends].every(([partition, end]) => (next.get(partition) ?? 0) >= end)),
      { timeoutMs, intervalMs: 100 },
    );
  } finally {
    await consumer.disconnect();
  }
  return values;
}
