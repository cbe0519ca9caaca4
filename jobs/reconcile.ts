// Periodic reconcile. A timer in each worker process rather than a repeatable BullMQ job: a
// FLUSHALL would delete the repeatable job along with everything it exists to repair.
import type { Logger } from '../src/ports/logger';
import type { Reconciler } from '../src/orchestrator/reconciler';

export function startReconcileLoop(
  reconciler: Reconciler,
  intervalMs: number,
  log: Logger,
): () => Promise<void> {
  let pass: Promise<unknown> | null = null;
  const tick = (): void => {
    if (pass) return; // the previous pass is still going; never run two at once
    pass = reconciler
      .reconcileOnce()
      .catch((error: unknown) => log.warn({ err: error }, 'reconcile pass failed'))
      .finally(() => {
        pass = null;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await pass;
  };
}
