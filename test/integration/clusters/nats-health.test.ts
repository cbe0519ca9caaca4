// NatsClusterHealth against a real three-node JetStream cluster: an R3 stream under a steady
// publisher loses a node, gets it back with its old store, then gets a node back with an empty
// store, and every acknowledged message is still there at the end.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { NatsClusterHealth } from '../../../src/adapters/clusters/nats-health';
import { readingsOf } from '../../support/services/health-readings';
import {
  startNatsCluster,
  startPublisher,
  type NatsCluster,
  type Publisher,
} from '../../support/services/nats-cluster';
import { waitFor } from '../../support/wait-for';

const STREAM = 'orders';

let cluster: NatsCluster | undefined;
let publisher: Publisher | undefined;
let health: NatsClusterHealth | undefined;

afterAll(async () => {
  await publisher?.stop().catch(() => undefined);
  await health?.close().catch(() => undefined);
  await cluster?.destroy();
});

const reading = readingsOf(() => health!);

/** A node that is not the stream leader, so losing it is a lagging replica, not an election. */
async function aReplica(): Promise<string> {
  await reading((r) => r.fullyReplicated, 'a fully replicated stream');
  const nc = await connect({ servers: cluster!.urls });
  try {
    const info = await (await nc.jetstreamManager()).streams.info(STREAM);
    return info.cluster!.replicas![0]!.name;
  } finally {
    await nc.close();
  }
}

