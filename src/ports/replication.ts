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

export interface ReplicationPort {
  describe(url: string): Promise<ServerFacts>;
  /** Rows of pg_stat_replication on the primary. */
  standbys(primaryUrl: string): Promise<StandbyInfo[]>;
  lag(primaryUrl: string, standbyUrl: string): Promise<LagReading>;
  /**
   * Makes the primary refuse writes (default_transaction_read_only, reload, terminate client
   * backends but not WAL senders) and returns its WAL position after the fence.
   */
  fence(primaryUrl: string): Promise<{ finalLsn: string }>;
  /** True only if a write in a new session is refused. */
  verifyFenced(primaryUrl: string): Promise<boolean>;
  unfence(primaryUrl: string): Promise<void>;
  /** Bytes from the standby's replay position to `lsn` (0 when it has replayed it). */
  bytesBehind(standbyUrl: string, lsn: string): Promise<number>;
  /** pg_promote without waiting, then polls pg_is_in_recovery(); resolves once promoted. */
  promote(standbyUrl: string, timeoutMs: number): Promise<void>;
  /** After promotion: out of recovery, its timeline, and whether a write is accepted. */
  verifyPromoted(url: string): Promise<{ inRecovery: boolean; timeline: number; acceptsWrites: boolean }>;
  /**
   * Optional. Runs `work`; the port calls it makes share one session per URL, all closed before this
   * settles. For one step's executor only: no session may outlive a step. verifyFenced still uses a
   * session started after any fence/unfence of that scope. Without it, every call has its own sessions.
   */
  withSessions?<T>(work: () => Promise<T>): Promise<T>;
}
