// KafkaClusterHealth against a real Kafka 4.4 cluster (one controller, three brokers) under a steady
// acks=all producer: a broker stopped and started again on its old disk, a broker crashed and
// started on an empty disk by the replace hook kafka-node-ctl.ts (held back from catching up by a
// replication throttle, so that the test sees it between its start and the end of its
// re-replication), an RF=1 topic whose broker stops
// and whose disk then moves to a new server; at the end every acknowledged write is still there.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { KafkaWireAdmin } from '../../../src/adapters/clusters/kafka-admin';
import { KafkaClusterHealth } from '../../../src/adapters/clusters/kafka-health';
import type { ClusterHealth, NodeReading } from '../../../src/ports/cluster-health';
import { readingsOf } from '../../support/services/health-readings';
import { startKafkaWithAdmin } from '../../support/services/kafka-admin-cluster';
import {
  createTopics,
  kafkaNodeCtlHook,
  produceBulk,
  readTopic,
  startProducerLoad,
  type KafkaCluster,
  type KafkaProducerLoad,
} from '../../support/services/kafka-cluster';
import { waitFor } from '../../support/wait-for';

const TOPICS = ['ledger', 'orders', 'strict'];
const execFileAsync = promisify(execFile);
/** Replicas whose leaders throttle followers that are out of sync, once a rate is set (empty-disk test). */
const THROTTLED = { 'leader.replication.throttled.replicas': '*' };

let cluster: KafkaCluster | undefined;
let kafka: Kafka;
let admin: Admin;
let load: KafkaProducerLoad | undefined;
let health: KafkaClusterHealth | undefined;

beforeAll(async () => {
  ({ cluster, kafka, admin } = await startKafkaWithAdmin('health-test'));
  await createTopics(admin, [
    {
      topic: 'orders',
      partitions: 3,
      replicationFactor: 3,
      config: { 'min.insync.replicas': '2', ...THROTTLED },
    },
    {
      topic: 'strict',
      partitions: 1,
      replicationFactor: 3,
      config: { 'min.insync.replicas': '3', ...THROTTLED },
    },
    // One copy, on broker 3, set to more in-sync replicas than it has: the broker caps that at 1.
    { topic: 'ledger', assignments: [[3]], config: { 'min.insync.replicas': '2' } },
  ]);
  load = await startProducerLoad(kafka, 'orders');
  health = new KafkaClusterHealth({
    admin: new KafkaWireAdmin({ brokers: cluster.bootstrap, clientId: 'health-test' }),
    topics: TOPICS,
    nodes: ['1', '2', '3'],
  });
}, 120_000);

afterAll(async () => {
  await load?.stop().catch(() => undefined);
  await health?.close().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  await cluster?.destroy();
});

const reading = readingsOf(() => health!);

function node(h: ClusterHealth, id: string): NodeReading {
  const found = h.nodes?.find((n) => n.id === id);
  if (!found) throw new Error(`no reading of broker ${id}`);
  return found;
}

function address(id: string): string {
  return `127.0.0.1:${cluster!.broker(id).port}`;
}

async function partitionsOf(topic: string) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return [...topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId);
}

/**
 * Sets (or with no rate, removes) a throttle on what brokers `ids` send, as leaders, to followers
 * that are out of sync; in-sync followers are never throttled. Set on the leaders, which know the
 * ISR first: a follower's own throttle lets a restarted broker fetch unthrottled until it learns it
 * is out of sync (seen: 2.8 of 3 MB before it held back). kafkajs refuses the cluster-wide default
 * (the empty broker name) on its own side, so each broker is set.
 */
async function throttleCatchUp(ids: string[], bytesPerSecond: number | null): Promise<void> {
  await admin.alterConfigs({
    validateOnly: false,
    resources: ids.map((id) => ({
      type: ConfigResourceTypes.BROKER,
      name: id,
      configEntries:
        bytesPerSecond === null
          ? []
          : [{ name: 'leader.replication.throttled.rate', value: String(bytesPerSecond) }],
    })),
  });
}

/**
 * Polls the partitions of `topic` until stopped and records, under the phase `phase()` names at
 * the time, every reading in which `broker` is in a partition's ISR while its disk holds fewer
 * bytes of it than `held` says every in-sync copy had.
 */
