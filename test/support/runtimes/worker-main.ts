// A worker in its own process, for crash tests: the parent SIGKILLs it mid-step.
// Settings come from the environment the parent passes.
import { startTestRuntime, testTarget } from './harness';
import { runAsChildWorker } from './child-worker';

async function main(): Promise<{ close(): Promise<void> }> {
  const env = process.env;
  const targets = JSON.parse(env['TEST_TARGETS'] ?? '[]') as { name: string; settings: object }[];
  const { runtime } = await startTestRuntime({
    schema: env['TEST_SCHEMA'] ?? 'missing',
    queueName: env['TEST_QUEUE'] ?? 'missing',
    role: 'worker',
    targets: targets.map((target) => testTarget(target.name, target.settings)),
    lockDurationMs: Number(env['TEST_LOCK_MS'] ?? 2000),
    reconcileIntervalMs: Number(env['TEST_RECONCILE_MS'] ?? 500),
  });
  return runtime;
}

runAsChildWorker(main);
