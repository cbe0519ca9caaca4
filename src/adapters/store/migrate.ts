// Versioned schema migrations, serialized across processes by a PostgreSQL advisory lock.
import type { Pool, PoolClient } from 'pg';

import { survivesConnectionLoss } from './database';
import { MIGRATIONS, type Migration } from './migrations';
import { advisoryLockKey, quoteIdent } from './sql';

export interface MigrateResult {
  /** Versions this call applied (empty when the schema was already current). */
  applied: number[];
  /** Highest version recorded in the schema after this call. */
  current: number;
}

function checkMigrations(migrations: readonly Migration[]): Migration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((migration, i) => {
    if (!Number.isInteger(migration.version) || migration.version < 1) {
      throw new Error(`migration "${migration.name}" has an invalid version ${migration.version}`);
    }
    if (i > 0 && sorted[i - 1]?.version === migration.version) {
      throw new Error(`two migrations have version ${migration.version}`);
    }
  });
  return sorted;
}

/**
 * Brings `schema` up to the newest version: creates the schema and its `schema_migrations` table if
 * missing, then applies each missing version in order, each in its own transaction. Holds a
 * session advisory lock (keyed by the schema name) throughout, so concurrent callers run one after
 * the other and every version is applied exactly once.
 */
export async function migrate(
  pool: Pool,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  const ordered = checkMigrations(migrations);
  const q = quoteIdent(schema);
  const lockKey = advisoryLockKey(`cutover-bot:migrate:${schema}`);
  const client = await pool.connect();
  const detach = survivesConnectionLoss(client);
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [lockKey]);
    try {
      return await applyMissing(client, schema, q, ordered);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]);
    }
  } catch (error) {
    // A connection that may still hold the lock (or sit in a failed transaction) must not go back
    // to the pool: destroying it ends the session, which releases the lock.
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    detach();
    client.release(broken);
  }
}

async function applyMissing(
  client: PoolClient,
  schema: string,
  q: string,
  ordered: Migration[],
): Promise<MigrateResult> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (
       version integer PRIMARY KEY,
       name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const done = await client.query<{ version: number }>(`SELECT version FROM ${q}.schema_migrations`);
  const appliedBefore = new Set(done.rows.map((row) => row.version));
  const applied: number[] = [];
  for (const migration of ordered) {
    if (appliedBefore.has(migration.version)) continue;
    await client.query('BEGIN');
    try {
      await client.query(`SELECT set_config('search_path', $1, true)`, [q]);
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${q}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `migration ${migration.version} (${migration.name}) on schema ${schema} failed: ${message}`,
        {
          cause: error,
        },
      );
    }
    applied.push(migration.version);
  }
  const versions = [...appliedBefore, ...applied];
  return { applied, current: versions.length > 0 ? Math.max(...versions) : 0 };
}
