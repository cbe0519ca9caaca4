// Is a database up? A PostgreSQL connection string, a TCP address or an HTTP URL, probed once.

export type HealthTarget =
  | { kind: 'postgres'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string };

export interface HealthResult {
  healthy: boolean;
  /** What was seen: "accepted a connection", "ECONNREFUSED", "HTTP 503", ... (no secrets). */
  detail: string;
  latencyMs: number;
}

export interface HealthChecker {
  check(target: HealthTarget, timeoutMs: number): Promise<HealthResult>;
}
