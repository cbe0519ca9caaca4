// The crash of the in-process crash tests (volume swap, in-place, RDS promotion, EC2 rolling
// replace). Runtime A runs the real strategy on an adapter (or hook runner) whose irreversible call
// is made and then never returns: the step stays 'running' and nothing after the call runs, as
// after a SIGKILL. A's worker is force-closed (its lock renewal stops, the job stays active in
// Redis), then A is shut down. Runtime B, on the same schema and queue, finds the job stalled once
// A's lock expires and takes it (BullMQ's stalled-job redelivery): the step runs with resumed = true.
// An error thrown by the adapter would not model this: StepProcessor would classify it and queue a
// new attempt, which runs with resumed = false.
import type { Runtime } from '../../../src/main/runtime';
import { stopRuntimeAndClean } from './harness';
import { dropSchema } from '../services/pg';

/** Where a dying call stops: `reached` resolves, and the call never returns. */
export class CrashPoint {
  private signal: () => void = () => undefined;
  readonly reached = new Promise<void>((resolve) => (this.signal = resolve));

  /** What the dying call returns once its real work is done. */
  hang(): Promise<never> {
    this.signal();
    return new Promise<never>(() => undefined);
  }
}

/** Runtime A, which crashes, and runtime B, which resumes, on one schema and queue. */
export class CrashAndResume {
  private readonly runtimes: Runtime[] = [];

  constructor(private readonly schema: string) {}

  /** Keeps a started runtime for cleanUp: the first kept is A, the second B. */
  keep(runtime: Runtime): Runtime {
    this.runtimes.push(runtime);
    return runtime;
  }

  /** "SIGKILL": stop renewing the job's lock without waiting for the hung step, then shut down. */
  async crash(runtime: Runtime): Promise<void> {
    await runtime.worker?.close(true);
    await runtime.close();
  }

  /** For afterAll: closes A, stops B and removes its queue and the schema (the schema alone without B). */
  async cleanUp(): Promise<void> {
    const [first, second] = this.runtimes;
    await first?.close();
    if (second) await stopRuntimeAndClean(second, this.schema);
    else await dropSchema(this.schema);
  }
}
