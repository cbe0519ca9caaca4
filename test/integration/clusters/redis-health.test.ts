// Replication health of a real Redis primary with two replicas: in sync, a replica gone, and the
// replica back after a full resync. Private redis-servers on free ports; the shared one is untouched.
import IORedis, { type Redis } from 'ioredis';
import { parseReplicationInfo, RedisReplicationHealth } from '../../../src/adapters/clusters/redis-health';
import type { ClusterHealth } from '../../../src/ports/cluster-health';
import { startRedisReplicaSet, type RedisReplicaSet } from '../../support/services/redis-replicas';
import { freePort } from '../../support/services/redis-server';
import { waitFor } from '../../support/wait-for';

let set: RedisReplicaSet;
let health: RedisReplicationHealth;
let writer: Redis;

beforeAll(async () => {
  set = await startRedisReplicaSet({ replicas: 2 });
  health = new RedisReplicationHealth({ primary: set.primaryUrl, expectedReplicas: 2 });
  writer = new IORedis(set.primaryUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await writer.connect();
});

afterAll(async () => {
  await writer?.quit();
  await health?.close();
  await set?.destroy();
});

async function writeBurst(prefix: string, count = 200): Promise<void> {
  const pipeline = writer.pipeline();
  for (let i = 0; i < count; i++) pipeline.set(`${prefix}:${i}`, 'x'.repeat(64));
  await pipeline.exec();
}

/** Replicas acknowledge their offset about once a second: poll for the expected verdict. */
function healthUntil(what: string, accept: (reading: ClusterHealth) => boolean): Promise<ClusterHealth> {
  return waitFor(
    what,
    async () => {
      const reading = await health.health();
      return accept(reading) ? reading : false;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

const addresses = () => set.replicas.map((replica) => `127.0.0.1:${replica.port}`).sort();

it('is fully replicated once both replicas have caught up with the writes', async () => {
  await writeBurst('burst1');
  const reading = await healthUntil('both replicas in sync', (r) => r.fullyReplicated);
  expect(reading).toEqual({
    fullyReplicated: true,
    laggingReplicas: 0,
    members: expect.any(Array),
    detail: [],
  });
  expect([...reading.members].sort()).toEqual(addresses());
});

it('stays fully replicated while writes keep arriving in bursts, after a short poll', async () => {
  for (let round = 0; round < 5; round++) {
    await writeBurst(`burst2-${round}`, 50);
    await healthUntil(`in sync after burst ${round}`, (r) => r.fullyReplicated);
  }
});

it('reports a stopped replica as lagging and names it', async () => {
  await healthUntil('in sync before the stop', (r) => r.fullyReplicated);
  const stopped = `127.0.0.1:${set.replicas[1]!.port}`;
  await set.stopReplica(1);

  const reading = await healthUntil('the primary to drop the replica', (r) => r.members.length === 1);
  expect(reading.fullyReplicated).toBe(false);
  expect(reading.laggingReplicas).toBe(1);
  expect(reading.members).toEqual([`127.0.0.1:${set.replicas[0]!.port}`]);
  expect(reading.detail.join('\n')).toContain(stopped);
  expect(reading.detail.join('\n')).toContain('1 of 2 expected replicas connected');
});

it('is fully replicated again once the restarted replica has resynced', async () => {
  await writeBurst('while-down');
  await set.startReplica(1);
  const reading = await healthUntil('the replica to resync', (r) => r.fullyReplicated);
  expect(reading.laggingReplicas).toBe(0);
  expect([...reading.members].sort()).toEqual(addresses());

  const replica = new IORedis(set.replicas[1]!.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await replica.connect();
    expect(await replica.get('while-down:0')).toBe('x'.repeat(64));
  } finally {
    await replica.quit();
  }
});

it('reads each replica itself: its process, its link up, within the lag; a restarted one as a new process', async () => {
  const nodes = addresses();
  const own = new RedisReplicationHealth({ primary: set.primaryUrl, expectedReplicas: 2, nodes });
  try {
    const before = await waitFor('both replicas holding', async () => {
      const reading = await own.health();
      return reading.fullyReplicated && reading.nodes?.every((node) => node.holdsAll) ? reading : undefined;
    });
    expect(before.nodes?.map((node) => node.id)).toEqual(nodes);
    expect(before.nodes?.every((node) => /^[0-9a-f]{40}$/.test(node.incarnation ?? ''))).toBe(true);

    const restarted = `127.0.0.1:${set.replicas[0]!.port}`;
    const oldRunId = before.nodes!.find((node) => node.id === restarted)!.incarnation;
    await set.stopReplica(0);
    const down = await own.health();
    expect(down.nodes?.find((node) => node.id === restarted)).toMatchObject({
      incarnation: null,
      holdsAll: false,
    });
    await set.startReplica(0);
    const back = await waitFor('the restarted replica holding again', async () => {
      const reading = await own.health();
      const node = reading.nodes?.find((candidate) => candidate.id === restarted);
      return node?.holdsAll ? node : undefined;
    });
    expect(back.incarnation).not.toBe(oldRunId);
  } finally {
    await own.close();
  }
});

it('under steady writes: in sync within the lag tolerance, where an exact offset match flickers', async () => {
  const tolerant = new RedisReplicationHealth({ primary: set.primaryUrl, expectedReplicas: 2, attempts: 1 });
  const exact = new RedisReplicationHealth({
    primary: set.primaryUrl,
    expectedReplicas: 2,
    attempts: 1,
    maxLagBytes: 0,
  });
  // At most about 200 KB a second: well within the 1 MiB tolerance between two acknowledgements.
  let writing = true;
  const writes = (async () => {
    for (let i = 0; writing; i++) {
      await writer.set(`steady:${i % 500}`, 'y'.repeat(200));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  try {
    await healthUntil('in sync before counting', (r) => r.fullyReplicated);
    const tolerantReadings: boolean[] = [];
    const exactReadings: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      tolerantReadings.push((await tolerant.health()).fullyReplicated);
      exactReadings.push((await exact.health()).fullyReplicated);
    }
    expect(tolerantReadings.every(Boolean)).toBe(true);
    // Replicas acknowledge about once a second while the primary's offset moves with every write.
    expect(exactReadings.some((ok) => !ok)).toBe(true);
  } finally {
    writing = false;
    await writes;
    await tolerant.close();
    await exact.close();
  }
});

it('counts fewer replicas than expected as missing', async () => {
  const strict = new RedisReplicationHealth({ primary: set.primaryUrl, expectedReplicas: 3 });
  try {
    const reading = await strict.health();
    expect(reading.fullyReplicated).toBe(false);
    expect(reading.laggingReplicas).toBe(1);
    expect(reading.detail).toContain('2 of 3 expected replicas connected');
  } finally {
    await strict.close();
  }
});

it('reports a replica given as the primary as not a master', async () => {
  const wrong = new RedisReplicationHealth({ primary: set.replicas[0]!.url, expectedReplicas: 2 });
  try {
    const reading = await wrong.health();
    expect(reading.fullyReplicated).toBe(false);
    expect(reading.detail[0]).toMatch(/role is slave, not master/);
  } finally {
    await wrong.close();
  }
});

it('throws when the primary cannot be reached', async () => {
  const unreachable = new RedisReplicationHealth({
    primary: `redis://127.0.0.1:${await freePort()}`,
    expectedReplicas: 2,
    timeoutMs: 500,
  });
  try {
    await expect(unreachable.health()).rejects.toThrow();
  } finally {
    await unreachable.close();
  }
});

describe('parseReplicationInfo', () => {
  it('reads replicas, their states and offsets', () => {
    const text = [
      '# Replication',
      'role:master',
      'connected_slaves:2',
      'slave0:ip=127.0.0.1,port=7001,state=online,offset=420,lag=0',
      'slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=1',
      'master_failover_state:no-failover',
      'master_repl_offset:420',
      '',
    ].join('\r\n');
    expect(parseReplicationInfo(text)).toEqual({
      role: 'master',
      connectedReplicas: 2,
      masterReplOffset: 420,
      replicas: [
        { address: '127.0.0.1:7001', state: 'online', offset: 420, lag: 0 },
        { address: '127.0.0.1:7002', state: 'wait_bgsave', offset: 0, lag: 1 },
      ],
      masterLinkStatus: undefined,
      syncInProgress: false,
      replicaOffset: NaN,
    });
  });

  it("reads a replica's own link, sync and offset", () => {
    const text = [
      'role:slave',
      'master_host:127.0.0.1',
      'master_port:7000',
      'master_link_status:up',
      'master_sync_in_progress:0',
      'slave_repl_offset:1234',
      'master_repl_offset:1234',
    ].join('\r\n');
    expect(parseReplicationInfo(text)).toMatchObject({
      role: 'slave',
      masterLinkStatus: 'up',
      syncInProgress: false,
      replicaOffset: 1234,
    });
  });
});
