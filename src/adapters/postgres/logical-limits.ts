// What PostgreSQL's logical replication does not carry, read from one database: tables whose UPDATE
// and DELETE it cannot replicate (no primary key and no replica identity index or FULL), and large
// objects, which it never replicates. RDS Blue/Green deployments of PostgreSQL replicate this way.
import type { Client } from 'pg';

import type { LogicalReplicationLimits } from '../../ports/replication';

const TABLES_WITHOUT_KEY_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r'
     AND (c.relreplident = 'n'
          OR (c.relreplident = 'd'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')))
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg\\_toast%'
     AND n.nspname NOT LIKE 'pg\\_temp%'
   ORDER BY 1`;

export async function logicalReplicationLimits(client: Client): Promise<LogicalReplicationLimits> {
  const tables = await client.query<{ name: string }>(TABLES_WITHOUT_KEY_SQL);
  const rest = (
    await client.query<{ database: string; large_objects: number }>(
      `SELECT current_database()::text AS database,
              (SELECT count(*) FROM pg_largeobject_metadata)::int AS large_objects`,
    )
  ).rows[0];
  if (!rest) throw new Error('no row from the logical replication checks');
  return {
    database: rest.database,
    tablesWithoutKey: tables.rows.map((row) => row.name),
    largeObjects: rest.large_objects,
  };
}
