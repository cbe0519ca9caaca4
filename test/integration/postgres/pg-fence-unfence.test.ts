// PgReplication on a second, independent pair: fence and unfence round trip, an unreachable standby or
// primary, plus the pure helpers. (The cutover itself is in pg-replication.test.ts.)
import { Client } from 'pg';

import { lsnDiff, lsnToBigInt, timelineOfWalFile } from '../../../src/adapters/postgres/lsn';
import { isConnectionError } from '../../../src/adapters/postgres/pg-errors';
import { applicationNameOf, PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { waitFor } from '../../support/wait-for';

/** Runs one statement in a new session; resolves to the SQLSTATE it failed with, or 'ok'. */
async function tryStatement(url: string, sql: string): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  } finally {
    await client.end();
  }
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('PgReplication fence / unfence (second pair, wal_log_hints off)', () => {
  let pair: PgPair;
  const replication = new PgReplication();

  beforeAll(async () => {
    pair = await startPgPair({ walLogHints: false });
    await tryStatement(pair.primaryUrl, 'CREATE TABLE notes (id serial PRIMARY KEY, body text)');
  });

  afterAll(async () => {
    await pair?.destroy();
  });

  it('is a pair of its own', async () => {
    expect(pair.primaryPort).not.toBe(pair.standbyPort);
    expect(pair.dataDirs.primary.startsWith(pair.dataDirs.root)).toBe(true);
    const client = new Client({ connectionString: pair.primaryUrl });
    await client.connect();
    const hints = (await client.query<{ wal_log_hints: string }>('SHOW wal_log_hints')).rows[0];
    await client.end();
    expect(hints).toEqual({ wal_log_hints: 'off' });
  });

  it('fences and unfences the primary', async () => {
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);

    await replication.fence(pair.primaryUrl);
    await replication.fence(pair.primaryUrl); // idempotent
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);
    expect(await tryStatement(pair.primaryUrl, "INSERT INTO notes (body) VALUES ('fenced')")).toBe('25006');
    expect(await replication.standbys(pair.primaryUrl)).toMatchObject([
      { applicationName: 'standby1', state: 'streaming' },
    ]);

    await replication.unfence(pair.primaryUrl);
    await replication.unfence(pair.primaryUrl); // idempotent
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
    expect((await replication.describe(pair.primaryUrl)).readOnly).toBe(false);
    expect(await tryStatement(pair.primaryUrl, "INSERT INTO notes (body) VALUES ('open again')")).toBe('ok');

    // The standby is a read-only server by nature: a write there is refused too.
    expect(await replication.verifyFenced(pair.standbyUrl)).toBe(true);
    expect(await replication.verifyPromoted(pair.standbyUrl)).toEqual({
      inRecovery: true,
      timeline: 1,
      acceptsWrites: false,
    });
  });

  it('locks roles out and back in, skipping a role that no longer exists, on one session', async () => {
    const roles = ['fence_app', 'fence "quoted" role'];
    for (const role of roles) {
      expect(await tryStatement(pair.primaryUrl, `CREATE ROLE "${role.replace(/"/g, '""')}" LOGIN`)).toBe(
        'ok',
      );
    }
    const canLogin = async (): Promise<Record<string, boolean>> => {
      const client = new Client({ connectionString: pair.primaryUrl });
      await client.connect();
      const { rows } = await client.query<{ rolname: string; rolcanlogin: boolean }>(
        'SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname',
        [roles],
      );
      await client.end();
      return Object.fromEntries(rows.map((row) => [row.rolname, row.rolcanlogin]));
    };

    // 'fence_gone' was dropped after the survey listed it: skipped, and the same session goes on.
    const listed = [roles[0] as string, 'fence_gone', roles[1] as string];
    await replication.withSessions(async () => {
      await replication.lockOut(pair.primaryUrl, listed);
      expect(await canLogin()).toEqual({ [roles[0] as string]: false, [roles[1] as string]: false });
      await replication.restoreLogins(pair.primaryUrl, listed);
      expect((await replication.describe(pair.primaryUrl)).inRecovery).toBe(false);
    });
    expect(await canLogin()).toEqual({ [roles[0] as string]: true, [roles[1] as string]: true });
  });

  it('cannot measure lag while the standby is down, and measures it again once it streams', async () => {
    await pair.stopStandby();
    expect(await replication.lag(pair.primaryUrl, pair.standbyUrl)).toEqual({ bytes: null, seconds: null });
    expect(isConnectionError(await failureOf(replication.bytesBehind(pair.standbyUrl, '0/0')))).toBe(true);
    expect(isConnectionError(await failureOf(replication.promote(pair.standbyUrl, 1000)))).toBe(true);

    await pair.startStandby();
    await pair.waitStreaming();
    await waitFor('the standby to be level again', async () => {
      const lag = await replication.lag(pair.primaryUrl, pair.standbyUrl);
      return lag.bytes === 0 && lag.seconds !== null;
    });
  });

  it('fails with a connection error while the primary is down, and works after a restart', async () => {
    await pair.stopPrimary('immediate');

    const failure = await failureOf(replication.fence(pair.primaryUrl));
    expect(isConnectionError(failure)).toBe(true);
    expect((failure as { code?: string }).code).toBe('ECONNREFUSED');
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
    expect(await replication.lag(pair.primaryUrl, pair.standbyUrl)).toEqual({ bytes: null, seconds: null });

    await pair.startPrimary(); // crash recovery after the immediate stop
    expect(await replication.describe(pair.primaryUrl)).toMatchObject({ inRecovery: false, timeline: 1 });
  });
});

describe('pure helpers', () => {
  it('reads LSNs', () => {
    expect(lsnToBigInt('0/0')).toBe(0n);
    expect(lsnToBigInt('16/B374D848')).toBe(0x16b374d848n);
    expect(lsnToBigInt('ffffffff/FFFFFFFF')).toBe(0xffffffffffffffffn);
    expect(lsnDiff('1/0', '0/FFFFFFFF')).toBe(1);
    expect(lsnDiff('0/3000000', '0/3000060')).toBe(-0x60);
    expect(() => lsnToBigInt('16B374D848')).toThrow(/not a PostgreSQL LSN/);
    expect(() => lsnToBigInt('0/1; DROP TABLE x')).toThrow(/not a PostgreSQL LSN/);
  });

  it('reads the timeline of a WAL file and the application_name of a conninfo', () => {
    expect(timelineOfWalFile('000000020000000000000003')).toBe(2);
    expect(timelineOfWalFile('0000000A0000000100000003')).toBe(10);
    expect(applicationNameOf('user=postgres host=127.0.0.1 application_name=standby1 sslmode=prefer')).toBe(
      'standby1',
    );
    expect(applicationNameOf("host=x application_name='a b\\'c'")).toBe("a b'c");
    expect(applicationNameOf('host=x fallback_application_name=walreceiver')).toBeUndefined();
    expect(applicationNameOf(null)).toBeUndefined();
  });

  it('classifies connection errors', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    expect(isConnectionError(withCode('ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(withCode('ETIMEDOUT'))).toBe(true);
    expect(isConnectionError(withCode('57P01'))).toBe(true);
    expect(isConnectionError(withCode('08006'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new Error('timeout expired'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('agg'), { errors: [withCode('ECONNREFUSED')] }))).toBe(
      true,
    );
    expect(isConnectionError(withCode('25006'))).toBe(false);
    expect(isConnectionError(withCode('42P01'))).toBe(false);
    expect(isConnectionError(new Error('something else'))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
  });
});
