// A worker process running the replica-promotion strategy against a real pair, for crash tests:
// with TEST_KILL_AFTER_PROMOTE=1 it SIGKILLs itself right after the promote call returned, before
// the step can report (the worst moment: the irreversible call happened, the store does not know).
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { ReplicationPort } from '../../../src/ports/replication';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { startStrategyRuntime, strategyTargets } from './harness';
import { runAsChildWorker } from './child-worker';

async function main(): Promise<{ close(): Promise<void> }> {
  const env = JSON.parse(process.env['TEST_TARGET_ENV'] ?? '{}') as NodeJS.ProcessEnv;
  const real = new PgReplication();
  const replication: ReplicationPort = Object.assign(Object.create(real) as PgReplication, {
    promote: async (url: string, timeoutMs: number) => {
      await real.promote(url, timeoutMs);
      if (process.env['TEST_KILL_AFTER_PROMOTE'] === '1') process.kill(process.pid, 'SIGKILL');
    },
  });
  const strategy = createReplicaPromotion({
    replication,
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
  });
  const runtime = await startStrategyRuntime({
    strategy,
    targets: strategyTargets(strategy, process.env['TEST_TARGETS_YAML'] ?? '', { env, file: 'worker.yaml' }),
    role: 'worker',
    schema: process.env['TEST_SCHEMA'] ?? 'missing',
    queueName: process.env['TEST_QUEUE'] ?? 'missing',
    concurrency: 2,
    lockDurationMs: 1500,
    stalledIntervalMs: 750,
    reconcileIntervalMs: 500,
    lagSampleIntervalMs: null,
  });
  return runtime;
}

runAsChildWorker(main);
