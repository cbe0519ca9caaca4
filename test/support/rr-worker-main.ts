// A worker process running the rolling-replace strategy against a test NATS cluster, for crash
// tests: the parent SIGKILLs it while a replace hook runs. Settings come from the environment.
import { startRollingRuntime } from './rr-nats-runtime';

async function main(): Promise<void> {
  const { runtime, closeHealth } = await startRollingRuntime({
    targetsYaml: process.env['TEST_TARGETS_YAML'] ?? '',
    role: 'worker',
    schema: process.env['TEST_SCHEMA'] ?? 'missing',
    queueName: process.env['TEST_QUEUE'] ?? 'missing',
    lockDurationMs: 1500,
  });
  process.on('SIGTERM', () => {
    void runtime
      .close()
      .then(closeHealth)
      .then(() => process.exit(0));
  });
  process.stdout.write('worker-ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${String(error)}\n`);
  process.exit(1);
});
