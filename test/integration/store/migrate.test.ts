import { Pool } from 'pg';

import { MIGRATIONS, type Migration } from '../../../src/adapters/store/migrations';
import { migrate } from '../../../src/adapters/store/migrate';
import { quoteIdent } from '../../../src/adapters/store/sql';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';

const schemas: string[] = [];
const pools: Pool[] = [];

function schemaFor(prefix: string): string {
  const schema = freshSchemaName(prefix);
  schemas.push(schema);
  return schema;
}

function newPool(): Pool {
  const pool = new Pool({ connectionString: testDatabaseUrl, max: 2 });
  pools.push(pool);
  return pool;
}

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  for (const schema of schemas) await dropSchema(schema);
});

async function recorded(pool: Pool, schema: string): Promise<Array<{ version: number; name: string }>> {
  const result = await pool.query<{ version: number; name: string }>(
    `SELECT version, name FROM ${quoteIdent(schema)}.schema_migrations ORDER BY version`,
  );
  return result.rows;
}

async function tables(pool: Pool, schema: string): Promise<string[]> {
  const result = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
    [schema],
  );
  return result.rows.map((row) => row.table_name);
}

describe('migrate', () => {
  it('four concurrent callers on a fresh schema all succeed and apply each version once', async () => {
    const schema = schemaFor('t_migrate');
    // Four pools stand for four processes starting at once.
    const results = await Promise.all(
      [newPool(), newPool(), newPool(), newPool()].map((pool) => migrate(pool, schema)),
    );

    const appliedEverywhere = results.flatMap((result) => result.applied).sort((a, b) => a - b);
    expect(appliedEverywhere).toEqual(MIGRATIONS.map((migration) => migration.version));
    const newest = Math.max(...MIGRATIONS.map((migration) => migration.version));
    for (const result of results) expect(result.current).toBe(newest);

    const pool = newPool();
    expect(await recorded(pool, schema)).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
    expect(await tables(pool, schema)).toEqual([
      'approvals',
      'audit_events',
      'lag_samples',
      'runs',
      'schema_migrations',
      'slack_deliveries',
      'slack_messages',
      'steps',
    ]);
  });

  it('is idempotent: a second run applies nothing', async () => {
    const schema = schemaFor('t_migrate');
    const pool = newPool();
    const first = await migrate(pool, schema);
    expect(first.applied.length).toBe(MIGRATIONS.length);
    const second = await migrate(pool, schema);
    expect(second.applied).toEqual([]);
    expect((await recorded(pool, schema)).length).toBe(MIGRATIONS.length);
  });

  it('applies later versions in order, and a failing version is rolled back, not recorded, and unlocks', async () => {
    const schema = schemaFor('t_migrate');
    const pool = newPool();
    const extra: Migration[] = [
      { version: 1003, name: 'third', sql: 'ALTER TABLE marker ADD COLUMN third int' },
      { version: 1002, name: 'second', sql: 'CREATE TABLE marker (id int)' },
      ...MIGRATIONS,
    ];
    const result = await migrate(pool, schema, extra);
    expect(result.applied).toEqual(
      [...MIGRATIONS.map((migration) => migration.version), 1002, 1003].sort((a, b) => a - b),
    );

    const broken: Migration[] = [
      ...extra,
      { version: 1004, name: 'half-done', sql: 'CREATE TABLE half (id int); SELECT no_such_function()' },
    ];
    await expect(migrate(pool, schema, broken)).rejects.toThrow(/migration 1004 \(half-done\)/);
    expect((await recorded(pool, schema)).map((row) => row.version)).toEqual([
      ...MIGRATIONS.map((migration) => migration.version),
      1002,
      1003,
    ]);
    expect(await tables(pool, schema)).not.toContain('half');

    // The advisory lock was released: another caller gets through at once.
    const again = await migrate(newPool(), schema, extra);
    expect(again.applied).toEqual([]);
  });

  it('quotes odd schema names', async () => {
    const schema = schemaFor('T_Migrate "odd"');
    const pool = newPool();
    await migrate(pool, schema);
    expect((await recorded(pool, schema)).length).toBe(MIGRATIONS.length);
  });
});
