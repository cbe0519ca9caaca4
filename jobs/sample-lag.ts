// Periodic lag sampling in each worker process (like the reconciler: a timer, so nothing in Redis
// is needed for it to keep running).
import type { LagSampler } from '../src/orchestrator/lag-sampler';
import type { Logger } from '../src/ports/logger';

export function startLagSampling(sampler: LagSampler, intervalMs: number, log: Logger): () => Promise<void> {
  let pass: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (pass) return;
    pass = sampler
      .sampleOnce()
      .catch((error: unknown) => log.warn({ err: error }, 'lag sampling pass failed'))
      .finally(() => {
        pass = null;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await pass;
  };
}
