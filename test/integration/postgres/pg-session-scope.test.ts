// PgReplication.withSessions on a real pair: one session per endpoint inside a scope, none after it,
// verifyFenced on a session started after the scope's own reload, and a lost session replaced.
import { Client } from 'pg';

import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { waitFor } from '../../support/wait-for';

const APP = 'scope-test';

/** Backend pids of the adapter's sessions on `url` (seen from a session of the test's own). */
async function adapterPids(url: string): Promise<number[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
      [APP],
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

async function terminate(url: string, pid: number): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await client.end();
  }
}

describe('PgReplication.withSessions (one session per endpoint inside one step)', () => {
  let pair: PgPair;
  const replication = new PgReplication({ applicationName: APP });

  beforeAll(async () => {
    pair = await startPgPair();
  });

  afterAll(async () => {
    await pair?.destroy();
  });

  it('reuses one session per endpoint and closes them all when the scope ends', async () => {
    const seen = await replication.withSessions(async () => {
      await replication.describe(pair.primaryUrl);
      await replication.describe(pair.standbyUrl);
      await replication.lag(pair.primaryUrl, pair.standbyUrl);
      await replication.bytesBehind(pair.standbyUrl, '0/0');
      await replication.standbys(pair.primaryUrl);
      expect(await replication.verifyPromoted(pair.standbyUrl)).toMatchObject({ inRecovery: true });
      // Calls side by side share the session too (one at a time on it).
      await Promise.all([replication.describe(pair.primaryUrl), replication.describe(pair.primaryUrl)]);
      return { primary: await adapterPids(pair.primaryUrl), standby: await adapterPids(pair.standbyUrl) };
    });
    expect(seen.primary).toHaveLength(1);
    expect(seen.standby).toHaveLength(1);
    await waitFor('the scope sessions to be gone', async () =>
      (await adapterPids(pair.primaryUrl)).length + (await adapterPids(pair.standbyUrl)).length === 0
        ? true
        : undefined,
    );
  });

  it('closes its sessions when the work throws', async () => {
    await expect(
      replication.withSessions(async () => {
        await replication.describe(pair.primaryUrl);
        throw new Error('step failed');
      }),
    ).rejects.toThrow('step failed');
    await waitFor('the scope session to be gone', async () =>
      (await adapterPids(pair.primaryUrl)).length === 0 ? true : undefined,
    );
  });

  it('verifies the fence on a session started after its reload, and the unfence likewise', async () => {
    await replication.withSessions(async () => {
      await replication.describe(pair.primaryUrl);
      const [before] = await adapterPids(pair.primaryUrl);
      await replication.fence(pair.primaryUrl);
      // The session that ran ALTER SYSTEM predates the reload: the fence left a newer one in the scope.
      const [after] = await adapterPids(pair.primaryUrl);
      expect(after).not.toBe(before);
      expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);
      expect(await adapterPids(pair.primaryUrl)).toEqual([after]);

      // That session predates the unfence's reload: verifyFenced must not trust it.
      await replication.unfence(pair.primaryUrl);
      expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
      expect(await adapterPids(pair.primaryUrl)).not.toContain(after);
    });
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
  });

  it('replaces a session that was terminated while the scope held it', async () => {
    await replication.withSessions(async () => {
      await replication.describe(pair.standbyUrl);
      const [pid] = await adapterPids(pair.standbyUrl);
      await terminate(pair.standbyUrl, pid as number);
      await waitFor('the session to be gone', async () =>
        (await adapterPids(pair.standbyUrl)).length === 0 ? true : undefined,
      );
      // The client sees the termination asynchronously; the next call must not inherit its error.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await replication.describe(pair.standbyUrl)).toMatchObject({ inRecovery: true });
      expect(await adapterPids(pair.standbyUrl)).toHaveLength(1);
    });
  });

  it('runs outside a scope as before: every call has its own session', async () => {
    await replication.describe(pair.primaryUrl);
    expect(await adapterPids(pair.primaryUrl)).toEqual([]);
  });
});
