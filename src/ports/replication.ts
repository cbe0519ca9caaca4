// Self-managed PostgreSQL streaming replication, as the replica-promotion strategy sees it.
// Connection strings arrive resolved (secrets are resolved by the caller, at use).

export interface ServerFacts {
  inRecovery: boolean;
  systemIdentifier: string;
  timeline: number;
  /** Primary: pg_current_wal_lsn(); standby: pg_last_wal_replay_lsn(). */
  lsn: string;
  /** default_transaction_read_only as the server reports it for a new session. */
  readOnly: boolean;
  serverVersion: string;
}

export interface StandbyInfo {
  applicationName: string;
  clientAddr: string | null;
  state: string;
  syncState: string;
  replayLsn: string | null;
  replayLagSeconds: number | null;
}

export interface LagReading {
  /** Bytes of WAL the standby has not replayed; null when it cannot be measured. */
  bytes: number | null;
  /** Seconds of replay delay; null when it cannot be measured. */
  seconds: number | null;
}

/** A backend of the old primary that is neither the server's own nor the bot's. */
export interface BackendInfo {
  pid: number;
  role: string | null;
  /** client backend, walsender (logical), or the background worker's own type (pg_cron launcher...). */
  backendType: string;
  applicationName: string;
  clientAddr: string | null;
  database: string | null;
}

export interface PreparedXact {
  gid: string;
  owner: string;
  database: string;
  preparedAt: string;
}

/** What the SQL fence would do on a primary, read without changing anything. */
export interface FenceSurvey {
  botRole: string;
  botIsSuperuser: boolean;
  /** Every role that may log in but the kept ones: made NOLOGIN by the fence. */
  rolesToLock: string[];
  /** The bot's own role and the roles streaming WAL to standbys: the fence cannot lock them out. */
  rolesKept: string[];
  /** Backends the fence terminates: client sessions, logical walsenders, extensions' workers. */
  others: BackendInfo[];
  preparedXacts: PreparedXact[];
  /** The bot's role may create and alter roles (CREATEROLE, or a superuser): NOLOGIN without a superuser. */
  botCanCreateRoles?: boolean;
  /** The bot's role may end other roles' sessions (pg_signal_backend, or a superuser). */
  botCanSignal?: boolean;
  /**
   * Roles of `rolesToLock` the bot's role cannot make NOLOGIN (a superuser, a replication role, or on
   * PostgreSQL 16+ a role it has no ADMIN OPTION on), with why; empty for a superuser bot.
   * (These three are optional for older adapters; a fence that needs them treats absent as no.)
   */
  unlockable?: { role: string; reason: string }[];
}

/**
 * How a fence treats one server, for a provider that allows no superuser (RDS: `rds_superuser`).
 * Without it, the calls behave as a superuser's SQL fence always did.
 */
export interface FenceScope {
  /**
   * Roles the provider itself logs in as (RDS: rdsadmin, rdsrepladmin): never locked, their sessions
   * neither terminated nor counted. Nothing of the applications may use them.
   */
  spareRoles?: readonly string[];
  /**
   * Whether the fence also sets default_transaction_read_only with ALTER SYSTEM (default true).
   * False where ALTER SYSTEM is forbidden (RDS): the locked logins and the ended sessions are the fence.
   */
  readOnlyDefault?: boolean;
}

/** What PostgreSQL's logical replication does not carry, found on a server (RDS Blue/Green uses it). */
export interface LogicalReplicationLimits {
  /** The database the URL names (the checks see only that one). */
  database: string;
  /** Tables whose UPDATE and DELETE logical replication cannot carry: no primary key, no replica identity. */
  tablesWithoutKey: string[];
  /** Large objects (pg_largeobject_metadata): not replicated. */
  largeObjects: number;
}

/** The standby's WAL receiver (pg_stat_wal_receiver), or null when it has none. */
export interface WalReceiverInfo {
  status: string;
  senderHost: string | null;
  senderPort: number | null;
  /** The application_name it announces to the primary (conninfo, cluster_name, or "walreceiver"). */
  applicationName: string;
  receivedTimeline: number | null;
}

/** Settings of a server that decide what a promotion leaves behind or needs. */
export interface ServerSettings {
  walLogHints: boolean;
  dataChecksums: boolean;
  synchronousStandbyNames: string;
  synchronousCommit: string;
  /** Names of logical replication slots (a standby before PostgreSQL 17 does not have them). */
  logicalSlots: string[];
  /** The address and port the session reached (inet_server_addr/port), for matching a WAL sender. */
  serverAddr: string | null;
  serverPort: number | null;
  /** Standbys streaming from this server (pg_stat_replication application names). */
  followers: string[];
}

