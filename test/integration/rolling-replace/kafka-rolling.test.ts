// Rolling replacement of a real Kafka 4.4 cluster (one controller, three brokers) by the real
// runtime, under an acks=all producer and a live consumer:
//  - an RF=1 topic stops the run at its preflight (a needs-human gate naming it);
//  - hook mode, both seed modes: broker 1 on an empty disk (it re-replicates), broker 2's log
//    directory moved to a new server (the EBS volume re-attached), broker 3 on an empty disk by a
//    hook that returns before it has even stopped the broker; every acknowledged write is read
//    afterwards, never two brokers short at once, every ISR whole and the leaders preferred at the end;
//  - EC2 mode through the EC2 emulator (test/support/services/kafka-on-ec2.ts runs a broker JVM per running
//    instance): a replacement launched while the old instance runs cannot take over its broker id,
//    and the old instance is not retired; moveVolume (the volume is the log directory) and
//    stopOldFirst (an empty disk) replace brokers 2 and 3.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { KafkaWireAdmin } from '../../../src/adapters/clusters/kafka-admin';
import { KafkaClusterHealth } from '../../../src/adapters/clusters/kafka-health';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { parseTargets } from '../../../src/config/targets';
import type { Run } from '../../../src/engine/types';
import { clusterHealthFor } from '../../../src/main/adapters';
import type { Runtime } from '../../../src/main/runtime';
import { configSchemasOf } from '../../../src/strategies';
import { createRollingReplace } from '../../../src/strategies/rolling-replace';
import { registryOf, type Strategy } from '../../../src/strategies/types';
import {
  APPROVER,
  REQUESTER,
  startStrategyRuntime,
  stopRuntimeAndClean,
} from '../../support/runtimes/harness';
import { startKafkaWithAdmin } from '../../support/services/kafka-admin-cluster';
import {
  createTopics,
  kafkaNodeCtlHook,
  readTopic,
  startProducerLoad,
  type KafkaCluster,
  type KafkaProducerLoad,
} from '../../support/services/kafka-cluster';
import { EC2_DURATIONS, KafkaOnEc2 } from '../../support/services/kafka-on-ec2';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { waitFor } from '../../support/wait-for';
import { Ec2World } from '../volume-swap/vs-runtime';

jest.setTimeout(180_000);

const TOPIC = 'orders';
const OLD = ['i-0a000000000000001', 'i-0a000000000000002', 'i-0a000000000000003'];
const VOL2 = 'vol-0c000000000000002';
const TEMPLATE = 'kafka-broker';
const schema = freshSchemaName('t_rolling_kafka');
const work = mkdtempSync(path.join(tmpdir(), 'rolling-kafka-'));
const hookLog = path.join(work, 'hooks.log');
const world = new Ec2World();

let cluster: KafkaCluster;
let kafka: Kafka;
let admin: Admin;
let strategy: Strategy;
let runtime: Runtime;
let load: KafkaProducerLoad | undefined;
let consumer: Consumer | undefined;
const consumed = new Set<string>();

function targetsYaml(): string {
  const common = `kind: kafka, brokers: ${JSON.stringify(cluster.bootstrap)}, pollInterval: 200ms, healthyFor: 3s`;
  const hook = (options: Parameters<typeof kafkaNodeCtlHook>[2]) =>
    JSON.stringify({ ...kafkaNodeCtlHook(cluster, 'replace', { log: hookLog, ...options }), timeout: '90s' });
  const ec2 = (extra: string) =>
    `{ ec2: { region: eu-west-1, launchTemplate: { name: ${TEMPLATE} }, pollInterval: 100ms, startTimeout: 30s, stopTimeout: 60s${extra} } }`;
  const nodes = ['1', '2', '3'].map((id) => `{ id: '${id}' }`).join(', ');
  return `defaults: { channel: C0TEST0001, approvers: [${APPROVER}] }
targets:
  - name: ledger
    strategy: rolling-replace
    cluster: { ${common}, topics: [ledger, ${TOPIC}], nodes: [${nodes}], replace: ${hook({})}, recoverTimeout: 60s }
  - name: brokers
    strategy: rolling-replace
    cluster: { ${common}, topics: [${TOPIC}, __consumer_offsets], nodes: [${nodes}], recoverTimeout: 90s,
      replace: ${hook({ emptyDisk: ['1', '3'], newServer: ['2'], background: ['3'] })} }
  - name: ec2-keep-old
    strategy: rolling-replace
    cluster: { ${common}, topics: [${TOPIC}], nodes: [{ id: '1', instanceId: ${OLD[0]} }], recoverTimeout: 8s,
      replace: ${ec2('')} }
  - name: ec2-move
    strategy: rolling-replace
    cluster: { ${common}, topics: [${TOPIC}], nodes: [{ id: '2', instanceId: ${OLD[1]}, volumeId: ${VOL2} }], recoverTimeout: 60s,
      replace: ${ec2(', moveVolume: { device: /dev/sdf }, terminateOld: true')} }
  - name: ec2-fresh
    strategy: rolling-replace
    cluster: { ${common}, topics: [${TOPIC}], nodes: [{ id: '3', instanceId: ${OLD[2]} }], recoverTimeout: 60s,
      replace: ${ec2(', stopOldFirst: true')} }
`;
}

