// The SQL fence's queries, on one session of the old primary. A session default
// (default_transaction_read_only) stops only clients that keep it: a client may turn it off, open
// `BEGIN READ WRITE`, or log in as a role with its own setting. What no client can outrun is not
// being connected: every role that may log in, but the bot's own and the ones streaming WAL to a
// standby, is made NOLOGIN, and every other backend is terminated until none is left. A background
// worker of an extension (pg_cron, a logical replication apply worker) connects as a role too, so it
// cannot come back either, unless it runs as a kept role: then the fence names it and refuses.
import type { Client } from 'pg';

import { sqlStateOf, UNDEFINED_OBJECT } from './pg-errors';
import type { BackendInfo, FenceScope, FenceSurvey, PreparedXact } from '../../ports/replication';

/**
 * Backends of the server itself that write no client data. A parallel worker belongs to a client
 * backend and ends with it; a walsender without a database streams physical WAL.
 */
const SERVER_BACKENDS = [
  'autovacuum launcher',
  'autovacuum worker',
  'logical replication launcher',
  'background writer',
  'checkpointer',
  'walwriter',
  'archiver',
  'startup',
  'walreceiver',
  'walsummarizer',
  'io worker',
  'parallel worker',
];

/** Every backend that is neither the server's own nor one of the bot's sessions. */
const OTHERS_SQL = `
  SELECT pid, usename AS role, backend_type, coalesce(application_name, '') AS application_name,
         host(client_addr) AS client_addr, datname AS database
    FROM pg_stat_activity
   WHERE pid <> pg_backend_pid()
     AND NOT (backend_type = ANY($1::text[]))
     AND NOT (backend_type = 'walsender' AND datname IS NULL)
     AND NOT (usename = session_user AND application_name = $2)
     AND NOT (usename = ANY($3::text[]))
   ORDER BY pid`;

interface BackendRow {
  pid: number;
  role: string | null;
  backend_type: string;
  application_name: string;
  client_addr: string | null;
  database: string | null;
}

function toBackend(row: BackendRow): BackendInfo {
  return {
    pid: row.pid,
    role: row.role,
    backendType: row.backend_type,
    applicationName: row.application_name,
    clientAddr: row.client_addr,
    database: row.database,
  };
}

/**
 * Backends other than the server's own, the bot's (sessions named `botApplicationName`) and those of
 * the scope's spare roles (the provider's own).
 */
export async function otherBackends(
  client: Client,
  botApplicationName: string,
  scope: FenceScope = {},
): Promise<BackendInfo[]> {
  const { rows } = await client.query<BackendRow>(OTHERS_SQL, [
    SERVER_BACKENDS,
    botApplicationName,
    scope.spareRoles ?? [],
  ]);
  return rows.map(toBackend);
}

export async function preparedXacts(client: Client): Promise<PreparedXact[]> {
  const { rows } = await client.query<{ gid: string; owner: string; database: string; prepared: Date }>(
    'SELECT gid, owner::text, database::text, prepared FROM pg_prepared_xacts ORDER BY prepared',
  );
  return rows.map((row) => ({
    gid: row.gid,
    owner: row.owner,
    database: row.database,
    preparedAt: row.prepared.toISOString(),
  }));
}

/**
 * Why the bot's role cannot make a role NOLOGIN without being a superuser (null: it can). PostgreSQL
 * lets CREATEROLE alter neither superusers nor replication roles, and from 16 on only roles it holds
 * ADMIN OPTION on.
 */
const UNLOCKABLE_SQL = `
  SELECT rolname::text AS role,
         CASE WHEN rolsuper THEN 'a superuser'
              WHEN rolreplication AND current_setting('server_version_num')::int < 160000 THEN 'a replication role'
              WHEN current_setting('server_version_num')::int >= 160000
                   AND NOT pg_has_role(session_user, oid, 'MEMBER WITH ADMIN OPTION')
                THEN 'a role the bot has no ADMIN OPTION on'
         END AS reason
    FROM pg_roles
   WHERE rolname = ANY($1::text[])`;

