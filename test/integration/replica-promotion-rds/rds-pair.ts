// A local PostgreSQL pair dressed as an RDS source and its read replica: the AWS emulator's two
// instances have the pair's endpoints, and PromoteReadReplica promotes the real standby while the
// replica shows `rebooting`. The roles are those of an RDS database: nobody but RDS is a superuser
// (`postgres` plays rdsadmin, the standby streams as rdsrepladmin), the bot's own role is a member
// of an `rds_superuser` group holding what RDS's does (CREATEROLE on the members, pg_signal_backend,
// pg_monitor), and the applications' "superuser" is an rds_superuser member too.
import { Client } from 'pg';

import type { RdsEmulator } from '../../support/services/aws/emulator';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { asRole, runSql } from '../../support/services/pg-clients';

export const SOURCE_ID = 'orders-primary';
export const REPLICA_ID = 'orders-replica';
export const BOT_ROLE = 'cutover_bot';
/** The application roles the hostile clients log in as (test/support/services/pg-clients.ts). */
export const APP_ROLES = ['app_plain', 'app_role_rw', 'app_super'] as const;

/** A pair whose standby streams as rdsrepladmin, prepared transactions allowed. */
export function startRdsLikePair(): Promise<PgPair> {
  return startPgPair({ replicationRole: 'rdsrepladmin', extraConfig: ['max_prepared_transactions = 5'] });
}

/**
 * The roles and the clients' table, on the source (the replica gets them through WAL). `app_role_rw`
 * turns read-only off in its role settings, as an ORM's role may.
 */
export async function setUpRdsRoles(pair: PgPair): Promise<void> {
  await runSql(
    pair.primaryUrl,
    `CREATE ROLE rds_superuser NOLOGIN;
     GRANT pg_signal_backend, pg_monitor TO rds_superuser;
     CREATE ROLE ${BOT_ROLE} LOGIN CREATEROLE IN ROLE rds_superuser;
     GRANT CREATE ON DATABASE postgres TO ${BOT_ROLE};
     CREATE ROLE app_plain LOGIN;
     CREATE ROLE app_role_rw LOGIN;
     ALTER ROLE app_role_rw SET default_transaction_read_only = off;
     CREATE ROLE app_super LOGIN CREATEROLE CREATEDB IN ROLE rds_superuser;
     CREATE TABLE ledger (client text NOT NULL, n int NOT NULL, PRIMARY KEY (client, n));
     GRANT INSERT, SELECT ON ledger TO app_plain, app_role_rw, app_super;`,
  );
  await pair.waitStreaming();
}

/** Runs `text` as the superuser (RDS's own, here) on the server at `url`. */
export function asSuperuser(url: string, text: string): Promise<void> {
  return runSql(url, text);
}

/** The URLs the target gives: the bot's own role on source and replica. */
export function botUrls(pair: PgPair): { source: string; replica: string } {
  return { source: asRole(pair.primaryUrl, BOT_ROLE), replica: asRole(pair.standbyUrl, BOT_ROLE) };
}

/** The source and its replica in the emulator, at the pair's addresses; promoting one promotes the standby. */
export function addPairInstances(rds: RdsEmulator, pair: PgPair): void {
  rds
    .addInstance(SOURCE_ID, { endpoint: { address: '127.0.0.1', port: pair.primaryPort } })
    .addReplica(REPLICA_ID, SOURCE_ID, { endpoint: { address: '127.0.0.1', port: pair.standbyPort } })
    .backWith(REPLICA_ID, { promote: () => runSql(pair.standbyUrl, 'SELECT pg_promote(true)') });
}

/** Whether `role` can write to the server at `url` now (it tries, with read-only turned off). */
export async function canWrite(url: string, role: string): Promise<boolean> {
  const client = new Client({ connectionString: asRole(url, role), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SET default_transaction_read_only = off');
    await client.query('INSERT INTO ledger (client, n) VALUES ($1, -1) ON CONFLICT DO NOTHING', [
      `probe ${role}`,
    ]);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