beforeAll(async () => {
  ({ cluster, kafka, admin } = await startKafkaWithAdmin('rolling-test'));
  await createTopics(admin, [
    { topic: TOPIC, partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } },
    { topic: 'ledger', assignments: [[3]] },
  ]);
  load = await startProducerLoad(kafka, TOPIC, { intervalMs: 25 });
  consumer = kafka.consumer({ groupId: 'rolling-reader', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      consumed.add(message.value?.toString() ?? '');
      return Promise.resolve();
    },
  });
  const env = {};
  strategy = createRollingReplace({
    clusterHealth: (settings) => clusterHealthFor(settings, env, { timeoutMs: 3_000 }),
    hooks: new ProcessHookRunner(),
    env,
    ec2: world.adapter(),
  });
  runtime = await startStrategyRuntime({
    strategy,
    targets: parseTargets(targetsYaml(), 'kafka-rolling.yaml', {
      env,
      strategies: configSchemasOf(registryOf([strategy])),
    }),
    schema,
    queueName: freshQueueName('rolling-kafka'),
  });
}, 120_000);

afterAll(async () => {
  await load?.stop().catch(() => undefined);
  await consumer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  if (runtime) await stopRuntimeAndClean(runtime, schema);
  await strategy?.close?.();
  await world.close();
  await cluster?.destroy();
  rmSync(work, { recursive: true, force: true });
});

