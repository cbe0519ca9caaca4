// assessStream on hand-made stream infos: the shapes a live cluster only shows briefly.
import type { PeerInfo, StreamInfo } from 'nats';
import { assessStream } from '../../../src/adapters/clusters/nats-health';

function info(numReplicas: number, cluster: StreamInfo['cluster']): StreamInfo {
  return { config: { name: 'orders', num_replicas: numReplicas }, cluster } as unknown as StreamInfo;
}

describe('assessStream', () => {
  it('is healthy with a leader and every replica current (lag omitted when 0)', () => {
    const result = assessStream(
      info(3, {
        leader: 'n1',
        replicas: [
          // The server omits `lag` when it is 0, whatever the typings say.
          { name: 'n2', current: true, offline: false, active: 1 } as PeerInfo,
          { name: 'n3', current: true, offline: false, active: 1, lag: 0 },
        ],
      }),
    );
    expect(result).toEqual({ healthy: true, lagging: 0, members: ['n1', 'n2', 'n3'], detail: [] });
  });

  it('names a lagging replica, a missing replica and a missing leader', () => {
    expect(
      assessStream(
        info(3, {
          leader: 'n1',
          replicas: [{ name: 'n2', current: false, offline: false, active: 1, lag: 12 }],
        }),
      ),
    ).toEqual({
      healthy: false,
      lagging: 2,
      members: ['n1', 'n2'],
      detail: ['orders: replica n2 not current (lag 12)', 'orders: 1 of 2 replicas missing'],
    });
    expect(assessStream(info(1, { replicas: [] })).detail).toEqual(['orders: no leader']);
  });

  it('counts a current replica that still lags', () => {
    const result = assessStream(
      info(2, { leader: 'n1', replicas: [{ name: 'n2', current: true, offline: false, active: 1, lag: 3 }] }),
    );
    expect(result.healthy).toBe(false);
    expect(result.lagging).toBe(1);
  });
});
