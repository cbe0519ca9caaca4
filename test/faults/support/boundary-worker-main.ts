// A replica-promotion worker in its own process for the step-boundary SIGKILL cases. With
// FAULT_KILL_AFTER=<step name> it SIGKILLs itself right after that step's executor returned,
// before the result is stored: the world has changed, the store only knows the step started.
// Every promote call is written to the ledger table first, so promotions are counted across kills;
// with FAULT_LEDGER_ALL=1 every port call is. FAULT_DATABASE_URL points the bot's store elsewhere.
import { testDatabaseUrl } from '../../support/pg';
import type { StepExecutor, Strategy } from '../../../src/strategies/types';
import { startPromotionRuntime } from './promotion-runtime';
import { PromoteLedger, ReplicationProbe, type ReplicationMethod } from './replication-probe';
import { runAsChildWorker } from '../../support/child-worker';

const methods: ReplicationMethod[] = [
  'describe',
  'standbys',
  'lag',
  'fence',
  'verifyFenced',
  'unfence',
  'bytesBehind',
  'promote',
  'verifyPromoted',
];

function killAfter(strategy: Strategy, stepName: string | undefined): Strategy {
  if (!stepName) return strategy;
  const executors: Record<string, StepExecutor> = {};
  for (const [name, executor] of Object.entries(strategy.executors)) {
    executors[name] = {
      async execute(ctx) {
        const result = await executor.execute(ctx);
        // The boundary: the step's own executor (not its undo) reported done, nothing stored yet.
        if (ctx.step.spec.name === stepName && ctx.step.spec.executor === name && result.type === 'done') {
          process.stdout.write(`killing after ${stepName}\n`);
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => undefined);
        }
        return result;
      },
    };
  }
  return { ...strategy, executors };
}

async function main(): Promise<{ close(): Promise<void> }> {
  const env = JSON.parse(process.env['FAULT_TARGET_ENV'] ?? '{}') as NodeJS.ProcessEnv;
  const ledger = new PromoteLedger(testDatabaseUrl, process.env['FAULT_LEDGER'] ?? 'missing');
  const replication = new ReplicationProbe();
  if (process.env['FAULT_LEDGER_ALL'] === '1') {
    for (const method of methods) replication.before[method] = (url) => ledger.recordCall(method, url);
  } else {
    replication.before.promote = (url) => ledger.record(url);
  }
  const runtime = await startPromotionRuntime({
    yaml: process.env['FAULT_TARGETS_YAML'] ?? '',
    env,
    replication,
    schema: process.env['FAULT_SCHEMA'] ?? 'missing',
    queueName: process.env['FAULT_QUEUE'] ?? 'missing',
    role: 'worker',
    ...(process.env['FAULT_DATABASE_URL'] ? { databaseUrl: process.env['FAULT_DATABASE_URL'] } : {}),
    wrapStrategy: (strategy) => killAfter(strategy, process.env['FAULT_KILL_AFTER'] || undefined),
  });
  return runtime;
}

runAsChildWorker(main);
