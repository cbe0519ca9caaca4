// NatsClusterHealth against a real three-node JetStream cluster: an R3 stream under a steady
// publisher loses a node, gets it back with its old store, then gets a node back with an empty
// store, and every acknowledged message is still there at the end.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { NatsClusterHealth } from '../../../src/adapters/clusters/nats-health';
import type { ClusterHealth } from '../../../src/ports/cluster-health';
import {
  startNatsCluster,
  startPublisher,
  type NatsCluster,
  type Publisher,
} from '../../support/nats-cluster';
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

function reading(
  check: (h: ClusterHealth) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ClusterHealth> {
  return waitFor(
    what,
    async () => {
      const h = await health!.health();
      return check(h) ? h : false;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

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
    health = new NatsClusterHealth({ servers: cluster.urls, streams: [STREAM] });

    const healthy = await reading((h) => h.fullyReplicated && publisher!.acked.length > 20, 'first healthy');
    expect(healthy).toEqual({
      fullyReplicated: true,
      laggingReplicas: 0,
      members: ['n1', 'n2', 'n3'],
      detail: [],
    });

    // Lose a replica: the stream keeps its leader and quorum but is no longer fully replicated.
    const first = await aReplica();
    await cluster.stop(first);
    const degraded = await reading((h) => !h.fullyReplicated && h.laggingReplicas >= 1, 'degraded');
    expect(degraded.detail.join('\n')).toMatch(new RegExp(`^${STREAM}: .*${first}`, 'm'));
    const ackedWhileDown = publisher.acked.length;
    await waitFor('acks while a node is down', async () => publisher!.acked.length > ackedWhileDown + 20);

    // It comes back with its old store (a re-attached volume) and catches up.
    await cluster.start(first);
    await reading((h) => h.fullyReplicated && h.members.includes(first), 're-attached node caught up');

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
});
