// ReplicationPort for self-managed PostgreSQL streaming replication, through `pg` sessions.
//
// Sessions come from a SessionPool (session-pool.ts): short-lived outside a scope, one per URL inside
// `withSessions`. Errors from the server or the network are passed through unchanged (isConnectionError
// in pg-errors.ts classifies them); the adapter's own timeouts throw plain Errors that say what did not
// happen. WAL positions are compared with lsn.ts.
import { randomBytes } from 'node:crypto';
import type { Client, QueryConfig } from 'pg';

import { systemClock, type Clock } from '../../ports/clock';
import type {
  BackendInfo,
  FenceScope,
  FenceSurvey,
  LagReading,
  LogicalReplicationLimits,
  Reachability,
  ReplicationPort,
  ServerFacts,
  ServerSettings,
  StandbyInfo,
  WalReceiverInfo,
} from '../../ports/replication';
import { logicalReplicationLimits } from './logical-limits';
import { lsnDiff, lsnToBigInt, timelineOfWalFile, walReached } from './lsn';
import { isConnectionError, READ_ONLY_SQL_TRANSACTION, reachabilityOf, sqlStateOf } from './pg-errors';
import { SessionPool } from './session-pool';
import { otherBackends, setLogin, surveyFence, terminate } from './sql-fence';

export interface PgReplicationOptions {
  /** Connect timeout of every session (default 3 s). */
  connectTimeoutMs?: number;
  /** statement_timeout of every session (default 5 s); the client gives up 1 s after it. */
  statementTimeoutMs?: number;
  /** How long fence/unfence wait for a reload to show in new sessions and for terminations (default 5 s). */
  settleTimeoutMs?: number;
  /** Poll interval of the waits on an open session (default 1 ms: each poll is one cheap round trip). */
  pollIntervalMs?: number;
  /** application_name of the adapter's sessions (default `cutover-bot`). */
  applicationName?: string;
  /** Time for the waits' deadlines (default systemClock: they bound real sleeps). */
  clock?: Clock;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** application_name in a libpq conninfo string (as pg_stat_wal_receiver.conninfo shows it), if any. */
export function applicationNameOf(conninfo: string | null | undefined): string | undefined {
  if (!conninfo) return undefined;
  const match = /(?:^|\s)application_name=('(?:[^'\\]|\\.)*'|\S+)/.exec(conninfo);
  if (!match?.[1]) return undefined;
  const raw = match[1];
  return raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
}

