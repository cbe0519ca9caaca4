// A worker in its own process, for crash tests: the parent SIGKILLs it mid-step.
// Settings come from the environment the parent passes.
import { startTestRuntime, testTarget } from './harness';

async function main(): Promise<void> {
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
  process.on('SIGTERM', () => {
    void runtime.close().then(() => process.exit(0));
  });
  process.stdout.write('worker-ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${String(error)}\n`);
  process.exit(1);
});
