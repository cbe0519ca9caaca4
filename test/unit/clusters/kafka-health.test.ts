// KafkaClusterHealth against a fake KafkaAdmin, only for answers a real Kafka 4.4 cluster cannot be
// made to give (test/integration/clusters/kafka-health.test.ts covers the rest on real brokers): a
// topic without a min.insync.replicas entry, a refused config request, an unreachable cluster, an
// ISR that keeps a departed broker (Kafka 3 did; Kafka 4 moves it to the ELR), odd partition errors,
// many partitions short on one broker, refused elections, a controller quorum without a leader or
// with a voter behind (the test cluster has one controller), and copies at risk under settings the
// real cluster also shows (kafka-rolling.test.ts) next to ones it does not.
import type {
  ClusterMetadata,
  KafkaAdmin,
  MetadataQuorum,
  PartitionElection,
  PartitionMetadata,
  TopicConfig,
  TopicPartitions,
} from '../../../src/adapters/clusters/kafka-admin';
import { KafkaClusterHealth } from '../../../src/adapters/clusters/kafka-health';

function partition(
  id: number,
  leader: number,
  replicas: number[],
  isr: number[],
  extra: Partial<PartitionMetadata> = {},
): PartitionMetadata {
  return { partition: id, errorCode: 0, leader, replicas, isr, offlineReplicas: [], ...extra };
}

class FakeAdmin implements KafkaAdmin {
  metadataCalls: (string[] | null)[] = [];
  elections: TopicPartitions[][] = [];
  electionAnswer: PartitionElection[] = [];
  quorumAnswer: MetadataQuorum = {
    errorCode: 0,
    leaderId: 100,
    leaderEpoch: 1,
    highWatermark: 40,
    voters: [{ id: 100, logEndOffset: 40, lastFetchTimestamp: -1, lastCaughtUpTimestamp: 1_000_000 }],
    observers: [],
  };

  constructor(
    public cluster: ClusterMetadata,
    public configs: (topics: string[]) => TopicConfig[],
  ) {}

  metadata(topics: string[] | null): Promise<ClusterMetadata> {
    this.metadataCalls.push(topics);
    return Promise.resolve(this.cluster);
  }

  topicConfigs(topics: string[]): Promise<TopicConfig[]> {
    return Promise.resolve(this.configs(topics));
  }

  electPreferredLeaders(partitions: TopicPartitions[]): Promise<PartitionElection[]> {
    this.elections.push(partitions);
    return Promise.resolve(this.electionAnswer);
  }

  quorum(): Promise<MetadataQuorum> {
    return Promise.resolve(this.quorumAnswer);
  }
}

const brokers = [1, 2, 3].map((nodeId) => ({ nodeId, host: `kafka-${nodeId}`, port: 9092 }));

function noMinIsrEntries(topics: string[]): TopicConfig[] {
  return topics.map((topic) => ({ topic, errorCode: 0, errorMessage: null, values: new Map() }));
}

it('uses the broker default of 1 when a topic reports no min.insync.replicas', async () => {
  const admin = new FakeAdmin(
    {
      clusterId: 'c',
      brokers,
      topics: [
        { name: 'payments', errorCode: 0, isInternal: false, partitions: [partition(0, 1, [1, 2], [1])] },
      ],
    },
    noMinIsrEntries,
  );
  const reading = await new KafkaClusterHealth({ admin }).health();
  // Short of a copy, but not below a min.insync.replicas of 1.
  expect(reading.detail).toEqual(['payments/0: ISR [1] of replicas [1,2], out of sync: 2']);
  expect(admin.metadataCalls).toEqual([null]);
});

it('throws when a topic config cannot be described', async () => {
  const admin = new FakeAdmin(
    {
      clusterId: 'c',
      brokers,
      topics: [{ name: 'orders', errorCode: 0, isInternal: false, partitions: [partition(0, 1, [1], [1])] }],
    },
    (topics) =>
      topics.map((topic) => ({
        topic,
        errorCode: 29,
        errorMessage: 'Topic authorization failed',
        values: new Map(),
      })),
  );
  await expect(new KafkaClusterHealth({ admin, topics: ['orders'] }).health()).rejects.toThrow(
    /describeConfigs for topic orders failed: Topic authorization/,
  );
});

