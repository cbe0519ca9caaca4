// BullMQ processor for step jobs. Thin: the step processor decides everything from the store.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { startStepWorker, type WorkerTuning } from '../src/adapters/queue/bullmq-step-queue';
import type { StepProcessor } from '../src/orchestrator/step-processor';

export function startExecuteStepWorker(
  connection: Redis,
  queueName: string,
  processor: StepProcessor,
  tuning: WorkerTuning,
): Worker {
  return startStepWorker(connection, queueName, (job) => processor.process(job), tuning);
}
