// PostgreSQL for integration tests: one database (`test`), one fresh schema per suite.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

export const testDatabaseUrl: string =
  process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other suite uses: `<prefix>_<8 hex>` (lower case, a plain identifier). */
export function freshSchemaName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

/** Drops a suite's schema and everything in it (afterAll). */
export async function dropSchema(schema: string, url: string = testDatabaseUrl): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Runs one query (or several, without parameters) on a new session to `url` and returns its rows. */
export async function sqlAt<T extends object>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** pg_is_in_recovery() of the server at `url`. */
export async function inRecovery(url: string): Promise<boolean> {
  return (await sqlAt<{ r: boolean }>(url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === true;
}

/** The pid of the postmaster of the cluster in `dataDir` (the first line of its postmaster.pid). */
export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}
