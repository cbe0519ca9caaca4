// A run planned by an earlier version of the bot (fence-primary, catch-up and promote-standby as
// three steps) that is still in flight when this version takes over: its next step names an executor
// that no longer exists. It must fail at that step and be unwound like any failure (the old primary
// unfenced while the standby is not promoted), never left half done or promoted.
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { parseTargets } from '../../../src/config/targets';
import { createRun } from '../../../src/engine/transition';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { configSchemasOf } from '../../../src/strategies';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { registryOf } from '../../../src/strategies/types';
import { startStrategyRuntime, stopRuntimeAndClean } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_older_plan');
const yaml = `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: old-db
    strategy: replica-promotion
    postgres: { primary: env:OLD_PRIMARY, standby: env:OLD_STANDBY }
`;
const replication = new PgReplication();
let pair: PgPair;
let runtime: Runtime;

beforeAll(async () => {
  pair = await startPgPair();
  const env = { OLD_PRIMARY: pair.primaryUrl, OLD_STANDBY: pair.standbyUrl };
  const strategy = createReplicaPromotion({
    replication,
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
  });
  runtime = await startStrategyRuntime({
    strategy,
    targets: parseTargets(yaml, 'old.yaml', { env, strategies: configSchemasOf(registryOf([strategy])) }),
    schema,
    queueName: freshQueueName('older-plan'),
  });
});

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  await pair.destroy();
});

/** The earlier version's plan, fenced and waiting to catch up, as its store rows would be now. */
function olderRunAfterTheFence(finalLsn: string): Run {
  const at = new Date().toISOString();
  const run = createRun({
    id: '00000000-0000-4000-8000-0000000000a1',
    plan: {
      strategy: 'replica-promotion',
      target: 'old-db',
      warnings: [],
      steps: [
        {
          name: 'fence-primary',
          kind: 'action',
          title: 'Fence the old primary',
          executor: 'pg-fence',
          compensation: { executor: 'pg-unfence', title: 'Unfence the old primary' },
        },
        { name: 'catch-up', kind: 'wait', title: 'Catch up', executor: 'pg-catch-up' },
        { name: 'promote-standby', kind: 'action', title: 'Promote the standby', executor: 'pg-promote' },
      ],
    },
    requestedBy: 'U0REQUESTER',
    channel: 'C0TEST0001',
    policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at,
  });
  run.state = 'running';
  run.currentStep = 1;
  Object.assign(run.steps[0]!, {
    state: 'succeeded',
    attempt: 1,
    startedAt: at,
    finishedAt: at,
    output: { finalLsn, fencedAtMs: Date.now() },
  });
  Object.assign(run.steps[1]!, { state: 'queued', attempt: 1 });
  return run;
}

test('a run from before fence-and-promote, fenced and waiting at catch-up, fails there and is unwound: the primary is unfenced, the standby not promoted', async () => {
  const { finalLsn } = await replication.fence(pair.primaryUrl);
  expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);
  const run = olderRunAfterTheFence(finalLsn);
  expect((await runtime.store.insertRun(run, 'U0REQUESTER')).ok).toBe(true);
  await runtime.queue.enqueue({ runId: run.id, step: 1, attempt: 1, mode: 'execute' }, 0);

  const done = await untilRunState(runtime.store, run.id, ['failed', 'aborted', 'succeeded'], 30_000);
  expect(done.state).toBe('failed');
  expect(done.outcome).toMatch(/no executor "pg-catch-up"/);
  expect(done.steps.map((step) => step.state)).toEqual(['compensated', 'failed', 'skipped']);
  expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
  expect((await replication.describe(pair.standbyUrl)).inRecovery).toBe(true);
});
