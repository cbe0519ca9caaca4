// Which Kafka client for what, decided on a real Kafka 4.4 cluster (Kafka 4 removed old protocol
// versions; kafkajs has had no release since 2023). kafkajs does what the tests' workload needs
// (acks=all producer, consumer group, topic admin) and reads a healthy cluster, but it throws on the
// Metadata of an offline partition and has no ElectLeaders, so the bot asks the cluster with its own
// requests (src/adapters/clusters/kafka-admin.ts), tested here beside it.
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { KafkaWireAdmin } from '../../../src/adapters/clusters/kafka-admin';
import {
  createTopics,
  readTopic,
  startKafkaCluster,
  type KafkaCluster,
} from '../../support/services/kafka-cluster';
import { waitFor } from '../../support/wait-for';

let cluster: KafkaCluster | undefined;
let kafka: Kafka;
let admin: Admin;
let wire: KafkaWireAdmin;

beforeAll(async () => {
  cluster = await startKafkaCluster();
  kafka = cluster.client('client-test');
  admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [
    { topic: 'orders', partitions: 3, replicationFactor: 3, config: { 'min.insync.replicas': '2' } },
    // Every copy must be in sync for an acks=all write.
    { topic: 'strict', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '3' } },
    // One replica, on broker 2; asks for more in-sync replicas than it can ever have.
    { topic: 'ledger', assignments: [[2]], config: { 'min.insync.replicas': '2' } },
  ]);
  wire = new KafkaWireAdmin({ brokers: cluster.bootstrap, clientId: 'client-test' });
}, 120_000);

afterAll(async () => {
  await admin?.disconnect().catch(() => undefined);
  await cluster?.destroy();
});

async function partitionsOf(topic: string) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return [...topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId);
}

/** The kafkajs error `type`s along an error's cause chain (a retried request wraps the broker's). */
function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  for (let e = error as { type?: unknown; cause?: unknown } | null; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string') types.push(e.type);
  }
  return types;
}

