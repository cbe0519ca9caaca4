// KafkaClusterHealth against a hand-written fake kafkajs Admin: the Admin is the adapter's only
// dependency, and no broker is reachable from the test machine.
import { ConfigResourceTypes, type Admin, type ITopicMetadata, type ResourceConfigQuery } from 'kafkajs';
import { KafkaClusterHealth } from '../../../src/adapters/clusters/kafka-health';

interface FakeState {
  brokers: number[];
  topics: ITopicMetadata[];
  /** min.insync.replicas per topic; absent topics report no entry. */
  minIsr: Record<string, number>;
}

class FakeAdmin {
  calls: string[] = [];
  connects = 0;
  disconnects = 0;
  metadataRequests: string[][] = [];
  configRequests: ResourceConfigQuery[][] = [];

  constructor(public state: FakeState) {}

  async connect() {
    this.connects++;
  }
  async disconnect() {
    this.disconnects++;
  }
  async listTopics() {
    this.calls.push('listTopics');
    return this.state.topics.map((t) => t.name);
  }
  async fetchTopicMetadata(options?: { topics: string[] }) {
    this.calls.push('fetchTopicMetadata');
    const wanted = options?.topics ?? this.state.topics.map((t) => t.name);
    this.metadataRequests.push(wanted);
    return { topics: this.state.topics.filter((t) => wanted.includes(t.name)) };
  }
  async describeConfigs({ resources }: { resources: ResourceConfigQuery[]; includeSynonyms: boolean }) {
    this.calls.push('describeConfigs');
    this.configRequests.push(resources);
    return {
      throttleTime: 0,
      resources: resources.map((r) => ({
        resourceName: r.name,
        resourceType: r.type,
        errorCode: 0,
        errorMessage: '',
        configEntries:
          this.state.minIsr[r.name] === undefined
            ? []
            : [
                {
                  configName: 'min.insync.replicas',
                  configValue: String(this.state.minIsr[r.name]),
                  isDefault: false,
                  configSource: 1,
                  isSensitive: false,
                  readOnly: false,
                  configSynonyms: [],
                },
              ],
      })),
    };
  }
  async describeCluster() {
    this.calls.push('describeCluster');
    return {
      brokers: this.state.brokers.map((nodeId) => ({ nodeId, host: `broker-${nodeId}`, port: 9092 })),
      controller: this.state.brokers[0] ?? null,
      clusterId: 'fake',
    };
  }
}

function partition(
  partitionId: number,
  leader: number,
  replicas: number[],
  isr: number[],
  offline?: number[],
) {
  return {
    partitionErrorCode: 0,
    partitionId,
    leader,
    replicas,
    isr,
    ...(offline ? { offlineReplicas: offline } : {}),
  };
}

function healthyState(): FakeState {
  return {
    brokers: [3, 1, 2],
    topics: [
      {
        name: 'orders',
        partitions: [
          partition(0, 1, [1, 2, 3], [1, 2, 3]),
          partition(1, 2, [2, 3, 1], [2, 3, 1]),
          partition(2, 3, [3, 1, 2], [3, 1, 2]),
        ],
      },
      { name: 'payments', partitions: [partition(0, 1, [1, 2, 3], [1, 2, 3])] },
    ],
    minIsr: { orders: 2 },
  };
}

function adapterFor(state: FakeState, topics?: string[]) {
  const fake = new FakeAdmin(state);
  const health = new KafkaClusterHealth({ admin: fake as unknown as Admin, ...(topics ? { topics } : {}) });
  return { fake, health };
}

function orders(state: FakeState) {
  return state.topics.find((t) => t.name === 'orders')!;
}

it('reports a healthy cluster as fully replicated, with the brokers as members', async () => {
  const { fake, health } = adapterFor(healthyState());
  await expect(health.health()).resolves.toEqual({
    fullyReplicated: true,
    laggingReplicas: 0,
    members: ['1', '2', '3'],
    detail: [],
  });
  expect(fake.calls).toContain('listTopics');
  expect(fake.metadataRequests).toEqual([['orders', 'payments']]);
  expect(fake.configRequests[0]).toEqual([
    { type: ConfigResourceTypes.TOPIC, name: 'orders', configNames: ['min.insync.replicas'] },
    { type: ConfigResourceTypes.TOPIC, name: 'payments', configNames: ['min.insync.replicas'] },
  ]);
  expect(fake.connects).toBe(1);
});