it('propagates an unreachable cluster as an error', async () => {
  const admin = new FakeAdmin({ clusterId: null, brokers: [], topics: [] }, noMinIsrEntries);
  admin.metadata = () => Promise.reject(new Error('no Kafka broker answered Metadata: connect ECONNREFUSED'));
  await expect(new KafkaClusterHealth({ admin }).health()).rejects.toThrow(/ECONNREFUSED/);
});

it('does not count a broker that left the cluster as holding a replica an ISR still lists it in', async () => {
  const admin = new FakeAdmin(
    {
      clusterId: 'c',
      brokers: brokers.filter((b) => b.nodeId !== 3),
      topics: [
        {
          name: 'ledger',
          errorCode: 0,
          isInternal: false,
          partitions: [partition(0, -1, [3], [3], { errorCode: 5, offlineReplicas: [3] })],
        },
      ],
    },
    noMinIsrEntries,
  );
  const reading = await new KafkaClusterHealth({ admin, nodes: ['3'] }).health();
  expect(reading.nodes).toEqual([
    {
      id: '3',
      incarnation: null,
      holdsAll: false,
      detail: ['broker 3: not a member of the cluster', 'broker 3: not in the ISR of ledger/0 (1 of 1)'],
    },
  ]);
  expect(reading.detail.slice(0, 2)).toEqual([
    'ledger/0: offline (no leader)',
    'ledger/0: offline replicas [3]',
  ]);
});

it('reports a partition error other than a missing leader or replica', async () => {
  const admin = new FakeAdmin(
    {
      clusterId: 'c',
      brokers,
      topics: [
        {
          name: 'orders',
          errorCode: 0,
          isInternal: false,
          partitions: [
            partition(0, 1, [1, 2], [1, 2], { errorCode: 9 }),
            partition(1, 2, [2, 1], [2, 1], { errorCode: 29 }),
          ],
        },
      ],
    },
    noMinIsrEntries,
  );
  const reading = await new KafkaClusterHealth({ admin }).health();
  expect(reading).toMatchObject({ fullyReplicated: false, laggingReplicas: 1 });
  expect(reading.detail).toEqual(['orders/1: TOPIC_AUTHORIZATION_FAILED']);
});

it('names at most ten partitions a broker is short of, and counts the rest', async () => {
  const partitions = Array.from({ length: 12 }, (_, i) => partition(i, 1, [1, 2], [1]));
  const admin = new FakeAdmin(
    { clusterId: 'c', brokers, topics: [{ name: 'events', errorCode: 0, isInternal: false, partitions }] },
    noMinIsrEntries,
  );
  const reading = await new KafkaClusterHealth({ admin, nodes: ['2'] }).health();
  const named = Array.from({ length: 10 }, (_, i) => `events/${i}`).join(', ');
  expect(reading.nodes?.[0]?.detail).toEqual([`broker 2: not in the ISR of ${named} and 2 more (12 of 12)`]);
});

it('elects only partitions whose preferred replica is in sync, and reports refused ones', async () => {
  const admin = new FakeAdmin(
    {
      clusterId: 'c',
      brokers,
      topics: [
        {
          name: 'orders',
          errorCode: 0,
          isInternal: false,
          partitions: [
            partition(0, 1, [1, 2, 3], [1, 2, 3]), // led by its preferred replica
            partition(1, 3, [2, 3, 1], [3, 1, 2]),
            partition(2, 1, [3, 1, 2], [1, 2]), // preferred replica 3 out of sync
            partition(3, 1, [2, 1, 3], [1, 2, 3]),
          ],
        },
      ],
    },
    noMinIsrEntries,
  );
  admin.electionAnswer = [
    { topic: 'orders', partition: 1, errorCode: 0, error: null },
    {
      topic: 'orders',
      partition: 3,
      errorCode: 80,
      error: 'PREFERRED_LEADER_NOT_AVAILABLE: broker 2 fenced',
    },
  ];
  await expect(new KafkaClusterHealth({ admin }).electPreferredLeaders()).resolves.toEqual({
    elected: ['orders/1'],
    failed: [
      'orders/2: preferred replica 3 is not in the ISR',
      'orders/3: PREFERRED_LEADER_NOT_AVAILABLE: broker 2 fenced',
    ],
  });
  expect(admin.elections).toEqual([[{ topic: 'orders', partitions: [1, 3] }]]);
});

