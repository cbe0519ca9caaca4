import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { StepJobRef } from '../../engine/types';
import { queueJobId, stepJobId, type JobStatus, type StepJobQueue } from '../../ports/job-queue';

export const DEFAULT_STEP_QUEUE = 'cutover-steps';

export interface WorkerTuning {
  concurrency: number;
  /** How long a job's lock lives without renewal; a killed worker's job is retried after it. */
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export const DEFAULT_TUNING: WorkerTuning = {
  concurrency: 8,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
};

export class BullmqStepQueue implements StepJobQueue {
  readonly queue: Queue<StepJobRef>;

  constructor(
    connection: Redis,
    readonly name: string = DEFAULT_STEP_QUEUE,
  ) {
    this.queue = new Queue<StepJobRef>(name, { connection });
  }

  async enqueue(job: StepJobRef, delayMs: number): Promise<void> {
    await this.queue.add(stepJobId(job), job, {
      jobId: queueJobId(job),
      delay: Math.max(0, Math.round(delayMs)),
      // Retries here cover infrastructure errors only (the store unreachable); step failures are
      // classified by the processor and become new attempts with new job ids.
      attempts: 20,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  async status(job: StepJobRef): Promise<JobStatus> {
    const state = await this.queue.getJobState(queueJobId(job));
    switch (state) {
      case 'completed':
      case 'failed':
      case 'active':
      case 'delayed':
        return state;
      case 'unknown':
        return 'missing';
      default:
        return 'waiting';
    }
  }

  async removeFinished(job: StepJobRef): Promise<void> {
    const existing = await this.queue.getJob(queueJobId(job));
    if (!existing) return;
    const state = await existing.getState();
    if (state === 'completed' || state === 'failed') await existing.remove();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** Consumes step jobs; `handle` is the step processor. */
export function startStepWorker(
  connection: Redis,
  name: string,
  handle: (job: StepJobRef) => Promise<unknown>,
  tuning: WorkerTuning = DEFAULT_TUNING,
): Worker<StepJobRef> {
  return new Worker<StepJobRef>(name, async (job: Job<StepJobRef>) => handle(job.data), {
    connection,
    concurrency: tuning.concurrency,
    lockDuration: tuning.lockDurationMs,
    stalledInterval: tuning.stalledIntervalMs,
    // A job whose worker died is picked up again; several crashes in a row are still not a reason
    // to give up on a cutover (the reconciler would re-queue it anyway).
    maxStalledCount: 10,
  });
}
