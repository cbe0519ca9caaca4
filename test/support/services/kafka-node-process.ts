// The JVM of one node of a test Kafka cluster (KRaft), found by pid file and /proc rather than by a
// ChildProcess handle, so that a hook (another process) can stop and start a broker and the cluster
// still finds it, and a test run that crashed leaves nothing behind for long (see sweepOrphans).
// No Kafka client here: a hook script that imports this starts quickly.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createServer } from 'node:net';
import {
  alive,
  killAll,
  killHooksOf as killHooksRunning,
  liveServers,
  readSpec,
  runningPidOf,
  serversUnder,
  signal,
  startServer,
  startTimeOf,
  stopServer,
  writeSpec,
  type NodeSpec,
  type ServerKind,
  type ServerProcess,
} from './node-process';

const REPO_ROOT = join(__dirname, '..', '..', '..');

/** Where scripts/fetch-kafka.sh puts kafka_2.13 and its runtime jars. */
export const KAFKA_LIB_DIR = process.env['KAFKA_LIB_DIR'] ?? join(REPO_ROOT, '.cache', 'kafka', 'lib');

/** Cluster folders are `<tmp>/kafka-cluster-*`; the sweep looks for JVMs of those. */
export const CLUSTER_DIR_PREFIX = join(tmpdir(), 'kafka-cluster-');

const JAVA = process.env['JAVA_HOME'] ? join(process.env['JAVA_HOME'], 'bin', 'java') : 'java';

/**
 * Small heaps and a quick start on a 2-core machine: the serial collector, and the client compiler
 * only (a broker in a test never runs long enough for C2 to pay off).
 */
const JVM_OPTIONS = ['-Xms64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData'];

export interface KafkaNodeSpec extends NodeSpec {
  nodeId: number;
  role: 'broker' | 'controller';
  /** Its one listener: PLAINTEXT for a broker, CONTROLLER for the controller. */
  port: number;
  /** The controller's port (the quorum's one voter). */
  controllerPort: number;
  clusterId: string;
  /** Its data disk: meta.properties and the partition logs. */
  logDir: string;
  heapMb: number;
  propertiesPath: string;
  /** The JVM's stdout and stderr (Log4j writes there). */
  outputPath: string;
}

export function readNodeSpec(specPath: string): KafkaNodeSpec {
  return readSpec(specPath);
}

/** Writes the spec and the server.properties made from it. */
export function writeNodeSpec(spec: KafkaNodeSpec): void {
  writeSpec(spec);
  writeFileSync(spec.propertiesPath, serverProperties(spec));
}

