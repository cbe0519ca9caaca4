// What the NATS rolling-replace tests (nats-rolling, rr-crash) set up alike: a 3-node cluster under
// a steady publisher, a rolling-replace target on its stream, and the wait for the stream to be
// whole again at the end. One copy, so that the two tests keep the same load.
import type { JetStreamManager, StreamInfo } from 'nats';
import {
  startNatsCluster,
  startPublisher,
  type NatsCluster,
  type nodeCtlHook,
  type Publisher,
} from './nats-cluster';
import { waitFor } from '../wait-for';

export const STREAM = 'orders';

/**
 * A 3-node cluster and a publisher of 20 messages a second to STREAM. At 100 a second a busy CI
 * machine replicated each message more slowly than the next arrived: no health sample ever saw a
 * replica with lag 0, so a freshly wiped node never counted as recovered (a needs-human stop after
 * recoverTimeout).
 */
export async function startUnderLoad(): Promise<{ cluster: NatsCluster; publisher: Publisher }> {
  const cluster = await startNatsCluster({ size: 3 });
  try {
    return {
      cluster,
      publisher: await startPublisher(cluster.urls, STREAM, 'orders.new', { intervalMs: 50 }),
    };
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
}

/** A rolling-replace target on the cluster's stream whose nodes `hook` replaces. */
export function streamTarget(
  cluster: NatsCluster,
  name: string,
  hook: ReturnType<typeof nodeCtlHook>,
  { timeout, recoverTimeout }: { timeout: string; recoverTimeout: string },
): object {
  return {
    name,
    strategy: 'rolling-replace',
    cluster: {
      kind: 'nats',
      servers: cluster.urls,
      streams: [STREAM],
      nodes: cluster.monitors,
      replace: { ...hook, timeout },
      pollInterval: '100ms',
      recoverTimeout,
    },
  };
}

/**
 * Waits until STREAM is R3 and current: a leader and two current replicas without lag (a reading
 * may flicker while the last publishes settle).
 */
export function untilR3Current(jsm: JetStreamManager): Promise<StreamInfo> {
  return waitFor(
    'the stream R3 current',
    async () => {
      const stream = await jsm.streams.info(STREAM);
      const replicas = stream.cluster?.replicas ?? [];
      const current = replicas.every((r) => r.current && !r.offline && (r.lag ?? 0) === 0);
      return stream.cluster?.leader && replicas.length === 2 && current ? stream : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}