async function start(name: string): Promise<Run> {
  const outcome = await runtime.runs.start({ target: runtime.findTarget(name)!, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

/** Waits for the run to stop at a gate: on the step named `name`, or on any gate step. */
function gateOn(runId: string, name: string | null, timeoutMs = 60_000): Promise<Run> {
  return waitFor(
    `a gate on ${name}`,
    async () => {
      const run = await runtime.store.getRun(runId);
      if (run && ['succeeded', 'failed', 'aborted'].includes(run.state))
        throw new Error(`run ended ${run.state}: ${run.outcome ?? ''}`);
      const step = run?.steps[run.currentStep];
      const here = name === null ? step?.spec.kind === 'gate' : step?.spec.name === name;
      return run?.state === 'awaiting_approval' && here ? run : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

async function approve(run: Run, target: string): Promise<void> {
  const step = run.steps[run.currentStep]!;
  const approved = await runtime.runs.approve(run.id, step.index, step.gate?.round ?? 1, APPROVER, {
    typed: target,
  });
  if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
}

/** Runs the target through its approval gate to the end; says where it stopped if it did not succeed. */
async function runToEnd(name: string): Promise<Run> {
  const run = await start(name);
  await approve(await gateOn(run.id, null), name);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 170_000).catch(
    async (error: unknown) => {
      const current = await runtime.store.getRun(run.id);
      const step = current?.steps[current.currentStep];
      throw new Error(
        `${(error as Error).message}; ${step?.spec.name}: ${step?.gate?.message ?? ''} ${JSON.stringify(step?.output ?? null)}`,
      );
    },
  );
  if (done.state !== 'succeeded') throw new Error(`${name} ended ${done.state}: ${done.outcome ?? ''}`);
  return done;
}

/** Reads the cluster until stopped; the most brokers short at once (absent or out of an ISR), and when. */
function watchBrokersShort(): () => Promise<{ most: number; readings: string[] }> {
  const health = new KafkaClusterHealth({
    admin: new KafkaWireAdmin({ brokers: cluster.bootstrap, clientId: 'short-watch' }),
    topics: [TOPIC],
    nodes: ['1', '2', '3'],
  });
  let running = true;
  let most = 0;
  const readings: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const short = (await health.health()).nodes!.filter((node) => !node.holdsAll).map((node) => node.id);
        most = Math.max(most, short.length);
        if (short.length > 1) readings.push(short.join(','));
      } catch {
        // a broker restarting: the next reading will do
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { most, readings };
  };
}

/** The cluster healthy again (after the replacement that could not register disturbed it). */
async function fullyReplicated(): Promise<void> {
  const health = new KafkaClusterHealth({
    admin: new KafkaWireAdmin({ brokers: cluster.bootstrap, clientId: 'healthy-wait' }),
    topics: [TOPIC],
  });
  await waitFor('the cluster fully replicated', async () => (await health.health()).fullyReplicated, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
}

async function partitions() {
  const { topics } = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  return topics[0]!.partitions;
}

function step(run: Run, name: string) {
  const found = run.steps.find((candidate) => candidate.spec.name === name);
  if (!found) throw new Error(`no step ${name}`);
  return found;
}

test('an RF=1 topic stops the run at its preflight, naming it; /cutover plan shows it', async () => {
  const checks = await strategy.preflight(runtime.findTarget('ledger')!);
  expect(checks.find((check) => check.name === 'copies at risk')).toMatchObject({
    ok: false,
    detail: expect.stringContaining('ledger/0: its only copy is on broker 3'),
  });
  const run = await start('ledger');
  const stopped = await gateOn(run.id, 'preflight');
  expect(stopped.steps[0]!.gate).toMatchObject({
    reason: 'needs_human',
    message: expect.stringMatching(
      /^1 copy cannot spare a node to be replaced: ledger\/0: its only copy is on broker 3/,
    ),
  });
  await runtime.runs.abort(run.id, APPROVER, 'add replicas to ledger first');
  expect((await untilRunState(runtime.store, run.id, ['aborted', 'failed'])).state).toBe('aborted');
  expect(existsSync(hookLog)).toBe(false);
  await admin.deleteTopics({ topics: ['ledger'] });
});

test('hook mode: three brokers in turn (empty disks, a moved log directory, a hook that returns early) lose no acknowledged write', async () => {
  await waitFor(
    'the producer acknowledged and the consumer read',
    async () => load!.acked.length > 20 && consumed.size > 10,
  );
  const pids = new Map(['1', '2', '3'].map((id) => [id, cluster.pid(id)]));
  const port2 = cluster.broker('2').port;
  const stopWatching = watchBrokersShort();
  const done = await runToEnd('brokers');
  const { most, readings } = await stopWatching();

  expect(most).toBe(1);
  expect(readings).toEqual([]);
  // Each broker by a new process; broker 2 on a new server with its old log directory.
  for (const id of ['1', '2', '3']) expect(cluster.pid(id)).not.toBe(pids.get(id));
  expect(cluster.broker('2').port).not.toBe(port2);
  expect(step(done, 'recover-1').output?.['replacedBecause']).toBe('left and came back');
  expect(step(done, 'recover-2').output?.['replacedBecause']).toMatch(/^a new incarnation/);
  // The hook for broker 3 returned before the broker stopped: the bot waited for it to leave and come back.
  expect(step(done, 'replace-3').output?.['leftAtMs']).toBeUndefined();
  expect(step(done, 'recover-3').output).toMatchObject({
    replacedBecause: 'left and came back',
    leftAtMs: expect.any(Number),
  });
  const lines = readFileSync(hookLog, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ').slice(0, 3).join(' '));
  expect(lines).toEqual([
    '1 replace begin',
    '1 replace done',
    '2 replace begin',
    '2 replace done',
    '3 replace begin',
    '3 replace done',
  ]);

  // Every ISR whole, every leader its preferred replica (the rebalance step).
  expect(step(done, 'rebalance').output?.['notPreferred']).toEqual([]);
  for (const partition of await partitions()) {
    expect([...partition.isr].sort()).toEqual([...partition.replicas].sort());
    expect(partition.leader).toBe(partition.replicas[0]);
  }
});

describe('EC2 mode through the EC2 emulator', () => {
  let brokersOnEc2: KafkaOnEc2;

  beforeAll(() => {
    const ec2 = world.reset(EC2_DURATIONS);
    ec2.addLaunchTemplate(TEMPLATE);
    OLD.forEach((id) => ec2.addInstance(id));
    ec2.addVolume(VOL2, { attachedTo: { instanceId: OLD[1]!, device: '/dev/sdf' } });
    brokersOnEc2 = new KafkaOnEc2(
      ec2,
      cluster,
      OLD.map((instanceId, index) => ({
        node: String(index + 1),
        instanceId,
        ...(index === 1 ? { volumeId: VOL2 } : {}),
      })),
    ).start();
  });

  afterAll(async () => {
    await brokersOnEc2?.stop();
  });

  test('a replacement launched while the old instance runs never counts; the old one is not retired', async () => {
    const oldPid = brokersOnEc2.pidOf(OLD[0]!);
    const run = await start('ec2-keep-old');
    await approve(await gateOn(run.id, null), 'ec2-keep-old');
    const stopped = await gateOn(run.id, 'recover-1', 90_000);
    expect(stopped.steps[stopped.currentStep]!.gate?.message).toMatch(
      /^1 has not recovered .*still the node from before the replace \(127\.0\.0\.1:\d+\); the old instance may still serve it/,
    );
    expect(step(stopped, 'retire-1').state).toBe('pending');
    const replacement = world.ec2.launched[0]!;
    expect(brokersOnEc2.events).toContain(`start ${replacement} broker 1 on its own disk`);
    expect(world.ec2.instance(OLD[0]!)?.state).toBe('running');
    expect(brokersOnEc2.pidOf(OLD[0]!)).toBe(oldPid);

    await runtime.runs.abort(run.id, APPROVER, 'the replacement cannot take over broker 1');
    expect((await untilRunState(runtime.store, run.id, ['aborted', 'failed'], 60_000)).state).toBe('aborted');
    expect(world.ec2.instance(replacement)?.state).toBe('stopped');
    expect(brokersOnEc2.pidOf(OLD[0]!)).toBe(oldPid);
  });

  test('moveVolume: broker 2 on a new instance with its log directory; stopOldFirst: broker 3 on an empty one', async () => {
    await fullyReplicated();
    const moved = await runToEnd('ec2-move');
    const second = world.ec2.launched.at(-1)!;
    expect(brokersOnEc2.events).toContain(`start ${second} broker 2 on ${VOL2}`);
    expect(world.ec2.instance(OLD[1]!)?.state).toBe('terminated');
    expect(step(moved, 'recover-1').output?.['replacedBecause']).toMatch(/^a new incarnation/);

    const fresh = await runToEnd('ec2-fresh');
    const third = world.ec2.launched.at(-1)!;
    expect(brokersOnEc2.events).toContain(`start ${third} broker 3 on its own disk`);
    expect(world.ec2.instance(OLD[2]!)?.state).toBe('stopped');
    expect(step(fresh, 'recover-1').output?.['replacedBecause']).toMatch(/^a new incarnation/);
  });
});

test('every acknowledged write was read: by the consumer during the rolls, and from the beginning after', async () => {
  await load!.stop();
  const acked = load!.acked;
  expect(acked.length).toBeGreaterThan(100);
  await waitFor('the live consumer to have read every acknowledged write', async () =>
    acked.every((write) => consumed.has(write.value)),
  );
  const stored = await readTopic(kafka, TOPIC);
  const missing = acked.filter(
    (write) => stored.get(write.partition)?.[Number(write.offset)] !== write.value,
  );
  expect(missing).toEqual([]);
  for (const partition of await partitions())
    expect([...partition.isr].sort()).toEqual([...partition.replicas].sort());
});
