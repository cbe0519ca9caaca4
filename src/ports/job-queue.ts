import type { StepJobRef } from '../engine/types';

export type JobStatus = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'missing';

/** Delivers a scheduled run at its time: one delayed job per run, `run:<runId>:start`. */
export interface StartJobRef {
  runId: string;
  mode: 'start';
}

/** Everything the queue carries. */
export type QueueJob = StepJobRef | StartJobRef;

/** Transport for step jobs. PostgreSQL says which jobs should exist; this only carries them. */
export interface StepJobQueue {
  /** Adds the job unless one with the same id is already waiting, delayed or active. */
  enqueue(job: QueueJob, delayMs: number): Promise<void>;
  status(job: QueueJob): Promise<JobStatus>;
  /** Removes a finished (completed or failed) job record so the same id can be queued again. */
  removeFinished(job: QueueJob): Promise<void>;
}

export function isStartJob(job: QueueJob): job is StartJobRef {
  return job.mode === 'start';
}

/** The contract's name of any queued job. */
export function jobName(job: QueueJob): string {
  return isStartJob(job) ? `run:${job.runId}:start` : stepJobId(job);
}

/** The contract's job id: `run:<runId>:step:<n>:<attempt>`. Attempts count every job of a step. */
export function stepJobId(job: StepJobRef): string {
  return `run:${job.runId}:step:${job.step}:${job.attempt}`;
}

/**
 * The same id as BullMQ stores it: BullMQ refuses custom ids containing ':' (its key separator),
 * so the separators become '.'. The contract form stays the job's name, shown in logs and dashboards.
 */
export function queueJobId(job: QueueJob): string {
  return jobName(job).replaceAll(':', '.');
}
