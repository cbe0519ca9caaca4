import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { StepJobRef } from '../../engine/types';
import {
  isStartJob,
  jobName,
  queueJobId,
  type JobStatus,
  type QueueJob,
  type StartJobRef,
  type StepJobQueue,
} from '../../ports/job-queue';

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
  readonly queue: Queue<QueueJob>;

  constructor(
    connection: Redis,
    readonly name: string = DEFAULT_STEP_QUEUE,
  ) {
    this.queue = new Queue<QueueJob>(name, { connection });
  }

  async enqueue(job: QueueJob, delayMs: number): Promise<void> {
    await this.queue.add(jobName(job), job, {
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

  async status(job: QueueJob): Promise<JobStatus> {
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

  async removeFinished(job: QueueJob): Promise<void> {
    const existing = await this.queue.getJob(queueJobId(job));
    if (!existing) return;
    const state = await existing.getState();
    if (state === 'completed' || state === 'failed') await existing.remove();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** Consumes step jobs (`handle` is the step processor) and scheduled starts. */
export function startStepWorker(
  connection: Redis,
  name: string,
  handle: (job: StepJobRef) => Promise<unknown>,
  tuning: WorkerTuning = DEFAULT_TUNING,
  /** Resolves to a number of ms when it is too early: the job goes back to delayed for that long. */
  handleStart: (job: StartJobRef) => Promise<number | null> = () => Promise.resolve(null),
): Worker<QueueJob> {
  const process = async (job: Job<QueueJob>, token?: string): Promise<unknown> => {
    if (!isStartJob(job.data)) return handle(job.data);
    const again = await handleStart(job.data);
    if (again === null) return undefined;
    // The same job goes back to waiting (an add with its id would be ignored while it is active).
    // Date.now, not a Clock: BullMQ takes an absolute time and compares it with its own Date.now.
    await job.moveToDelayed(Date.now() + again, token);
    throw new DelayedError();
  };
  return new Worker<QueueJob>(name, process, {
    connection,
    concurrency: tuning.concurrency,
    lockDuration: tuning.lockDurationMs,
    stalledInterval: tuning.stalledIntervalMs,
    // A job whose worker died is picked up again; several crashes in a row are still not a reason
    // to give up on a cutover (the reconciler would re-queue it anyway).
    maxStalledCount: 10,
  });
}
