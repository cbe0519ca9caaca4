import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

import {
  databaseNameOf,
  ensureDatabase,
  survivesConnectionLoss,
  withDatabase,
} from '../../../src/adapters/store/database';
import { testDatabaseUrl } from '../../support/services/pg';

async function adminQuery<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: withDatabase(testDatabaseUrl, 'postgres') });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function exists(name: string): Promise<boolean> {
  const rows = await adminQuery<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = $1', [
    name,
  ]);
  return rows.length === 1;
}

describe('ensureDatabase', () => {
  const created: string[] = [];

  afterAll(async () => {
    for (const name of created) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it('reads and replaces the database of a URL', () => {
    expect(databaseNameOf('postgres://localhost:5432/cutover')).toBe('cutover');
    expect(databaseNameOf('postgres://u:p@db:5432/my%20db?sslmode=disable')).toBe('my db');
    expect(databaseNameOf('postgres://localhost:5432')).toBeNull();
    expect(withDatabase('postgres://u:p@db:5432/cutover?sslmode=disable', 'postgres')).toBe(
      'postgres://u:p@db:5432/postgres?sslmode=disable',
    );
  });

  it('creates a missing database, once, even with concurrent callers', async () => {
    const name = `t_ensure_${randomBytes(4).toString('hex')}`;
    created.push(name);
    const url = withDatabase(testDatabaseUrl, name);
    expect(await exists(name)).toBe(false);

    const results = await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);
    expect(await exists(name)).toBe(true);
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(1);

    const client = new Client({ connectionString: url });
    await client.connect();
    const rows = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows;
    await client.end();
    expect(rows[0]?.db).toBe(name);
  });

  it('leaves an existing database alone', async () => {
    expect(await ensureDatabase(testDatabaseUrl)).toBe(false);
  });

  it('quotes names that need it', async () => {
    const name = `T ensure-${randomBytes(3).toString('hex')}`;
    created.push(name);
    expect(await ensureDatabase(withDatabase(testDatabaseUrl, name))).toBe(true);
    expect(await exists(name)).toBe(true);
  });
});

describe('survivesConnectionLoss', () => {
  test('a checked-out connection killed between two queries fails its next query instead of ending the process', async () => {
    const pool = new Pool({ connectionString: testDatabaseUrl, max: 1 });
    const admin = new Pool({ connectionString: testDatabaseUrl, max: 1 });
    try {
      const client = await pool.connect();
      const detach = survivesConnectionLoss(client);
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(client.listenerCount('error')).toBe(1); // ours: the pool listens only while idle
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // The server's goodbye arrives as an 'error' event on the idle client; without a listener it
      // would be an uncaught exception (and fail this test). The next query fails instead.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(client.query('SELECT 1')).rejects.toThrow();
      detach();
      expect(client.listenerCount('error')).toBe(0);
      client.release(true);
      // The pool makes a fresh connection for the next caller.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
      await admin.end();
    }
  });
});
