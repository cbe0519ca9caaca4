// SIGKILL of the worker right after the promote call: the next worker finishes the run without
// a second promotion (it finds the standby already promoted and only verifies).
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { ChildWorkers, exited } from '../../support/runtimes/child-worker';
import { startStrategyRuntime, stopRuntimeAndClean, strategyTargets } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_promote_crash');
const queueName = freshQueueName('promote-crash');
const yaml = `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: crash-db
    strategy: replica-promotion
    postgres: { primary: env:CRASH_PRIMARY, standby: env:CRASH_STANDBY }
    lagPollInterval: 100ms
`;
const workers = new ChildWorkers(path.join(__dirname, '../../support/runtimes/promote-worker-main.ts'));
let pair: PgPair;
let web: Runtime;

beforeAll(async () => {
  pair = await startPgPair();
  const env = { CRASH_PRIMARY: pair.primaryUrl, CRASH_STANDBY: pair.standbyUrl };
  const strategy = createReplicaPromotion({
    replication: new PgReplication(),
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
  });
  web = await startStrategyRuntime({
    strategy,
    targets: strategyTargets(strategy, yaml, { env, file: 'web.yaml' }),
    role: 'web',
    schema,
    queueName,
  });
});

afterAll(async () => {
  await workers.killAll();
  await stopRuntimeAndClean(web, schema);
  await pair.destroy();
});

function worker(killAfterPromote: boolean): Promise<ChildProcess> {
  return workers.start({
    TEST_TARGET_ENV: JSON.stringify({ CRASH_PRIMARY: pair.primaryUrl, CRASH_STANDBY: pair.standbyUrl }),
    TEST_TARGETS_YAML: yaml,
    TEST_SCHEMA: schema,
    TEST_QUEUE: queueName,
    TEST_KILL_AFTER_PROMOTE: killAfterPromote ? '1' : '0',
  });
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(web.store, runId, states, 45_000);
}

test('SIGKILL right after pg_promote: the resumed run verifies instead of promoting again', async () => {
  const first = await worker(true);
  const outcome = await web.runs.start({ target: web.findTarget('crash-db')!, requestedBy: 'U0REQUESTER' });
  if (!outcome.ok) throw new Error(outcome.message);
  const runId = outcome.run.id;
  await untilState(runId, 'awaiting_approval');
  await web.runs.approve(runId, 2, 1, 'U0APPROVER');

  await exited(first);
  expect(first.signalCode).toBe('SIGKILL');
  const crashed = await web.store.getRun(runId);
  const promoteStep = crashed!.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP)!;
  // The irreversible call happened; the store only knows the step started.
  expect(promoteStep.state).toBe('running');
  expect((await new PgReplication().describe(pair.standbyUrl)).inRecovery).toBe(false);

  await worker(false);
  const done = await untilState(runId, 'succeeded', 'failed', 'aborted');
  expect(done.state).toBe('succeeded');
  const promoted = done.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP)!;
  expect(promoted.output).toMatchObject({ alreadyPromoted: true, timeline: 2 });
  // One promotion: a second would have needed the server back in recovery and made timeline 3.
  expect(await new PgReplication().verifyPromoted(pair.standbyUrl)).toEqual({
    inRecovery: false,
    timeline: 2,
    acceptsWrites: true,
  });
});