describe('NatsClusterHealth on a 3-node JetStream cluster', () => {
  it('tracks an R3 stream through a node loss, a restart and an empty-store rejoin', async () => {
    cluster = await startNatsCluster({ size: 3 });
    publisher = await startPublisher(cluster.urls, STREAM, 'orders.new');
    health = new NatsClusterHealth({ servers: cluster.urls, streams: [STREAM], nodes: cluster.monitors });

    const healthy = await reading((h) => h.fullyReplicated && publisher!.acked.length > 20, 'first healthy');
    expect(healthy).toEqual({
      fullyReplicated: true,
      laggingReplicas: 0,
      members: ['n1', 'n2', 'n3'],
      detail: [],
      nodes: ['n1', 'n2', 'n3'].map((id) => ({
        id,
        incarnation: expect.any(String),
        holdsAll: true,
        detail: [],
      })),
    });
    const incarnations = new Map(healthy.nodes!.map((node) => [node.id, node.incarnation]));

    // Lose a replica: the stream keeps its leader and quorum but is no longer fully replicated.
    const first = await aReplica();
    await cluster.stop(first);
    const degraded = await reading((h) => !h.fullyReplicated && h.laggingReplicas >= 1, 'degraded');
    expect(degraded.detail.join('\n')).toMatch(new RegExp(`^${STREAM}: .*${first}`, 'm'));
    // Down: not a member, and its own monitor does not answer.
    expect(degraded.members).not.toContain(first);
    expect(degraded.nodes?.find((node) => node.id === first)).toMatchObject({
      incarnation: null,
      holdsAll: false,
    });
    const ackedWhileDown = publisher.acked.length;
    await waitFor('acks while a node is down', async () => publisher!.acked.length > ackedWhileDown + 20);

    // It comes back with its old store (a re-attached volume) and catches up.
    await cluster.start(first);
    const back = await reading(
      (h) => h.fullyReplicated && h.members.includes(first),
      're-attached node caught up',
    );
    // A new process (server_id is new at every start), holding the stream.
    const restarted = back.nodes?.find((node) => node.id === first);
    expect(restarted?.holdsAll).toBe(true);
    expect(restarted?.incarnation).not.toBe(incarnations.get(first));

    // Another replica comes back with an empty store (a fresh disk): it catches up by replication.
    const second = await aReplica();
    await cluster.stop(second);
    await reading((h) => !h.fullyReplicated, 'degraded again');
    await cluster.start(second, { emptyStore: true });
    const healed = await reading(
      (h) => h.fullyReplicated && h.members.includes(second),
      'fresh-disk node caught up',
      40_000,
    );
    expect(healed.laggingReplicas).toBe(0);
    expect(existsSync(join(cluster.node(second).storeDir, 'jetstream', '$G', 'streams', STREAM))).toBe(true);

    await publisher.stop();
    const acked = publisher.acked;
    expect(acked.length).toBeGreaterThan(50);
    const maxAcked = Math.max(...acked);

    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info(STREAM);
      expect(info.state.last_seq).toBeGreaterThanOrEqual(maxAcked);
      expect(info.state.messages).toBeGreaterThanOrEqual(acked.length);
      // Every acknowledged sequence is readable (a sample of them plus the first and the last).
      const step = Math.max(1, Math.floor(acked.length / 100));
      const sample = [acked[0]!, ...acked.filter((_, i) => i % step === 0), maxAcked];
      for (const seq of sample) {
        const message = await jsm.streams.getMessage(STREAM, { seq });
        expect(message.seq).toBe(seq);
      }
    } finally {
      await nc.close();
    }
  }, 120_000);

  it('never reads a server restarted on an empty disk as holding the stream before it does, while nothing is stored', async () => {
    // No publisher: with no new message the stream leader keeps judging the replica by what the
    // previous process acknowledged ("current, lag 0"); only the node's own view tells.
    expect(cluster).toBeDefined();
    const victim = await aReplica();
    const streamDir = join(cluster!.node(victim).storeDir, 'jetstream', '$G', 'streams', STREAM);
    const clusterView = new NatsClusterHealth({ servers: cluster!.urls, streams: [STREAM] });
    const claims: string[] = [];
    let staleClusterViews = 0;
    try {
      await cluster!.stop(victim);
      await cluster!.start(victim, { emptyStore: true });
      let streak = 0;
      const deadline = Date.now() + 40_000;
      while (streak < 3 && Date.now() < deadline) {
        const [own, wide] = await Promise.all([health!.health(), clusterView.health().catch(() => null)]);
        const held = existsSync(streamDir);
        if (own.fullyReplicated && !held) claims.push(own.detail.join('; ') || 'fully replicated');
        if (wide?.fullyReplicated && !held) staleClusterViews++;
        streak = own.fullyReplicated ? streak + 1 : 0;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(streak).toBe(3);
    } finally {
      await clusterView.close();
    }
    expect(claims).toEqual([]);
    expect(existsSync(streamDir)).toBe(true);
    // For the record (not asserted: it depends on timing): readings the stream info alone got wrong.
    process.stdout.write(
      `cluster-wide view read the wiped ${victim} as current ${staleClusterViews} times\n`,
    );
  }, 60_000);

  it('counts every server in the cluster as a member, hosting a replica or not, and names streams a node cannot be spared from', async () => {
    expect(cluster).toBeDefined();
    const nc = await connect({ servers: cluster!.urls });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'single', subjects: ['single.>'], num_replicas: 1 });
      await jsm.streams.add({ name: 'pair', subjects: ['pair.>'], num_replicas: 2 });
      const single = await jsm.streams.info('single');
      const pair = await jsm.streams.info('pair');
      const onlyCopy = single.cluster!.leader!;
      const pairPeers = [pair.cluster!.leader!, ...pair.cluster!.replicas!.map((r) => r.name)].sort();

      // Watching the R1 stream only: two servers host nothing of it, and are members all the same.
      const narrow = new NatsClusterHealth({
        servers: cluster!.urls,
        streams: ['single'],
        nodes: cluster!.monitors,
      });
      try {
        const seen = await waitFor('the R1 stream healthy', async () => {
          const h = await narrow.health();
          return h.fullyReplicated ? h : undefined;
        });
        expect(seen.members).toEqual(['n1', 'n2', 'n3']);
      } finally {
        await narrow.close();
      }

      // Every stream of the account (no `streams`).
      const everyStream = new NatsClusterHealth({ servers: cluster!.urls, nodes: cluster!.monitors });
      const atRisk = await everyStream.copiesAtRisk(['n1', 'n2', 'n3']).finally(() => everyStream.close());
      expect(atRisk.filter((copy) => copy.name === STREAM)).toEqual([]);
      expect(atRisk.filter((copy) => copy.name === 'single')).toEqual([
        expect.objectContaining({ node: onlyCopy, risk: 'only_copy', replicas: [onlyCopy] }),
      ]);
      expect(
        atRisk
          .filter((copy) => copy.name === 'pair')
          .map((copy) => `${copy.node} ${copy.risk}`)
          .sort(),
      ).toEqual(pairPeers.map((peer) => `${peer} writes_stop`));
      await jsm.streams.delete('single');
      await jsm.streams.delete('pair');
    } finally {
      await nc.close();
    }
  }, 60_000);
});