/** What the SQL fence would do on this server, read without changing anything. */
export async function surveyFence(
  client: Client,
  botApplicationName: string,
  scope: FenceScope = {},
): Promise<FenceSurvey> {
  const me = (
    await client.query<{ bot_role: string; bot_super: boolean; create_role: boolean; signal: boolean }>(
      `SELECT session_user::text AS bot_role, rolsuper AS bot_super, rolsuper OR rolcreaterole AS create_role,
              rolsuper OR pg_has_role(session_user, 'pg_signal_backend', 'MEMBER') AS signal
         FROM pg_roles WHERE rolname = session_user`,
    )
  ).rows[0];
  if (!me) throw new Error('no row from the fence survey');
  const spare = scope.spareRoles ?? [];
  // Roles whose sessions stream physical WAL to a standby: locking them out would stop the catch-up.
  const streaming = (
    await client.query<{ role: string }>(
      `SELECT DISTINCT usename::text AS role FROM pg_stat_activity
        WHERE backend_type = 'walsender' AND datname IS NULL AND usename IS NOT NULL`,
    )
  ).rows.map((row) => row.role);
  const login = (
    await client.query<{ role: string }>(
      'SELECT rolname::text AS role FROM pg_roles WHERE rolcanlogin ORDER BY 1',
    )
  ).rows.map((row) => row.role);
  // The provider's spare roles are neither kept nor locked: the fence leaves them alone.
  const kept = [...new Set([me.bot_role, ...streaming.filter((role) => !spare.includes(role))])].sort();
  const rolesToLock = login.filter((role) => !kept.includes(role) && !spare.includes(role));
  const unlockable = me.bot_super
    ? []
    : (await client.query<{ role: string; reason: string | null }>(UNLOCKABLE_SQL, [rolesToLock])).rows
        .filter((row): row is { role: string; reason: string } => row.reason !== null)
        .sort((a, b) => a.role.localeCompare(b.role));
  return {
    botRole: me.bot_role,
    botIsSuperuser: me.bot_super,
    rolesToLock,
    rolesKept: kept,
    others: await otherBackends(client, botApplicationName, scope),
    preparedXacts: await preparedXacts(client),
    botCanCreateRoles: me.create_role,
    botCanSignal: me.signal,
    unlockable,
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * NOLOGIN (or LOGIN again) for `roles`, in one transaction and, as a rule, one round trip; WAL-logged,
 * so the standby gets it too. Plain ALTER ROLE statements, not a DO block: the first DO of a session
 * loads PL/pgSQL in that backend, several ms inside the write-unavailable window.
 */
export async function setLogin(client: Client, roles: readonly string[], login: boolean): Promise<void> {
  try {
    await alterLogin(client, roles, login);
  } catch (error) {
    if (sqlStateOf(error) !== UNDEFINED_OBJECT) throw error;
    // A role dropped meanwhile is skipped, not an error: there is nothing of it left to fence or
    // restore. Rare, so it costs a second round trip only then.
    const { rows } = await client.query<{ role: string }>(
      'SELECT rolname::text AS role FROM pg_roles WHERE rolname = ANY($1::text[])',
      [[...roles]],
    );
    const existing = new Set(rows.map((row) => row.role));
    await alterLogin(
      client,
      roles.filter((role) => existing.has(role)),
      login,
    );
  }
}

/** ALTER ROLE … [NO]LOGIN for each role in one transaction, rolled back if any fails. */
async function alterLogin(client: Client, roles: readonly string[], login: boolean): Promise<void> {
  if (roles.length === 0) return;
  const keyword = login ? 'LOGIN' : 'NOLOGIN';
  const statements = roles.map((role) => `ALTER ROLE ${quoteIdent(role)} ${keyword};`);
  try {
    // READ WRITE: the bot's own session on a fenced primary defaults to read-only like everyone's.
    await client.query(`BEGIN READ WRITE; ${statements.join(' ')} COMMIT`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Terminates `pids` and waits until they have exited (a backend may still be writing its commit). */
export async function terminate(
  client: Client,
  pids: readonly number[],
  until: (what: string, probe: () => Promise<boolean>) => Promise<void>,
): Promise<void> {
  if (pids.length === 0) return;
  await client.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  await until('terminated backends to exit', async () => {
    const left = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])',
      [pids],
    );
    return left.rows[0]?.n === 0;
  });
}
