// A replica-promotion worker in its own process for the step-boundary SIGKILL cases. With
// FAULT_KILL_AFTER=<step name> it SIGKILLs itself right after that step's executor returned,
// before the result is stored: the world has changed, the store only knows the step started.
// With FAULT_KILL_AFTER_CALL=<ReplicationPort method> it SIGKILLs itself inside the fence-and-promote
// step instead: right after that port call returned (its FAULT_KILL_AFTER_CALL_NTH-th call in that
// step in this process, default the first), before the executor saw the answer; with
// FAULT_KILL_BEFORE_CALL=<method>, right before that call reaches the real port (before the ledger).
// Every promote call is written to the ledger table first, so promotions are counted across kills;
// with FAULT_LEDGER_ALL=1 every port call is. FAULT_DATABASE_URL points the bot's store elsewhere.
import { testDatabaseUrl } from '../../support/services/pg';
import type { StepExecutor, Strategy } from '../../../src/strategies/types';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { startPromotionRuntime } from './promotion-runtime';
import { PromoteLedger, ReplicationProbe, type ReplicationMethod } from './replication-probe';
import { runAsChildWorker } from '../../support/runtimes/child-worker';

const methods: ReplicationMethod[] = [
  'describe',
  'standbys',
  'lag',
  'surveyFence',
  'fence',
  'lockOut',
  'fenceCheck',
  'verifyFenced',
  'unfence',
  'restoreLogins',
  'reach',
  'walReceiver',
  'settings',
  'setSynchronousStandbyNames',
  'prepareCanary',
  'commitCanary',
  'dropCanary',
  'bytesBehind',
  'replayedPast',
  'promote',
  'verifyPromoted',
];

async function killNow(what: string): Promise<never> {
  process.stdout.write(`killing after ${what}\n`);
  process.kill(process.pid, 'SIGKILL');
  return new Promise<never>(() => undefined);
}

/** How many fence-and-promote executions (not undos) are in flight in this process. */
let inCriticalStep = 0;

function killAfter(strategy: Strategy, stepName: string | undefined): Strategy {
  const executors: Record<string, StepExecutor> = {};
  for (const [name, executor] of Object.entries(strategy.executors)) {
    executors[name] = {
      async execute(ctx) {
        // The step's own executor, not its undo.
        const own = ctx.step.spec.executor === name;
        const critical = own && ctx.step.spec.name === FENCE_AND_PROMOTE_STEP;
        if (critical) inCriticalStep++;
        let result;
        try {
          result = await executor.execute(ctx);
        } finally {
          if (critical) inCriticalStep--;
        }
        // The boundary: the step's own executor reported done, nothing stored yet.
        if (stepName && ctx.step.spec.name === stepName && own && result.type === 'done')
          await killNow(stepName);
        return result;
      },
    };
  }
  return { ...strategy, executors };
}

/**
 * Arms the kill inside fence-and-promote: after (or before) the `nth` call of `method` made in that
 * step. A kill before a call comes ahead of the ledger's record of it: the call never happened.
 */
function killAtCall(
  replication: ReplicationProbe,
  method: string | undefined,
  nth: number,
  when: 'before' | 'after',
): void {
  if (!method) return;
  if (!methods.includes(method as ReplicationMethod)) throw new Error(`no ReplicationPort method ${method}`);
  let seen = 0;
  const hooks = replication[when];
  const earlier = hooks[method as ReplicationMethod];
  hooks[method as ReplicationMethod] = async (url) => {
    if (inCriticalStep > 0 && ++seen === nth)
      await killNow(`${when} ${method} #${nth} in ${FENCE_AND_PROMOTE_STEP}`);
    await earlier?.(url);
  };
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
  const nth = Number(process.env['FAULT_KILL_AFTER_CALL_NTH'] || '1');
  killAtCall(replication, process.env['FAULT_KILL_AFTER_CALL'] || undefined, nth, 'after');
  killAtCall(replication, process.env['FAULT_KILL_BEFORE_CALL'] || undefined, nth, 'before');
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