describe('kafkajs 2.2 and the bot’s own admin requests against Kafka 4.4', () => {
  it('reads the members with the address each broker advertises (the only identity Kafka tells)', async () => {
    const expected = cluster!.brokerIds.map((id) => `${id}@127.0.0.1:${cluster!.broker(id).port}`);
    const described = await admin.describeCluster();
    expect(described.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort()).toEqual(expected);
    const metadata = await wire.metadata(null);
    expect(metadata.clusterId).toBe(described.clusterId);
    expect(metadata.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort()).toEqual(expected);
  });

  it('reads topics, partition leaders, replicas, ISR and offline replicas alike', async () => {
    const viaKafkajs = await admin.fetchTopicMetadata({ topics: ['ledger', 'orders'] });
    const viaWire = await wire.metadata(['ledger', 'orders']);
    const shape = (
      topic: string,
      p: { partition: number; leader: number; replicas: number[]; isr: number[] },
    ) =>
      `${topic}/${p.partition} leader ${p.leader} replicas ${p.replicas.join(',')} isr ${[...p.isr].sort().join(',')}`;
    const kafkajsView = viaKafkajs.topics.flatMap((t) =>
      t.partitions.map((p) => shape(t.name, { ...p, partition: p.partitionId })),
    );
    const wireView = viaWire.topics.flatMap((t) => t.partitions.map((p) => shape(t.name, p)));
    expect(wireView.sort()).toEqual(kafkajsView.sort());
    expect(wireView).toHaveLength(4);
    expect(viaWire.topics.flatMap((t) => t.partitions.map((p) => [p.errorCode, p.offlineReplicas]))).toEqual(
      Array(4).fill([0, []]),
    );
    // Every topic, the internal ones too, when none is named.
    expect((await wire.metadata(null)).topics.map((t) => t.name)).toEqual(
      expect.arrayContaining(['ledger', 'orders', 'strict']),
    );
  });

  it("reads a topic's min.insync.replicas", async () => {
    const { resources } = await admin.describeConfigs({
      resources: ['orders', 'ledger'].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['min.insync.replicas'],
      })),
      includeSynonyms: false,
    });
    expect(resources.map((r) => [r.resourceName, r.errorCode, r.configEntries[0]?.configValue])).toEqual([
      ['orders', 0, '2'],
      ['ledger', 0, '2'],
    ]);
    const configs = await wire.topicConfigs(['orders', 'ledger', 'no-such-topic'], ['min.insync.replicas']);
    expect(configs.map((c) => [c.topic, c.errorCode, c.values.get('min.insync.replicas')])).toEqual([
      ['orders', 0, '2'],
      ['ledger', 0, '2'],
      ['no-such-topic', 3, undefined],
    ]);
  });

  it('produces with acks=all and consumes every acknowledged message', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
      const acked = await producer.send({ topic: 'orders', acks: -1, messages });
      expect(acked.every((r) => r.errorCode === 0)).toBe(true);
      // The broker caps min.insync.replicas at the replication factor: a one-copy topic set to 2
      // takes acks=all writes (the health adapter must not call it short of copies).
      const capped = await producer.send({ topic: 'ledger', acks: -1, messages: [{ value: 'x' }] });
      expect(capped.map((r) => r.errorCode)).toEqual([0]);
    } finally {
      await producer.disconnect();
    }
    const read = await readTopic(kafka, 'orders');
    expect([...read.values()].flat().sort()).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
  });

  it('reads a stopped broker’s offline partition only through the bot’s Metadata request', async () => {
    await cluster!.stop('2');
    const shrunk = await waitFor('broker 2 out of every ISR of orders', async () => {
      const { topics } = await wire.metadata(['orders']);
      const partitions = topics[0]!.partitions;
      return partitions.every((p) => !p.isr.includes(2) && p.leader !== 2) ? partitions : false;
    });
    expect(shrunk.map((p) => p.offlineReplicas)).toEqual([[2], [2], [2]]);
    expect((await wire.metadata([])).brokers.map((b) => b.nodeId).sort()).toEqual([1, 3]);

    // kafkajs throws on any partition error in a Metadata answer, and an offline partition is one:
    // neither the topic's metadata nor even the members can be read once it knows such a topic.
    const strictAdmin = cluster!.client('no-retries', { retries: 0 }).admin();
    await strictAdmin.connect();
    try {
      const failures = await Promise.all(
        [strictAdmin.fetchTopicMetadata({ topics: ['ledger'] }), strictAdmin.describeCluster()].map((call) =>
          call.then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      );
      expect(failures.map((failure) => errorTypes(failure))).toEqual([
        expect.arrayContaining(['LEADER_NOT_AVAILABLE']),
        expect.arrayContaining(['LEADER_NOT_AVAILABLE']),
      ]);
    } finally {
      await strictAdmin.disconnect();
    }
    const { topics } = await wire.metadata(['ledger']);
    // Kafka 4 moves the last in-sync replica of a partition into its eligible leader replicas (KIP-966).
    expect(topics[0]!.partitions).toEqual([
      { partition: 0, errorCode: 5, leader: -1, replicas: [2], isr: [], offlineReplicas: [2] },
    ]);

    // Two in-sync copies of three where three are required: acks=all is refused, and kafkajs says why.
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
    await producer.connect();
    try {
      const refused = await producer.send({ topic: 'strict', acks: -1, messages: [{ value: 'x' }] }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(errorTypes(refused)).toContain('NOT_ENOUGH_REPLICAS');
    } finally {
      await producer.disconnect();
    }
  });

  it('elects preferred leaders through the bot’s ElectLeaders request (kafkajs has none)', async () => {
    expect('electLeaders' in admin).toBe(false);
    await cluster!.start('2');
    await waitFor('broker 2 back in every ISR', async () =>
      (await partitionsOf('orders')).every((p) => p.isr.includes(2)),
    );
    const before = await partitionsOf('orders');
    const moved = before.filter((p) => p.leader !== p.replicas[0]).map((p) => p.partitionId);
    expect(moved).toHaveLength(1);

    const results = await wire.electPreferredLeaders([{ topic: 'orders', partitions: [0, 1, 2] }]);
    expect(results.filter((r) => r.errorCode === 0).map((r) => r.partition)).toEqual(moved);
    expect(results.filter((r) => r.errorCode !== 0).map((r) => r.error)).toEqual([
      expect.stringMatching(/^ELECTION_NOT_NEEDED/),
      expect.stringMatching(/^ELECTION_NOT_NEEDED/),
    ]);
    // The answer comes once the controller has committed the change; brokers learn it a moment later.
    await waitFor('every partition led by its preferred replica', async () =>
      (await partitionsOf('orders')).every((p) => p.leader === p.replicas[0]),
    );

    // A partition that does not exist is answered per partition, not with a failed request.
    await expect(wire.electPreferredLeaders([{ topic: 'no-such-topic', partitions: [0] }])).resolves.toEqual([
      {
        topic: 'no-such-topic',
        partition: 0,
        errorCode: 3,
        error: expect.stringMatching(/^UNKNOWN_TOPIC_OR_PARTITION/),
      },
    ]);
  });
});