function serverProperties(spec: KafkaNodeSpec): string {
  const common = [
    `node.id=${spec.nodeId}`,
    `controller.quorum.voters=${CONTROLLER_NODE_ID}@127.0.0.1:${spec.controllerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${spec.logDir}`,
    // Few threads: three brokers and a controller share two cores with the rest of the tests.
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'log.cleaner.threads=1',
  ];
  if (spec.role === 'controller') {
    return [
      'process.roles=controller',
      ...common,
      `listeners=CONTROLLER://127.0.0.1:${spec.port}`,
      // A killed broker is fenced (and leaves every ISR) after 3 s instead of 9.
      'broker.session.timeout.ms=3000',
      '',
    ].join('\n');
  }
  return [
    'process.roles=broker',
    ...common,
    `listeners=PLAINTEXT://127.0.0.1:${spec.port}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${spec.port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'broker.heartbeat.interval.ms=500',
    'num.replica.fetchers=1',
    // Small fetches, so that a replication throttle holds a re-replicating broker back from its
    // first fetch on (a fetch of up to 1 MB a partition would bring a test's data in one go).
    'replica.fetch.max.bytes=65536',
    // Leadership moves back only when asked (a preferred leader election), never on a timer.
    'auto.leader.rebalance.enable=false',
    'offsets.topic.num.partitions=3',
    'offsets.topic.replication.factor=3',
    'transaction.state.log.num.partitions=3',
    'group.initial.rebalance.delay.ms=0',
    'num.partitions=1',
    '',
  ].join('\n');
}

/** The controller's node id; brokers are 1, 2, 3. */
export const CONTROLLER_NODE_ID = 100;

/** A Kafka JVM: its one argument after the main class is its properties file. */
const kafkaJvm: ServerKind = (argv) => {
  const main = argv.indexOf('kafka.Kafka');
  const properties = main >= 0 ? argv[main + 1] : undefined;
  return properties === undefined ? null : [properties];
};

const serverOf = (spec: KafkaNodeSpec): ServerProcess => ({
  ...spec,
  kind: kafkaJvm,
  configPath: spec.propertiesPath,
});

/** The pid of the node's running JVM, or null when it is not running. */
export function runningPid(spec: KafkaNodeSpec): number | null {
  return runningPidOf(serverOf(spec));
}

/**
 * SIGTERM: a broker's controlled shutdown (it hands its leaderships over and leaves the ISRs
 * itself); SIGKILL: a crash, noticed by the controller only when heartbeats stop. Waits for the
 * exit; a SIGTERM not obeyed within 30 s is followed by a SIGKILL. Null when it was not running.
 */
export async function stopNode(
  spec: KafkaNodeSpec,
  how: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<number | null> {
  return stopServer(serverOf(spec), 30_000, how);
}

function requireKafkaJars(): void {
  if (!existsSync(join(KAFKA_LIB_DIR, '.complete')))
    throw new Error(`no Kafka jars in ${KAFKA_LIB_DIR}: run scripts/fetch-kafka.sh first`);
}

function runJava(args: string[], outputPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = openSync(outputPath, 'a');
    const child = spawn(JAVA, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    child.once('error', reject);
    child.once('exit', (code, sig) =>
      code === 0
        ? resolve()
        : reject(new Error(`${args.join(' ')} ended with ${sig ?? String(code)}; see ${outputPath}`)),
    );
  });
}

/** `kafka-storage.sh format`: writes meta.properties (and the controller's bootstrap metadata). */
export async function formatLogDir(spec: KafkaNodeSpec): Promise<void> {
  requireKafkaJars();
  await runJava(
    [
      '-Xmx128m',
      ...JVM_OPTIONS,
      '-cp',
      `${KAFKA_LIB_DIR}/*`,
      'kafka.tools.StorageTool',
      'format',
      '--ignore-formatted',
      '--cluster-id',
      spec.clusterId,
      '--config',
      spec.propertiesPath,
    ],
    spec.outputPath,
  );
}

/**
 * Starts the node's JVM detached (it outlives whoever started it; output appended to the node's
 * output file), writes the pid file and resolves once its listener accepts connections; a broker
 * opens it after it has caught up with the cluster metadata. `emptyLogDir` starts it on a fresh,
 * formatted disk: every replica it held is gone and must come back by replication.
 */
export async function startNode(spec: KafkaNodeSpec, { emptyLogDir = false } = {}): Promise<number> {
  requireKafkaJars();
  return startServer(serverOf(spec), {
    command: JAVA,
    args: [
      `-Xmx${spec.heapMb}m`,
      ...JVM_OPTIONS,
      `-Dlog4j2.configurationFile=${writeLog4jConfig(dirname(spec.specPath))}`,
      '-cp',
      `${KAFKA_LIB_DIR}/*`,
      'kafka.Kafka',
      spec.propertiesPath,
    ],
    port: spec.port,
    timeoutMs: 60_000,
    prepare: async () => {
      if (emptyLogDir) rmSync(spec.logDir, { recursive: true, force: true });
      if (!existsSync(join(spec.logDir, 'meta.properties'))) await formatLogDir(spec);
    },
  });
}

/** A loopback port nothing listens on now (for a new server's listener). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Another server for the same node id (an EC2 replacement, say): its own name, port, pid file and
 * properties in the node's cluster folder, with `logDir` as its data disk. Written, not started.
 */
export function serverSpec(of: KafkaNodeSpec, server: string, port: number, logDir: string): KafkaNodeSpec {
  const dir = dirname(of.specPath);
  const name = `${of.name}-${server}`;
  const spec: KafkaNodeSpec = {
    ...of,
    name,
    port,
    logDir,
    propertiesPath: join(dir, `${name}.properties`),
    outputPath: join(dir, `${name}.out`),
    pidFile: join(dir, `${name}.pid`),
    specPath: join(dir, `${name}.json`),
  };
  writeNodeSpec(spec);
  return spec;
}

/**
 * Stands in for the node's EBS volume moved to a new server: the stopped node's log directory is
 * moved to `newLogDir` (its data kept) and the node gets a new port (a new server's address).
 */
export function moveNode(spec: KafkaNodeSpec, newLogDir: string, newPort: number): KafkaNodeSpec {
  if (runningPid(spec) !== null) throw new Error(`${spec.name} is running: stop it before moving its disk`);
  mkdirSync(dirname(newLogDir), { recursive: true });
  renameSync(spec.logDir, newLogDir);
  const moved = { ...spec, logDir: newLogDir, port: newPort };
  writeNodeSpec(moved);
  return moved;
}

/** Warnings and the start and stop of each server only: logging costs CPU the tests need. */
function writeLog4jConfig(dir: string): string {
  const path = join(dir, 'log4j2.properties');
  if (!existsSync(path)) {
    writeFileSync(
      path,
      [
        'appender.out.type = Console',
        'appender.out.name = OUT',
        'appender.out.layout.type = PatternLayout',
        'appender.out.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = WARN',
        'rootLogger.appenderRef.out.ref = OUT',
        'logger.server.name = kafka.server.KafkaRaftServer',
        'logger.server.level = INFO',
        '',
      ].join('\n'),
    );
  }
  return path;
}

/** Every live Kafka JVM whose properties file lies in `dir`, whoever started it. */
export function jvmsUnder(dir: string): number[] {
  return serversUnder(dir, kafkaJvm);
}

/**
 * SIGKILLs kafka-node-ctl.ts hooks still running on the cluster in `dir` (one killed halfway by a
 * failed test would otherwise start a broker after the clean-up) and waits until they are gone.
 */
export function killHooksOf(dir: string): Promise<void> {
  return killHooksRunning('kafka-node-ctl.ts', dir);
}

/** SIGKILLs every Kafka JVM of `dir` at once, without waiting: for process exit handlers. */
export function killJvmsUnderNow(dir: string): void {
  for (const pid of jvmsUnder(dir)) signal(pid, 'SIGKILL');
}

/** SIGKILLs every Kafka JVM of `dir` and waits until they are gone. */
export async function killJvmsUnder(dir: string): Promise<void> {
  await killAll(jvmsUnder(dir));
}

/**
 * A fresh cluster folder, `<tmp>/kafka-cluster-*`, owned by this process (its pid and start time,
 * for sweepOrphans). The owner file is written before the folder gets its name, so that a sweep in
 * another test process never sees the folder without it.
 */
export function makeClusterDir(): string {
  const staging = mkdtempSync(join(tmpdir(), 'kafka-staging-'));
  writeFileSync(join(staging, 'owner'), `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`);
  const dir = `${CLUSTER_DIR_PREFIX}${randomBytes(6).toString('hex')}`;
  renameSync(staging, dir);
  return dir;
}

function ownerAlive(dir: string): boolean {
  try {
    const [pid, started] = readFileSync(join(dir, 'owner'), 'utf8').trim().split(' ');
    return alive(Number(pid)) && startTimeOf(Number(pid)) === started;
  } catch {
    return false;
  }
}

/**
 * Kills the JVMs of test clusters whose owner is gone (a test process that was killed before its
 * afterAll ran) and removes their folders, also ones left with no JVM. Clusters of live test
 * processes are left alone.
 */
export async function sweepOrphans(): Promise<void> {
  const prefix = basename(CLUSTER_DIR_PREFIX);
  const dirs = new Set<string>(
    readdirSync(tmpdir())
      .filter((entry) => entry.startsWith(prefix))
      .map((entry) => join(tmpdir(), entry)),
  );
  for (const { args } of liveServers(kafkaJvm)) {
    const [properties] = args;
    if (properties?.startsWith(CLUSTER_DIR_PREFIX)) dirs.add(dirname(properties));
  }
  for (const dir of dirs) {
    if (ownerAlive(dir)) continue;
    await killJvmsUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