/** How a connection attempt ended: only `refused` is proof that nothing listens. */
export type Reachability = 'answers' | 'refused' | 'timeout' | 'rejected' | 'error';

export interface ReplicationPort {
  describe(url: string): Promise<ServerFacts>;
  /** Rows of pg_stat_replication on the primary. */
  standbys(primaryUrl: string): Promise<StandbyInfo[]>;
  lag(primaryUrl: string, standbyUrl: string): Promise<LagReading>;
  /** What the SQL fence would lock and terminate on this primary; changes nothing. */
  surveyFence(primaryUrl: string, scope?: FenceScope): Promise<FenceSurvey>;
  /**
   * The SQL fence: `rolesToLock` become NOLOGIN, new sessions default to read-only, and every other
   * backend (surveyFence's `others`) is terminated until none is left; then the WAL position once
   * everything inserted is written. Idempotent. Throws when backends keep coming back.
   */
  fence(
    primaryUrl: string,
    rolesToLock?: readonly string[],
    scope?: FenceScope,
  ): Promise<{ finalLsn: string }>;
  /**
   * NOLOGIN for `roles` and every other backend terminated until none is left, on the bot's open
   * session (no new one: `roles` may include the bot's own).
   */
  lockOut(url: string, roles: readonly string[], scope?: FenceScope): Promise<void>;
  /** Backends other than the server's and the bot's right now, and the WAL position read after them. */
  fenceCheck(primaryUrl: string, scope?: FenceScope): Promise<{ others: BackendInfo[]; lsn: string }>;
  /** True only if a write in a new session is refused. */
  verifyFenced(primaryUrl: string): Promise<boolean>;
  /** Undoes the fence: `lockedRoles` may log in again, new sessions read-write. Idempotent. */
  unfence(primaryUrl: string, lockedRoles?: readonly string[], scope?: FenceScope): Promise<void>;
  /**
   * On an old primary that rejoined as a standby: removes what the SQL fence left in its own
   * configuration (read-only by default), which it would otherwise keep on its next promotion.
   * Refuses (throws) on a server that is not in recovery. Idempotent.
   */
  releaseFenceOnStandby(url: string): Promise<void>;
  /** LOGIN again for `roles` (on the new primary, which got the NOLOGIN through WAL). Idempotent. */
  restoreLogins(url: string, roles: readonly string[]): Promise<void>;
  /** How a connection attempt to `url` ends right now (positive proof that a stopped server is down). */
  reach(url: string): Promise<Reachability>;
  walReceiver(standbyUrl: string): Promise<WalReceiverInfo | null>;
  settings(url: string): Promise<ServerSettings>;
  /** ALTER SYSTEM SET synchronous_standby_names and a reload ('' : commits wait for no standby). */
  setSynchronousStandbyNames(url: string, value: string): Promise<void>;
  /** Creates the bot's canary table (schema cutover_bot) if missing; on the primary, before the fence. */
  prepareCanary(url: string): Promise<void>;
  /**
   * Commits a row of the canary table, as a client's commit would (synchronous_commit as the server
   * sets it); throws when the commit does not return within `timeoutMs`.
   */
  commitCanary(url: string, runId: string, timeoutMs: number): Promise<void>;
  /** Deletes the run's canary row, and the schema once it is empty. */
  dropCanary(url: string, runId: string): Promise<void>;
  /** Whether the standby has replayed past `lsn` (a record that starts there: a shutdown checkpoint). */
  replayedPast(standbyUrl: string, lsn: string): Promise<boolean>;
  /** Bytes from the standby's replay position to `lsn` (0 when it has replayed it). */
  bytesBehind(standbyUrl: string, lsn: string): Promise<number>;
  /** pg_promote without waiting, then polls pg_is_in_recovery(); resolves once promoted. */
  promote(standbyUrl: string, timeoutMs: number): Promise<void>;
  /** After promotion: out of recovery, its timeline, and whether a write is accepted. */
  verifyPromoted(url: string): Promise<{ inRecovery: boolean; timeline: number; acceptsWrites: boolean }>;
  /**
   * Optional. The first column of the first row of `query`, as text (null for SQL NULL or no row), run
   * in a read-only transaction: what an operator's check reads (an in-place change's `verify`).
   */
  queryValue?(url: string, query: string): Promise<string | null>;
  /** Optional. What logical replication would not carry from this server's database. */
  logicalReplicationLimits?(url: string): Promise<LogicalReplicationLimits>;
  /**
   * Optional. Runs `work`; the port calls it makes share one session per URL, all closed before this
   * settles. For one step's executor only: no session may outlive a step. verifyFenced still uses a
   * session started after any fence/unfence of that scope. Without it, every call has its own sessions.
   */
  withSessions?<T>(work: () => Promise<T>): Promise<T>;
}
