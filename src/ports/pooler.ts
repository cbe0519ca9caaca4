// A connection pooler in front of the primary (PgBouncer), as the replica promotion drives it: pause
// the clients' databases so that a switchover is a stall instead of errors, reload its configuration
// once a hook has repointed it, resume. Admin URLs arrive resolved (secrets resolved at use).

export interface PoolerDatabase {
  name: string;
  host: string | null;
  port: number | null;
  paused: boolean;
}

/** What a client writing through the pooler saw: its longest wait for a write, and its failures. */
export interface ClientFigures {
  writes: number;
  errors: number;
  longestStallMs: number;
  /** Failures by SQLSTATE or message. */
  errorKinds: Record<string, number>;
}

export interface WriteProbe {
  /** Stops writing and returns what it saw (a write in flight is waited for). */
  stop(): Promise<ClientFigures>;
}

export interface PoolerPort {
  /** The version and the database entries (for the preflight). */
  describe(adminUrl: string): Promise<{ version: string; databases: PoolerDatabase[] }>;
  /**
   * PAUSE `databases` (all when empty): returns once no server connection is left. Past `timeoutMs`
   * it RESUMEs them again and throws, naming the clients that held server connections.
   */
  pause(adminUrl: string, databases: readonly string[], timeoutMs: number): Promise<void>;
  /** RESUME `databases` (all when empty). Idempotent: resuming what is not paused is no error. */
  resume(adminUrl: string, databases: readonly string[]): Promise<void>;
  /** RELOAD the configuration (a repoint hook has rewritten it). */
  reload(adminUrl: string): Promise<void>;
  /**
   * Commits the run's canary row through `clientUrl`, as a client of the pooler would (no startup
   * parameters PgBouncer may refuse); throws when it does not return within `timeoutMs`.
   */
  commitThrough(clientUrl: string, runId: string, timeoutMs: number): Promise<void>;
  /** Writes the canary row through `clientUrl` every few ms until stopped. */
  startWriteProbe(clientUrl: string, runId: string): WriteProbe;
}
