// Waiting for a stored run to reach a state (or any condition), the polling loops every run-level
// test needs.
import type { Run, RunState } from '../../../src/engine/types';
import type { RunStore } from '../../../src/ports/run-store';
import { waitFor } from '../wait-for';

/** Resolves with the run once it is in one of `states`; on timeout, says where it is instead. */
export function untilRunState(
  store: Pick<RunStore, 'getRun'>,
  runId: string,
  states: readonly RunState[],
  timeoutMs = 30_000,
): Promise<Run> {
  return waitFor(
    `run ${runId} in ${states.join('|')}`,
    async () => {
      const run = await store.getRun(runId);
      if (run && states.includes(run.state)) return run;
      throw new Error(
        `run is ${run?.state}: ${run?.steps.map((step) => `${step.spec.name}=${step.state}/${step.attempt}`).join(' ')}`,
      );
    },
    { timeoutMs },
  );
}

/** Resolves with the run once `predicate` holds of it (looked at every 10 ms); `what` names the wait. */
export function untilRun(
  runtime: { store: Pick<RunStore, 'getRun'> },
  runId: string,
  what: string,
  predicate: (run: Run) => boolean,
  timeoutMs = 30_000,
): Promise<Run> {
  return waitFor(
    `run ${runId}: ${what}`,
    async () => {
      const run = await runtime.store.getRun(runId);
      return run && predicate(run) ? run : undefined;
    },
    { timeoutMs, intervalMs: 10 },
  );
}
