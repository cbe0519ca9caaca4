// GET /healthz: PostgreSQL and Redis answer, and the step worker (when this process has one) runs.
// Every probe is bounded: ioredis built for BullMQ (`maxRetriesPerRequest: null`) queues commands while
// it reconnects, so an unbounded PING to a stopped Redis would hang the health check forever.
import type { HealthReport } from '../adapters/http/server';
import { withTimeout } from './timeout';

export const DEFAULT_HEALTH_TIMEOUT_MS = 1000;

export interface HealthDeps {
  store: { ping(): Promise<void> };
  redis: { readonly status: string; ping(): Promise<string> };
  /** The step worker of this process, read at every check; null when the role runs none. */
  worker: () => { isRunning(): boolean } | null;
  /** Bound on each probe. Default 1 s. */
  timeoutMs?: number;
}

export function healthCheck(deps: HealthDeps): () => Promise<HealthReport> {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const postgres = (): Promise<boolean> =>
    withTimeout(deps.store.ping(), timeoutMs, 'PostgreSQL').then(
      () => true,
      () => false,
    );
  const redis = (): Promise<boolean> => {
    // Not connected (reconnecting, closed): say so at once rather than queue a PING.
    if (deps.redis.status !== 'ready') return Promise.resolve(false);
    return withTimeout(deps.redis.ping(), timeoutMs, 'Redis').then(
      (reply) => reply === 'PONG',
      () => false,
    );
  };
  return async () => {
    const [pg, rd] = await Promise.all([postgres(), redis()]);
    const worker = deps.worker();
    const checks = { postgres: pg, redis: rd, workers: worker ? worker.isRunning() : null };
    return { ok: checks.postgres && checks.redis && checks.workers !== false, checks };
  };
}
