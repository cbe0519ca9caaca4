// PgReplication against a real primary + streaming standby: describe, lag, and a whole cutover (fence under
// a continuous writer, wait for the final LSN, promote) with zero acknowledged writes lost.
// The tests run in order and share one pair: each step starts from where the previous one left it.
import { Client } from 'pg';

import { lsnDiff } from '../../../src/adapters/postgres/lsn';
import { isConnectionError } from '../../../src/adapters/postgres/pg-errors';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { startPgPair, startWriter, type PgPair } from '../../support/services/pg-pair';
import { waitFor } from '../../support/wait-for';

async function query<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A session the test keeps open (it swallows the asynchronous error of being terminated). */
async function openSession(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function walSenderPid(primaryUrl: string): Promise<number | undefined> {
  const rows = await query<{ pid: number }>(
    primaryUrl,
    "SELECT pid FROM pg_stat_replication WHERE application_name = 'standby1' AND state = 'streaming'",
  );
  return rows[0]?.pid;
}

describe('PgReplication (primary + streaming standby)', () => {
  let pair: PgPair;
  const replication = new PgReplication();

  beforeAll(async () => {
    pair = await startPgPair();
  });

  afterAll(async () => {
    await pair?.destroy();
  });

  it('describes the primary and the standby', async () => {
    const primary = await replication.describe(pair.primaryUrl);
    const standby = await replication.describe(pair.standbyUrl);

    expect(primary).toMatchObject({ inRecovery: false, timeline: 1, readOnly: false });
    expect(primary.serverVersion).toMatch(/^\d+/);
    expect(primary.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(primary.systemIdentifier).toMatch(/^\d+$/);
    expect(standby).toMatchObject({
      inRecovery: true,
      timeline: 1,
      readOnly: false,
      systemIdentifier: primary.systemIdentifier,
    });
    expect(lsnDiff(primary.lsn, standby.lsn)).toBeGreaterThanOrEqual(0);
    expect(await query(pair.primaryUrl, 'SHOW wal_log_hints')).toEqual([{ wal_log_hints: 'on' }]);
  });

  it('lists standby1 streaming from the loopback address', async () => {
    const standbys = await replication.standbys(pair.primaryUrl);
    expect(standbys).toHaveLength(1);
    const [standby] = standbys;
    expect(standby).toMatchObject({
      applicationName: 'standby1',
      clientAddr: '127.0.0.1',
      state: 'streaming',
      syncState: 'async',
      replayLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
    });
    expect(standby?.replayLagSeconds === null || typeof standby?.replayLagSeconds === 'number').toBe(true);
  });

  it('reads no lag when idle, and bytes of lag while replay is paused', async () => {
    await waitFor('an idle standby to be level', async () => {
      const lag = await replication.lag(pair.primaryUrl, pair.standbyUrl);
      return lag.bytes === 0 && lag.seconds !== null && lag.seconds < 1;
    });

    await query(pair.primaryUrl, 'CREATE TABLE lag_probe (n int)');
    await waitFor('the table on the standby', async () => {
      const rows = await query(pair.standbyUrl, "SELECT to_regclass('lag_probe') IS NOT NULL AS ok");
      return (rows[0] as { ok: boolean }).ok;
    });
    await pair.pauseReplay();
    try {
      await query(pair.primaryUrl, 'INSERT INTO lag_probe SELECT generate_series(1, 5000)');
      const primaryLsn = (await replication.describe(pair.primaryUrl)).lsn;
      const lag = await replication.lag(pair.primaryUrl, pair.standbyUrl);
      expect(lag.bytes).toBeGreaterThan(0);
      expect(lag.seconds).not.toBeNull();
      expect(lag.seconds).toBeGreaterThanOrEqual(0);
      expect(await replication.bytesBehind(pair.standbyUrl, primaryLsn)).toBeGreaterThan(0);
    } finally {
      await pair.resumeReplay();
    }
    await waitFor('the standby to catch up', async () => {
      const lag = await replication.lag(pair.primaryUrl, pair.standbyUrl);
      return lag.bytes === 0;
    });
    expect(await query(pair.standbyUrl, 'SELECT count(*)::int AS n FROM lag_probe')).toEqual([{ n: 5000 }]);
  });

  let acknowledged: number[] = [];

  it('fences the primary under a continuous writer without touching replication', async () => {
    const writer = await startWriter(pair.primaryUrl, 'cutover_writes');
    try {
      await waitFor('acknowledged writes', async () => writer.acknowledged.length >= 50);
      const senderBefore = await walSenderPid(pair.primaryUrl);
      expect(senderBefore).toBeDefined();
      // A session in the middle of a read-write transaction, and one that overrode the default for itself:
      // the fence must end both.
      const inTransaction = await openSession(pair.primaryUrl);
      await inTransaction.query('BEGIN');
      await inTransaction.query("INSERT INTO cutover_writes (payload) VALUES ('uncommitted')");
      const overriding = await openSession(pair.primaryUrl);
      await overriding.query('SET default_transaction_read_only = off');

      const { finalLsn } = await replication.fence(pair.primaryUrl);
      expect(finalLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);
      expect((await replication.describe(pair.primaryUrl)).readOnly).toBe(true);

      // The writer keeps trying: its new sessions are read-only, every INSERT is refused with 25006.
      await waitFor('refused writes', async () => (writer.errors['25006'] ?? 0) >= 3);
      const ackedAfterFence = writer.acknowledged.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(writer.acknowledged.length).toBe(ackedAfterFence);

      // The writer's own session was terminated (it reconnected), so were the other two.
      expect(Object.keys(writer.errors).filter((key) => key !== '25006')).not.toEqual([]);
      await expect(inTransaction.query('COMMIT')).rejects.toThrow();
      await expect(
        overriding.query("INSERT INTO cutover_writes (payload) VALUES ('override')"),
      ).rejects.toThrow();
      await inTransaction.end().catch(() => undefined);
      await overriding.end().catch(() => undefined);

      // The WAL sender was not terminated: same process, still streaming.
      expect(await walSenderPid(pair.primaryUrl)).toBe(senderBefore);

      // Fencing again is harmless and reports the (unchanged or later) position.
      const again = await replication.fence(pair.primaryUrl);
      expect(lsnDiff(again.finalLsn, finalLsn)).toBeGreaterThanOrEqual(0);
      expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);

      await waitFor('the standby to replay up to the final LSN', async () => {
        return (await replication.bytesBehind(pair.standbyUrl, again.finalLsn)) === 0;
      });
    } finally {
      await writer.stop();
    }
    acknowledged = [...writer.acknowledged];
    expect(acknowledged.length).toBeGreaterThanOrEqual(50);
  });

  it('promotes the standby, which has every acknowledged write', async () => {
    await replication.promote(pair.standbyUrl, 10_000);

    expect(await replication.verifyPromoted(pair.standbyUrl)).toEqual({
      inRecovery: false,
      timeline: 2,
      acceptsWrites: true,
    });
    expect(await replication.describe(pair.standbyUrl)).toMatchObject({
      inRecovery: false,
      timeline: 2,
      readOnly: false,
    });
    const found = await query<{ n: number }>(
      pair.standbyUrl,
      'SELECT count(*)::int AS n FROM cutover_writes WHERE id = ANY($1::int[])',
      [acknowledged],
    );
    expect(found).toEqual([{ n: acknowledged.length }]);
    const strays = await query(
      pair.standbyUrl,
      "SELECT id FROM cutover_writes WHERE payload IN ('uncommitted', 'override')",
    );
    expect(strays).toEqual([]);
  });

  it('promoting an already promoted server is a no-op', async () => {
    await replication.promote(pair.standbyUrl, 1000);
    expect(await replication.verifyPromoted(pair.standbyUrl)).toMatchObject({
      inRecovery: false,
      timeline: 2,
    });
  });

  it('with the old primary stopped: lag cannot be measured and fencing fails with a connection error', async () => {
    await pair.stopPrimary('fast');

    expect(await replication.lag(pair.primaryUrl, pair.standbyUrl)).toEqual({ bytes: null, seconds: null });
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
    const failure: unknown = await replication.fence(pair.primaryUrl).then(
      () => 'fenced',
      (error: unknown) => error,
    );
    expect(failure).not.toBe('fenced');
    expect(isConnectionError(failure)).toBe(true);
    await expect(replication.describe(pair.primaryUrl)).rejects.toThrow();
  });
});
