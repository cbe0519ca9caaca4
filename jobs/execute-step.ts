// BullMQ processor for step jobs. Thin: the step processor decides everything from the store.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { startStepWorker, type WorkerTuning } from '../src/adapters/queue/bullmq-step-queue';
import type { StepProcessor } from '../src/orchestrator/step-processor';
import type { StartJobRef } from '../src/ports/job-queue';

export function startExecuteStepWorker(
  connection: Redis,
  queueName: string,
  processor: Pick<StepProcessor, 'process'>,
  tuning: WorkerTuning,
  startScheduled: (job: StartJobRef) => Promise<number | null>,
): Worker {
  return startStepWorker(connection, queueName, (job) => processor.process(job), tuning, startScheduled);
}