describe('the controller quorum', () => {
  const healthyCluster = (): FakeAdmin =>
    new FakeAdmin(
      {
        clusterId: 'c',
        brokers,
        topics: [
          { name: 'orders', errorCode: 0, isInternal: false, partitions: [partition(0, 1, [1, 2], [1, 2])] },
        ],
      },
      noMinIsrEntries,
    );
  const voter = (id: number, lastCaughtUpTimestamp: number) => ({
    id,
    logEndOffset: 40,
    lastFetchTimestamp: lastCaughtUpTimestamp,
    lastCaughtUpTimestamp,
  });

  it('is healthy with a leader and every voter caught up within ten seconds of the leader', async () => {
    const admin = healthyCluster();
    admin.quorumAnswer = {
      ...admin.quorumAnswer,
      voters: [voter(100, 50_000), voter(101, 41_000), voter(102, 49_000)],
    };
    await expect(new KafkaClusterHealth({ admin }).health()).resolves.toMatchObject({
      fullyReplicated: true,
      detail: [],
    });
  });

  it('is not fully replicated without a quorum leader, or with a voter behind', async () => {
    const admin = healthyCluster();
    admin.quorumAnswer = { ...admin.quorumAnswer, leaderId: -1 };
    await expect(new KafkaClusterHealth({ admin }).health()).resolves.toMatchObject({
      fullyReplicated: false,
      detail: ['metadata quorum: no leader'],
    });
    admin.quorumAnswer = {
      ...admin.quorumAnswer,
      leaderId: 100,
      voters: [voter(100, 50_000), voter(101, 39_000), voter(102, -1)],
    };
    await expect(new KafkaClusterHealth({ admin }).health()).resolves.toMatchObject({
      fullyReplicated: false,
      detail: ['metadata quorum: voters 101, 102 of 3 not current (leader 100)'],
    });
    admin.quorumAnswer = { ...admin.quorumAnswer, errorCode: 41 };
    await expect(new KafkaClusterHealth({ admin }).health()).resolves.toMatchObject({
      fullyReplicated: false,
      detail: ['metadata quorum: cannot be described (NOT_CONTROLLER)'],
    });
  });
});

it('names copies at risk: an only copy, and partitions whose writes stop without the node', async () => {
  const admin = new FakeAdmin(
    {
      clusterId: 'c',
      brokers,
      topics: [
        { name: 'ledger', errorCode: 0, isInternal: false, partitions: [partition(0, 3, [3], [3])] },
        {
          name: 'orders',
          errorCode: 0,
          isInternal: false,
          partitions: [partition(0, 1, [1, 2, 3], [1, 2, 3]), partition(1, 2, [2, 3], [2, 3])],
        },
        {
          name: 'strict',
          errorCode: 0,
          isInternal: false,
          partitions: [partition(0, 1, [1, 2, 3], [1, 2, 3])],
        },
      ],
    },
    (topics) =>
      topics.map((topic) => ({
        topic,
        errorCode: 0,
        errorMessage: null,
        values: new Map([['min.insync.replicas', topic === 'strict' ? '3' : '2']]),
      })),
  );
  const atRisk = await new KafkaClusterHealth({ admin }).copiesAtRisk(['1', '3']);
  expect(atRisk.map((copy) => `${copy.name} ${copy.node} ${copy.risk}`)).toEqual([
    'ledger/0 3 only_copy',
    // RF 2 with min.insync.replicas 2: one replica out stops acks=all writes.
    'orders/1 3 writes_stop',
    'strict/0 1 writes_stop',
    'strict/0 3 writes_stop',
  ]);
  expect(atRisk[0]!.detail).toBe('ledger/0: its only copy is on broker 3');
});
