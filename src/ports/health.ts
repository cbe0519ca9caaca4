// Is a database up? A PostgreSQL connection string, a TCP address or an HTTP URL, probed once.
import type { Reachability } from './replication';

export type { Reachability };

export type HealthTarget =
  | { kind: 'postgres'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string };

export interface HealthResult {
  healthy: boolean;
  /**
   * How the connection attempt ended, classified as the replication port does: only `refused` is
   * proof that nothing listens there (a timeout may be a hung server; `rejected` is a server that
   * runs and turned the session away: authentication, too many clients, shutting down).
   */
  reach: Reachability;
  /**
   * PostgreSQL only: the cluster's system identifier (pg_control_system()), which a data directory
   * keeps for life and a fresh initdb never shares. Null for TCP and HTTP, and when unreadable.
   */
  identity: string | null;
  /** What was seen: "accepted a connection", "ECONNREFUSED", "HTTP 503", ... (no secrets). */
  detail: string;
  latencyMs: number;
}

export interface HealthChecker {
  check(target: HealthTarget, timeoutMs: number): Promise<HealthResult>;
}