/** The bot's own schema on a target, holding one table: a committed row per run proves commits work. */
const CANARY_SCHEMA = 'cutover_bot';
const CANARY_TABLE = `${CANARY_SCHEMA}.canary`;
const CANARY_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ${CANARY_TABLE} (run_id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())`;

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A value of a result row as text: JSON for objects and arrays (json, jsonb, array columns). */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function probeName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Tries a write (`statement`, rolled back) on `client`: 'refused' when the server refuses it as a
 * read-only transaction, 'accepted' when it goes through, 'failed' for any other error. Throws when the
 * rollback fails, so that a scope does not keep a session in an unknown transaction state.
 */
async function writeProbe(
  client: Client,
  statement: 'CREATE TABLE' | 'CREATE SCHEMA',
  prefix: string,
): Promise<'accepted' | 'refused' | 'failed'> {
  // One round trip (a simple-protocol query string): inside the write-unavailable window each one counts.
  // A failing statement skips the rest of the string and leaves the transaction block aborted.
  const write = `${statement} ${probeName(prefix)}${statement === 'CREATE TABLE' ? ' (x int)' : ''}`;
  try {
    await client.query(`BEGIN; ${write}; ROLLBACK`);
    return 'accepted';
  } catch (error) {
    await client.query('ROLLBACK');
    return sqlStateOf(error) === READ_ONLY_SQL_TRANSACTION ? 'refused' : 'failed';
  }
}

// ---------------------------------------------------------------------------------------------------------
// The adapter

interface FactsRow {
  in_recovery: boolean;
  system_identifier: string;
  checkpoint_tli: number;
  wal_file: string | null;
  received_tli: number | null;
  lsn: string | null;
  read_only: string;
  server_version: string;
}

export class PgReplication implements ReplicationPort {
  private readonly settleTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly applicationName: string;
  private readonly clock: Clock;
  private readonly pool: SessionPool;

  constructor(options: PgReplicationOptions = {}) {
    this.settleTimeoutMs = options.settleTimeoutMs ?? 5000;
    this.pollIntervalMs = options.pollIntervalMs ?? 1;
    this.applicationName = options.applicationName ?? 'cutover-bot';
    this.clock = options.clock ?? systemClock;
    this.pool = new SessionPool({
      connectTimeoutMs: options.connectTimeoutMs ?? 3000,
      statementTimeoutMs: options.statementTimeoutMs ?? 5000,
      applicationName: this.applicationName,
    });
  }

  /**
   * Runs `work`; the calls it makes on this adapter (in its async context) share one session per URL,
   * and every such session is closed before this settles. Nested scopes join the outer one.
   */
  async withSessions<T>(work: () => Promise<T>): Promise<T> {
    return this.pool.withSessions(work);
  }

  /**
   * Polls new sessions until one reports `default_transaction_read_only = expected`, and returns that
   * session (the caller ends it). Always new sessions: an existing one shows its own reloaded value, not
   * what the postmaster hands to the next client.
   */
  private async untilNewSessionsShow(url: string, expected: 'on' | 'off'): Promise<Client> {
    const deadline = this.clock.now().getTime() + this.settleTimeoutMs;
    for (;;) {
      const client = await this.pool.connect(url);
      let keep = false;
      try {
        const row = (
          await client.query<{ default_transaction_read_only: string }>('SHOW default_transaction_read_only')
        ).rows[0];
        keep = row?.default_transaction_read_only === expected;
      } finally {
        // Not awaited: see withSessions.
        if (!keep) void client.end().catch(() => undefined);
      }
      if (keep) return client;
      if (this.clock.now().getTime() >= deadline) {
        const state = expected === 'on' ? 'read-only' : 'read-write';
        throw new Error(
          `timed out after ${this.settleTimeoutMs} ms waiting for new sessions to be ${state} after the reload`,
        );
      }
      await sleep(this.pollIntervalMs);
    }
  }

  private async one<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T> {
    return this.pool.session(url, async (client) => {
      const row = (await client.query<T>(sql, params)).rows[0];
      if (row === undefined) throw new Error(`no row from: ${sql}`);
      return row;
    });
  }

  /** Polls `probe` until it returns true; throws `what` on timeout. */
  private async until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
    const deadline = this.clock.now().getTime() + timeoutMs;
    for (;;) {
      if (await probe()) return;
      if (this.clock.now().getTime() >= deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(this.pollIntervalMs);
    }
  }

  private async facts(url: string): Promise<FactsRow> {
    return this.pool.session(url, (client) => this.factsOn(client));
  }

  private async factsOn(client: Client): Promise<FactsRow> {
    // On a primary the current WAL file names the timeline being written (pg_control_checkpoint() only
    // changes at the next checkpoint, which after a promotion is requested but not awaited); on a
    // standby the WAL receiver knows the timeline it streams.
    const row = (
      await client.query<FactsRow>(
        `SELECT pg_is_in_recovery() AS in_recovery,
              (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
              (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_tli,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS wal_file,
              (SELECT received_tli FROM pg_stat_wal_receiver) AS received_tli,
              (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text
                AS lsn,
              current_setting('default_transaction_read_only') AS read_only,
              current_setting('server_version') AS server_version`,
      )
    ).rows[0];
    if (row === undefined) throw new Error('no row from the facts query');
    return row;
  }

  private static timeline(row: FactsRow): number {
    const candidates = [row.checkpoint_tli, row.received_tli ?? 0];
    if (row.wal_file) candidates.push(timelineOfWalFile(row.wal_file));
    return Math.max(...candidates);
  }

  async describe(url: string): Promise<ServerFacts> {
    const row = await this.facts(url);
    return {
      inRecovery: row.in_recovery,
      systemIdentifier: row.system_identifier,
      timeline: PgReplication.timeline(row),
      lsn: row.lsn ?? '0/0',
      readOnly: row.read_only === 'on',
      serverVersion: row.server_version,
    };
  }

  async standbys(primaryUrl: string): Promise<StandbyInfo[]> {
    return this.pool.session(primaryUrl, async (client) => {
      const { rows } = await client.query<{
        application_name: string;
        client_addr: string | null;
        state: string;
        sync_state: string;
        replay_lsn: string | null;
        replay_lag: number | null;
      }>(
        `SELECT application_name, host(client_addr) AS client_addr, state, sync_state, replay_lsn::text,
                EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag
           FROM pg_stat_replication
          ORDER BY application_name, pid`,
      );
      return rows.map((row) => ({
        applicationName: row.application_name,
        clientAddr: row.client_addr,
        state: row.state,
        syncState: row.sync_state,
        replayLsn: row.replay_lsn,
        replayLagSeconds: row.replay_lag,
      }));
    });
  }

  async lag(primaryUrl: string, standbyUrl: string): Promise<LagReading> {
    try {
      // Primary first, then the standby: the standby can only have moved further, so the reading never
      // overstates how far it is behind that primary position (clamped at 0).
      const primary = await this.pool.session(primaryUrl, async (client) => {
        const lsn = (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0];
        const { rows } = await client.query<{ application_name: string; replay_lag: number | null }>(
          `SELECT application_name, EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag
             FROM pg_stat_replication`,
        );
        return { lsn: lsn?.lsn, senders: rows };
      });
      const standby = await this.one<{
        replay_lsn: string | null;
        conninfo: string | null;
        cluster_name: string;
        replay_delay: number | null;
      }>(
        standbyUrl,
        `SELECT pg_last_wal_replay_lsn()::text AS replay_lsn,
                (SELECT conninfo FROM pg_stat_wal_receiver) AS conninfo,
                current_setting('cluster_name') AS cluster_name,
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_delay`,
      );
      if (primary.lsn === undefined || standby.replay_lsn === null) return { bytes: null, seconds: null };
      const bytes = Math.max(0, lsnDiff(primary.lsn, standby.replay_lsn));

      // The walreceiver's application_name: from primary_conninfo, else cluster_name, else "walreceiver".
      const name =
        applicationNameOf(standby.conninfo) ??
        (standby.cluster_name !== '' ? standby.cluster_name : 'walreceiver');
      const lags = primary.senders
        .filter((sender) => sender.application_name === name && sender.replay_lag !== null)
        .map((sender) => sender.replay_lag as number);
      let seconds: number | null;
      if (lags.length > 0) seconds = Math.max(...lags);
      else if (bytes === 0) seconds = 0;
      else seconds = standby.replay_delay === null ? null : Math.max(0, standby.replay_delay);
      return { bytes, seconds };
    } catch {
      // Unmeasurable: the caller treats null as "too far behind".
      return { bytes: null, seconds: null };
    }
  }

  async surveyFence(primaryUrl: string, scope: FenceScope = {}): Promise<FenceSurvey> {
    return this.pool.session(primaryUrl, (client) => surveyFence(client, this.applicationName, scope));
  }

  async fence(
    primaryUrl: string,
    rolesToLock: readonly string[] = [],
    scope: FenceScope = {},
  ): Promise<{ finalLsn: string }> {
    if (scope.readOnlyDefault === false) {
      // No ALTER SYSTEM (RDS): the locked roles and the ended sessions are the fence.
      return this.pool.session(primaryUrl, async (client) => {
        await setLogin(client, rolesToLock, false);
        await this.terminateOthers(client, scope);
        return { finalLsn: await this.writtenLsn(client) };
      });
    }
    // Roles first: from this commit on, no session of theirs can start (it is WAL-logged, and the
    // standby gets it too: the new primary has them restored by restoreLogins).
    await this.pool.session(primaryUrl, async (client) => {
      await setLogin(client, rolesToLock, false);
      // For sessions of the roles that stay (the bot's own): read-only by default.
      await client.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await client.query('SELECT pg_reload_conf()');
    });
    this.pool.noteReload(primaryUrl);
    // The postmaster reloads asynchronously: wait until a session started now is read-only. That session
    // does the rest, and in a scope stays for verifyFenced (it started after the reload, as a client's would).
    const fresh = await this.untilNewSessionsShow(primaryUrl, 'on');
    return this.pool.adopt(primaryUrl, fresh, async (client) => {
      await this.terminateOthers(client, scope);
      return { finalLsn: await this.writtenLsn(client) };
    });
  }

  async lockOut(url: string, roles: readonly string[], scope: FenceScope = {}): Promise<void> {
    await this.pool.session(url, async (client) => {
      await setLogin(client, roles, false);
      await this.terminateOthers(client, scope);
    });
  }

  /**
   * Every backend that is not the server's or the bot's goes, until none comes back: sessions inside a
   * read-write transaction, logical walsenders, extensions' workers. Physical WAL senders stay (the
   * standby must keep streaming to the end).
   */
  private async terminateOthers(client: Client, scope: FenceScope): Promise<void> {
    const deadline = this.clock.now().getTime() + this.settleTimeoutMs;
    for (;;) {
      const others = await otherBackends(client, this.applicationName, scope);
      if (others.length === 0) return;
      if (this.clock.now().getTime() >= deadline) {
        throw new Error(
          `backends keep coming back after ${this.settleTimeoutMs} ms of terminating them: ${others.map((b) => `pid ${b.pid} (${b.role ?? '?'}, ${b.backendType})`).join('; ')}`,
        );
      }
      await terminate(
        client,
        others.map((backend) => backend.pid),
        (what, probe) => this.until(what, this.settleTimeoutMs, probe),
      );
    }
  }

  async fenceCheck(
    primaryUrl: string,
    scope: FenceScope = {},
  ): Promise<{ others: BackendInfo[]; lsn: string }> {
    return this.pool.session(primaryUrl, async (client) => {
      const others = await otherBackends(client, this.applicationName, scope);
      // Read after the backends: a commit of any backend gone by now is at or before this position.
      return { others, lsn: await this.writtenLsn(client) };
    });
  }

  /**
   * The WAL position once everything inserted so far is written (asynchronous commits included): the
   * WAL writer does that within a few wal_writer_delay.
   */
  private async writtenLsn(client: Client): Promise<string> {
    const insert = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const target = lsnToBigInt(insert.rows[0]?.lsn ?? '0/0');
    let written = '0/0';
    await this.until('WAL to be written up to the insert position', this.settleTimeoutMs, async () => {
      const row = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      written = row.rows[0]?.lsn ?? '0/0';
      return walReached(lsnToBigInt(written), target);
    });
    return written;
  }

  async verifyFenced(primaryUrl: string): Promise<boolean> {
    try {
      // A session that predates a reload of this scope shows that session's state, not a new one's.
      return await this.pool
        .session(primaryUrl, (client) => writeProbe(client, 'CREATE TABLE', 'cutover_fence_probe'), {
          sinceReload: true,
        })
        .then((accepted) => accepted === 'refused');
    } catch {
      return false; // could not even ask: not verified
    }
  }

  async unfence(
    primaryUrl: string,
    lockedRoles: readonly string[] = [],
    scope: FenceScope = {},
  ): Promise<void> {
    if (scope.readOnlyDefault === false) {
      await this.pool.session(primaryUrl, (client) => setLogin(client, lockedRoles, true));
      return;
    }
    await this.pool.session(primaryUrl, async (client) => {
      await setLogin(client, lockedRoles, true);
      await client.query('ALTER SYSTEM RESET default_transaction_read_only');
      await client.query('SELECT pg_reload_conf()');
    });
    this.pool.noteReload(primaryUrl);
    await (await this.untilNewSessionsShow(primaryUrl, 'off')).end().catch(() => undefined);
  }

  async releaseFenceOnStandby(url: string): Promise<void> {
    await this.pool.session(url, async (client) => {
      // Only a standby: on a server taking writes this would be an unfence.
      const { rows } = await client.query<{ recovering: boolean }>(
        'SELECT pg_is_in_recovery() AS recovering',
      );
      if (rows[0]?.recovering !== true) throw new Error('the server is not in recovery: its fence stays');
      // ALTER SYSTEM works in recovery: it writes the server's own postgresql.auto.conf, not WAL.
      await client.query('ALTER SYSTEM RESET default_transaction_read_only');
      await client.query('SELECT pg_reload_conf()');
    });
  }

  async restoreLogins(url: string, roles: readonly string[]): Promise<void> {
    await this.pool.session(url, (client) => setLogin(client, roles, true));
  }

  async queryValue(url: string, query: string): Promise<string | null> {
    return this.pool.session(url, async (client) => {
      // In a read-only transaction: an operator's check must not change anything.
      await client.query('BEGIN READ ONLY');
      try {
        const { rows } = await client.query<unknown[]>({ text: query, rowMode: 'array' });
        return asText(rows[0]?.[0]);
      } finally {
        await client.query('ROLLBACK');
      }
    });
  }

  async logicalReplicationLimits(url: string): Promise<LogicalReplicationLimits> {
    return this.pool.session(url, (client) => logicalReplicationLimits(client));
  }

  async reach(url: string): Promise<Reachability> {
    const client = this.pool.newClient(url);
    try {
      await client.connect();
      return 'answers';
    } catch (error) {
      return reachabilityOf(error);
    } finally {
      void client.end().catch(() => undefined);
    }
  }

  async walReceiver(standbyUrl: string): Promise<WalReceiverInfo | null> {
    return this.pool.session(standbyUrl, async (client) => {
      const row = (
        await client.query<{
          status: string;
          sender_host: string | null;
          sender_port: number | null;
          conninfo: string | null;
          received_tli: number | null;
          cluster_name: string;
        }>(
          `SELECT status, sender_host, sender_port, conninfo, received_tli,
                  current_setting('cluster_name') AS cluster_name
             FROM pg_stat_wal_receiver`,
        )
      ).rows[0];
      if (!row) return null;
      return {
        status: row.status,
        senderHost: row.sender_host,
        senderPort: row.sender_port,
        applicationName:
          applicationNameOf(row.conninfo) ?? (row.cluster_name !== '' ? row.cluster_name : 'walreceiver'),
        receivedTimeline: row.received_tli,
      };
    });
  }

  async settings(url: string): Promise<ServerSettings> {
    const row = await this.one<{
      wal_log_hints: string;
      data_checksums: string;
      sync_names: string;
      sync_commit: string;
      logical_slots: string[];
      server_addr: string | null;
      server_port: number | null;
      followers: string[];
    }>(
      url,
      `SELECT current_setting('wal_log_hints') AS wal_log_hints,
              current_setting('data_checksums') AS data_checksums,
              current_setting('synchronous_standby_names') AS sync_names,
              current_setting('synchronous_commit') AS sync_commit,
              ARRAY(SELECT slot_name::text FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1)
                AS logical_slots,
              host(inet_server_addr()) AS server_addr, inet_server_port() AS server_port,
              ARRAY(SELECT application_name::text FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1)
                AS followers`,
    );
    return {
      walLogHints: row.wal_log_hints === 'on',
      dataChecksums: row.data_checksums === 'on',
      synchronousStandbyNames: row.sync_names,
      synchronousCommit: row.sync_commit,
      logicalSlots: row.logical_slots,
      serverAddr: row.server_addr,
      serverPort: row.server_port,
      followers: row.followers,
    };
  }

  async setSynchronousStandbyNames(url: string, value: string): Promise<void> {
    await this.pool.session(url, async (client) => {
      // SET, also to empty, never RESET: RESET falls back to a value in postgresql.conf.
      await client.query(`ALTER SYSTEM SET synchronous_standby_names = ${quoteLiteral(value)}`);
      await client.query('SELECT pg_reload_conf()');
    });
  }

  async prepareCanary(url: string): Promise<void> {
    await this.pool.session(url, async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${CANARY_SCHEMA}`);
      await client.query(CANARY_TABLE_DDL);
      // Clients' roles write it too: the probe through PgBouncer, the commit that proves the route.
      await client.query(`GRANT USAGE ON SCHEMA ${CANARY_SCHEMA} TO PUBLIC`);
      await client.query(`GRANT SELECT, INSERT, UPDATE ON ${CANARY_TABLE} TO PUBLIC`);
    });
  }

  async commitCanary(url: string, runId: string, timeoutMs: number): Promise<void> {
    await this.pool.session(url, async (client) => {
      // A commit waiting for a synchronous standby that a statement timeout cancels returns success with
      // a WARNING (the commit is local only): that is a commit that did not complete as a client's would.
      let syncWaitCancelled = false;
      const onNotice = (notice: { message?: string }) => {
        if (notice.message?.includes('synchronous replication')) syncWaitCancelled = true;
      };
      client.on('notice', onNotice);
      try {
        // pg honours a per-query read timeout; its typings do not list it.
        const insert: QueryConfig & { query_timeout: number } = {
          text: `INSERT INTO ${CANARY_TABLE} (run_id) VALUES ($1) ON CONFLICT (run_id) DO UPDATE SET written_at = now()`,
          values: [runId],
          query_timeout: timeoutMs,
        };
        try {
          await client.query(insert);
        } catch (error) {
          // No canary table (prepareCanary did not run: a plan without that step): made here, once.
          if (sqlStateOf(error) !== '42P01' && sqlStateOf(error) !== '3F000') throw error;
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${CANARY_SCHEMA}`);
          await client.query(CANARY_TABLE_DDL);
          await client.query(insert);
        }
      } catch (error) {
        if (/timeout/i.test((error as Error).message)) {
          throw new Error(`a commit did not return within ${timeoutMs} ms`, { cause: error });
        }
        throw error;
      } finally {
        client.off('notice', onNotice);
      }
      if (syncWaitCancelled)
        throw new Error('a commit waited for a synchronous standby until it was cancelled');
    });
  }

  async dropCanary(url: string, runId: string): Promise<void> {
    await this.pool.session(url, async (client) => {
      await client.query(
        `DO $canary$ BEGIN
           IF to_regclass('${CANARY_TABLE}') IS NOT NULL THEN
             DELETE FROM ${CANARY_TABLE} WHERE run_id = ${quoteLiteral(runId)} OR run_id LIKE ${quoteLiteral(`${runId}:%`)};
             IF NOT EXISTS (SELECT 1 FROM ${CANARY_TABLE}) THEN DROP SCHEMA ${CANARY_SCHEMA} CASCADE; END IF;
           END IF;
         END $canary$`,
      );
    });
  }

  async replayedPast(standbyUrl: string, lsn: string): Promise<boolean> {
    lsnToBigInt(lsn); // reject garbage before it reaches the server
    const row = await this.one<{ past: boolean | null }>(
      standbyUrl,
      'SELECT pg_last_wal_replay_lsn() > $1::pg_lsn AS past',
      [lsn],
    );
    if (row.past === null) throw new Error('the server reports no replay position: it is not a standby');
    return row.past;
  }

  async bytesBehind(standbyUrl: string, lsn: string): Promise<number> {
    lsnToBigInt(lsn); // reject garbage before it reaches the server
    const row = await this.one<{ behind: string | null }>(
      standbyUrl,
      'SELECT GREATEST(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::text AS behind',
      [lsn],
    );
    if (row.behind === null) throw new Error('the server reports no replay position: it is not a standby');
    return Number(row.behind);
  }

  async promote(standbyUrl: string, timeoutMs: number): Promise<void> {
    await this.pool.session(standbyUrl, async (client) => {
      const inRecovery = async () =>
        (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r === true;
      if (!(await inRecovery())) return; // already promoted (a retry after a crash): nothing to do
      try {
        const sent = await client.query<{ ok: boolean }>('SELECT pg_promote(false) AS ok');
        if (sent.rows[0]?.ok !== true) throw new Error('pg_promote did not signal the postmaster');
      } catch (error) {
        // Another caller's promotion finished in between ("recovery is not in progress"): that is success.
        if (isConnectionError(error) || (await inRecovery())) throw error;
        return;
      }
      await this.until('the standby to leave recovery', timeoutMs, async () => !(await inRecovery()));
    });
  }

  async verifyPromoted(
    url: string,
  ): Promise<{ inRecovery: boolean; timeline: number; acceptsWrites: boolean }> {
    // In a scope both run on one session (in the promote step: the one that promoted).
    const row = await this.facts(url);
    const acceptsWrites = row.in_recovery
      ? false
      : // CREATE SCHEMA: a catalog write like CREATE TABLE without creating a file; right after a promotion
        // it takes a fraction of CREATE TABLE's 1.5-3 ms.
        await this.pool
          .session(url, (client) => writeProbe(client, 'CREATE SCHEMA', 'cutover_write_probe'))
          .then(
            (outcome) => outcome === 'accepted',
            () => false,
          );
    return { inRecovery: row.in_recovery, timeline: PgReplication.timeline(row), acceptsWrites };
  }
}
