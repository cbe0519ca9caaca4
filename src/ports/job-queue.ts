import type { StepJobRef } from '../engine/types';

export type JobStatus = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'missing';

/** Transport for step jobs. PostgreSQL says which jobs should exist; this only carries them. */
export interface StepJobQueue {
  /** Adds the job unless one with the same id is already waiting, delayed or active. */
  enqueue(job: StepJobRef, delayMs: number): Promise<void>;
  status(job: StepJobRef): Promise<JobStatus>;
  /** Removes a finished (completed or failed) job record so the same id can be queued again. */
  removeFinished(job: StepJobRef): Promise<void>;
}

/** The contract's job id: `run:<runId>:step:<n>:<attempt>`. Attempts count every job of a step. */
export function stepJobId(job: StepJobRef): string {
  return `run:${job.runId}:step:${job.step}:${job.attempt}`;
}

/**
 * The same id as BullMQ stores it: BullMQ refuses custom ids containing ':' (its key separator),
 * so the separators become '.'. The contract form stays the job's name, shown in logs and dashboards.
 */
export function queueJobId(job: StepJobRef): string {
  return stepJobId(job).replaceAll(':', '.');
}