it('reads only the configured topics when given', async () => {
  const { fake, health } = adapterFor(healthyState(), ['orders']);
  await health.health();
  expect(fake.calls).not.toContain('listTopics');
  expect(fake.metadataRequests).toEqual([['orders']]);
  expect(fake.configRequests[0]!.map((r) => r.name)).toEqual(['orders']);
});

it('counts an under-replicated partition and describes its ISR', async () => {
  const state = healthyState();
  state.minIsr = {}; // broker default 1: only the ISR shortfall is reported
  orders(state).partitions[2] = partition(2, 1, [1, 2, 3], [1]);
  const reading = await adapterFor(state).health.health();
  expect(reading).toEqual({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['1', '2', '3'],
    detail: ['orders/2: ISR [1] of replicas [1,2,3]'],
  });
});

it('counts an offline partition (no leader)', async () => {
  const state = healthyState();
  state.minIsr = {};
  orders(state).partitions[0] = partition(0, -1, [1, 2, 3], [1, 2, 3]);
  const reading = await adapterFor(state).health.health();
  expect(reading.fullyReplicated).toBe(false);
  expect(reading.laggingReplicas).toBe(1);
  expect(reading.detail).toEqual(['orders/0: offline (no leader)']);
});

it('counts a partition with offline replicas once, naming each problem', async () => {
  const state = healthyState();
  state.minIsr = {};
  orders(state).partitions[1] = partition(1, 2, [2, 3, 1], [2, 1], [3]);
  const reading = await adapterFor(state).health.health();
  expect(reading.laggingReplicas).toBe(1);
  expect(reading.detail).toEqual([
    'orders/1: offline replicas [3]',
    'orders/1: ISR [2,1] of replicas [2,3,1]',
  ]);
});

it('flags a partition whose ISR is below min.insync.replicas', async () => {
  const state = healthyState();
  orders(state).partitions[1] = partition(1, 2, [2, 3, 1], [2]);
  const reading = await adapterFor(state).health.health();
  expect(reading.fullyReplicated).toBe(false);
  expect(reading.laggingReplicas).toBe(1);
  expect(reading.detail).toEqual([
    'orders/1: ISR [2] of replicas [2,3,1]',
    'orders/1: ISR 1 < min.insync.replicas 2',
  ]);
});

it('is not fully replicated when min.insync.replicas exceeds the replication factor', async () => {
  const state = healthyState();
  state.topics = [{ name: 'orders', partitions: [partition(0, 1, [1], [1])] }];
  const reading = await adapterFor(state).health.health();
  expect(reading).toMatchObject({ fullyReplicated: false, laggingReplicas: 0 });
  expect(reading.detail).toEqual(['orders/0: ISR 1 < min.insync.replicas 2']);
});

it('uses the broker default of 1 when a topic reports no min.insync.replicas', async () => {
  const state = healthyState();
  state.minIsr = {};
  state.topics = [{ name: 'payments', partitions: [partition(0, 1, [1], [1])] }];
  await expect(adapterFor(state).health.health()).resolves.toMatchObject({
    fullyReplicated: true,
    detail: [],
  });
});

it('lists the partitions a broker still leads (drain check)', async () => {
  const { health } = adapterFor(healthyState());
  await expect(health.ledBy('1')).resolves.toEqual(['orders/0', 'payments/0']);
  await expect(health.ledBy('3')).resolves.toEqual(['orders/2']);
  await expect(health.ledBy('4')).resolves.toEqual([]);
});

it('does not count leaderless partitions as led by anyone', async () => {
  const state = healthyState();
  orders(state).partitions[0] = partition(0, -1, [1, 2, 3], []);
  await expect(adapterFor(state).health.ledBy('-1')).resolves.toEqual([]);
});

it('throws when a topic config cannot be described', async () => {
  const { fake, health } = adapterFor(healthyState());
  fake.describeConfigs = async ({ resources }) => ({
    throttleTime: 0,
    resources: resources.map((r) => ({
      resourceName: r.name,
      resourceType: r.type,
      errorCode: 29,
      errorMessage: 'Topic authorization failed',
      configEntries: [],
    })),
  });
  await expect(health.health()).rejects.toThrow(
    /describeConfigs for topic orders failed: Topic authorization/,
  );
});

it('propagates an unreachable cluster as an error', async () => {
  const { fake, health } = adapterFor(healthyState());
  fake.describeCluster = () => Promise.reject(new Error('Connection timeout'));
  await expect(health.health()).rejects.toThrow('Connection timeout');
});

it('disconnects the admin on close', async () => {
  const { fake, health } = adapterFor(healthyState());
  await health.health();
  await health.close();
  expect(fake.disconnects).toBe(1);
});
