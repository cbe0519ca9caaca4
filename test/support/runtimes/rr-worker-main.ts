// A worker process running the rolling-replace strategy against a test NATS cluster, for crash
// tests: the parent SIGKILLs it while a replace hook runs. Settings come from the environment.
import { runAsChildWorker } from './child-worker';
import { startRollingRuntime } from './rr-nats-runtime';

async function main(): Promise<{ close(): Promise<void> }> {
  const { runtime, closeHealth } = await startRollingRuntime({
    targetsYaml: process.env['TEST_TARGETS_YAML'] ?? '',
    role: 'worker',
    schema: process.env['TEST_SCHEMA'] ?? 'missing',
    queueName: process.env['TEST_QUEUE'] ?? 'missing',
    lockDurationMs: 1500,
  });
  return { close: () => runtime.close().then(closeHealth) };
}

runAsChildWorker(main);