function watchIsrAgainstDisk(
  broker: string,
  topic: string,
  held: number[],
  phase: () => string,
): () => Promise<Map<string, string[]>> {
  const violations = new Map<string, string[]>();
  let running = true;
  const wire = new KafkaWireAdmin({ brokers: cluster!.bootstrap, clientId: 'isr-watch' });
  const loop = (async () => {
    while (running) {
      try {
        const now = phase();
        const { topics } = await wire.metadata([topic]);
        for (const p of topics[0]?.partitions ?? []) {
          const bytes = cluster!.logBytes(broker, topic, p.partition);
          if (p.isr.includes(Number(broker)) && bytes < held[p.partition]!) {
            const seen = violations.get(now) ?? [];
            seen.push(`${topic}/${p.partition}: in the ISR with ${bytes} of ${held[p.partition]} bytes`);
            violations.set(now, seen);
          }
        }
      } catch {
        // a broker restarting: the next reading will do
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return violations;
  };
}

describe('KafkaClusterHealth on a three-broker Kafka 4.4 cluster', () => {
  it('reads a healthy cluster: fully replicated, every broker a member holding its replicas', async () => {
    const healthy = await reading((h) => h.fullyReplicated && load!.acked.length > 10, 'a healthy cluster');
    expect(healthy).toEqual({
      fullyReplicated: true,
      laggingReplicas: 0,
      members: ['1', '2', '3'],
      detail: [],
      nodes: ['1', '2', '3'].map((id) => ({ id, incarnation: address(id), holdsAll: true, detail: [] })),
    });
    await expect(health!.ledBy('3')).resolves.toContain('ledger/0');

    // A watched topic that does not exist is a problem, not a healthy absence.
    const misconfigured = new KafkaClusterHealth({
      admin: new KafkaWireAdmin({ brokers: cluster!.bootstrap }),
      topics: ['orders', 'no-such-topic'],
    });
    await expect(misconfigured.health()).resolves.toEqual({
      fullyReplicated: false,
      laggingReplicas: 0,
      members: ['1', '2', '3'],
      detail: ['no-such-topic: cannot be described (UNKNOWN_TOPIC_OR_PARTITION)'],
    });
  });

  it('reads a stopped broker as under-replicated, naming it, and below min.insync.replicas where that counts', async () => {
    await cluster!.stop('2');
    const degraded = await reading(
      (h) => !h.members.includes('2') && h.laggingReplicas === 4,
      'broker 2 gone',
    );
    expect(degraded.fullyReplicated).toBe(false);
    expect(degraded.members).toEqual(['1', '3']);
    for (const partition of ['orders/0', 'orders/1', 'orders/2', 'strict/0'])
      expect(degraded.detail).toContainEqual(
        expect.stringMatching(new RegExp(`^${partition}: ISR .* out of sync: 2$`)),
      );
    expect(degraded.detail).toContain('strict/0: ISR 2 < min.insync.replicas 3');
    expect(degraded.detail).toContain('broker 2: not a member of the cluster');
    expect(node(degraded, '2')).toMatchObject({ incarnation: null, holdsAll: false });
    expect(node(degraded, '1')).toMatchObject({ incarnation: address('1'), holdsAll: true });
    await expect(health!.ledBy('2')).resolves.toEqual([]);
  });

  it('reads it healthy again back on its old disk, and a preferred leader election gives it its partitions back', async () => {
    await cluster!.start('2');
    const back = await reading((h) => h.fullyReplicated, 'broker 2 back in every ISR');
    expect(back.members).toEqual(['1', '2', '3']);
    // Restarted in place: the same address, the only identity Kafka gives its clients.
    expect(node(back, '2')).toEqual({ id: '2', incarnation: address('2'), holdsAll: true, detail: [] });

    const preferred = (
      await Promise.all(
        ['orders', 'strict'].map(async (topic) => (await partitionsOf(topic)).map((p) => ({ topic, p }))),
      )
    )
      .flat()
      .filter(({ p }) => p.replicas[0] === 2)
      .map(({ topic, p }) => `${topic}/${p.partitionId}`);
    expect(preferred.length).toBeGreaterThan(0);
    await expect(health!.ledBy('2')).resolves.toEqual([]);
    const election = await health!.electPreferredLeaders();
    expect(election).toEqual({ elected: preferred, failed: [] });
    await waitFor(
      'broker 2 leading its preferred partitions',
      async () => JSON.stringify(await health!.ledBy('2')) === JSON.stringify(preferred),
    );
    // Nothing left to elect: a repeat asks for nothing.
    await expect(health!.electPreferredLeaders()).resolves.toEqual({ elected: [], failed: [] });
  });

  it('reads a crashed broker back on an EMPTY disk as not holding its replicas until it has re-replicated them', async () => {
    // About 1 MB a partition, more than one throttled fetch brings (replica.fetch.max.bytes 64 KiB).
    await produceBulk(kafka, 'orders', 1500, 2048);
    // What every in-sync copy holds now (the leaders' disks; broker 2 leads some partitions).
    const before = [0, 1, 2].map((p) =>
      Math.min(...['1', '2', '3'].map((id) => cluster!.logBytes(id, 'orders', p))),
    );
    expect(before.every((bytes) => bytes > 900_000)).toBe(true);
    await throttleCatchUp(['1', '3'], 10_240);
    let phase = 'before the crash';
    const stopWatching = watchIsrAgainstDisk('2', 'orders', before, () => phase);

    // As a rolling replacement's hook does it: a crash, a fresh disk, a new process.
    phase = 'replace hook running';
    const hook = kafkaNodeCtlHook(cluster!, 'replace', { kill: true, emptyDisk: ['2'] });
    const [program, ...args] = hook.command.map((arg) => arg.replace('{node}', '2'));
    const { stdout } = await execFileAsync(program!, args, {
      cwd: hook.cwd,
      env: { ...process.env, ...hook.env },
    });
    expect(stdout).toMatch(/^2 replace done \d+ -> \d+$/m);
    phase = 'a new process';
    const catchingUp = await reading((h) => node(h, '2').incarnation !== null, 'broker 2 a member again');
    expect(catchingUp.fullyReplicated).toBe(false);
    expect(node(catchingUp, '2')).toEqual({
      id: '2',
      incarnation: address('2'),
      holdsAll: false,
      detail: [expect.stringMatching(/^broker 2: not in the ISR of orders\/0, orders\/1, orders\/2/)],
    });
    expect([0, 1, 2].map((p) => cluster!.logBytes('2', 'orders', p) < before[p]!)).toEqual([
      true,
      true,
      true,
    ]);

    await throttleCatchUp(['1', '3'], null);
    const recovered = await reading((h) => h.fullyReplicated, 'broker 2 re-replicated');
    expect(node(recovered, '2')).toEqual({ id: '2', incarnation: address('2'), holdsAll: true, detail: [] });
    // In an ISR only once it held what every copy held before its disk was wiped.
    // Between the crash and the controller's fencing of the dead process (broker.session.timeout.ms,
    // 3 s here, 9 s by default) the cluster still counts it in every ISR, wiped disk and all: seen
    // while the hook ran in every run, not asserted (a matter of timing). A new process is in no
    // ISR it does not hold.
    const violations = await stopWatching();
    expect(violations.get('a new process') ?? []).toEqual([]);
    expect([0, 1, 2].map((p) => cluster!.logBytes('2', 'orders', p) >= before[p]!)).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('reads an RF=1 topic offline while its broker is down, and back when its disk moves to a new server', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: 'ledger',
      acks: -1,
      messages: [1, 2, 3].map((i) => ({ value: `entry ${i}` })),
    });
    await producer.disconnect();
    const oldAddress = address('3');

    await cluster!.stop('3');
    const offline = await reading(
      (h) => h.detail.includes('ledger/0: offline (no leader)'),
      'ledger/0 offline',
    );
    expect(node(offline, '3')).toMatchObject({ incarnation: null, holdsAll: false });
    await expect(health!.ledBy('3')).resolves.toEqual([]);

    await cluster!.moveToNewServer('3');
    await cluster!.start('3');
    const moved = await reading((h) => h.fullyReplicated, 'broker 3 back on its moved disk');
    expect(address('3')).not.toBe(oldAddress);
    expect(node(moved, '3')).toEqual({ id: '3', incarnation: address('3'), holdsAll: true, detail: [] });
    expect((await readTopic(kafka, 'ledger')).get(0)).toEqual(['entry 1', 'entry 2', 'entry 3']);
  });

  it('lost no acknowledged write', async () => {
    await load!.stop();
    const acked = load!.acked;
    expect(acked.length).toBeGreaterThan(50);
    const stored = await readTopic(kafka, 'orders');
    // Offsets count from 0 with no gaps here (no transactions, no compaction): index = offset.
    const missing = acked.filter(
      (write) => stored.get(write.partition)?.[Number(write.offset)] !== write.value,
    );
    expect(missing).toEqual([]);
  });
});
