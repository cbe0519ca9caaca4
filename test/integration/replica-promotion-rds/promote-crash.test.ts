// A worker dies after RDS accepted PromoteReadReplica and before the step reported. The next worker
// gets the SAME job again (BullMQ's stalled-job redelivery), finds the step recorded as 'running',
// so the executor runs with `resumed = true` and must not send PromoteReadReplica again, even
// though RDS's describe still shows an available replica (describe lags the request).
//
// How the crash is simulated in-process:
//  - runtime A (role all, 1 s job locks) runs the real strategy on an adapter whose
//    promoteReadReplica sends the request (RDS accepts it) and then never returns: the step stays
//    'running' and nothing after the AWS call runs, as after a SIGKILL;
//  - A's worker is force-closed (its lock renewal stops, the job stays active in Redis), then A is
//    shut down;
//  - runtime B (role all) on the same schema and queue, with a plain adapter, finds the job stalled
//    once A's lock expires and processes it: StepProcessor sees step state 'running' -> resumed.
// An error thrown by the executor would NOT model this: StepProcessor catches it, classifies it
// (retryable), and queues a new attempt in state 'queued', which runs with resumed = false (see
// the "lost response" tests in rds-runs.test.ts).
// RDS's describe lags the accepted request for an hour of a ManualClock; the test moves the clock
// once the resumed attempt has looked, and the rest of the promotion is immediate.
import type { StepContext } from '../../../src/strategies/types';
import { APPROVER } from '../../support/runtimes/harness';
import { CrashAndResume } from '../../support/runtimes/in-process-crash';
import { freshSchemaName } from '../../support/services/pg';
import { ManualClock } from '../../support/fakes/manual-clock';
import { freshQueueName } from '../../support/services/redis';
import { waitFor } from '../../support/wait-for';
import {
  AwsWorld,
  DiesAfterPromote,
  RDS_STEP,
  replicaPromotion,
  startRdsRuntime,
  startRun,
  untilFinished,
  untilState,
} from './rds-runtime';

const schema = freshSchemaName('t_rds_crash');
const queueName = freshQueueName('rds-crash');
const aws = new AwsWorld();
const crash = new CrashAndResume(schema);

afterAll(async () => {
  await crash.cleanUp();
  await aws.close();
});

test('resumed after a crash past PromoteReadReplica: not sent again, waits, verifies, succeeds', async () => {
  // After the request, describe keeps showing `available` with its source: the world alone would
  // say "promote"; only the step's own record (resumed) says it may have been sent.
  const clock = new ManualClock();
  const STALE_MS = 3_600_000;
  aws.reset({ promoteStaleMs: STALE_MS, promoteModifyingMs: 0, promoteRebootingMs: 0 }, clock);
  aws.rds.addInstance('orders-primary').addReplica('orders-replica', 'orders-primary');
  aws.lag('orders-replica', 1);

  const dying = new DiesAfterPromote(aws.adapterOptions());
  const first = await startRdsRuntime({
    schema,
    queueName,
    strategy: replicaPromotion(dying),
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  crash.keep(first);

  const run = await startRun(first, 'orders-rds');
  await untilState(first, run.id, 'awaiting_approval');
  const approved = await first.runs.approve(run.id, RDS_STEP.gate, 1, APPROVER);
  expect(approved.ok).toBe(true);

  await dying.promoteAccepted;
  const crashed = await first.store.getRun(run.id);
  expect(crashed?.steps[RDS_STEP.promote]).toMatchObject({ state: 'running', attempt: 1, retries: 0 });
  expect(aws.rds.count('PromoteReadReplica', 'ok')).toBe(1);
  // What a resumed attempt will see first: still an available replica of the primary.
  expect(aws.rds.instance('orders-replica')).toMatchObject({
    status: 'available',
    sourceId: 'orders-primary',
  });

  await crash.crash(first);
  dying.destroy();

  // A new worker with a plain adapter; the promote executor is observed to see `resumed`.
  const strategy = replicaPromotion(aws.adapter());
  const seen: Pick<StepContext, 'resumed' | 'attempt'>[] = [];
  const promote = strategy.executors['rds-promote']!;
  const second = await startRdsRuntime({
    schema,
    queueName,
    strategy: {
      ...strategy,
      executors: {
        ...strategy.executors,
        'rds-promote': {
          execute(ctx) {
            seen.push({ resumed: ctx.resumed, attempt: ctx.attempt });
            return promote.execute(ctx);
          },
        },
      },
    },
    stalledIntervalMs: 300,
  });
  crash.keep(second);

  // The resumed attempt looks, sees the stale replica and does not send; then RDS moves on.
  await waitFor('the resumed promote step ran', async () => seen.length > 0);
  await waitFor(
    'its describe',
    async () => (await second.store.getRun(run.id))?.steps[RDS_STEP.promote]?.state === 'succeeded',
  );
  clock.advance(STALE_MS);
  const done = await untilFinished(second, run.id);
  expect(done.state).toBe('succeeded');
  expect(seen).toEqual([{ resumed: true, attempt: 1 }]);
  expect(done.steps[RDS_STEP.promote]).toMatchObject({
    state: 'succeeded',
    attempt: 1,
    retries: 0,
    output: { result: 'in_progress' },
  });
  expect(done.steps[RDS_STEP.waitPromoted]?.output).toMatchObject({ status: 'available' });
  expect(aws.rds.count('PromoteReadReplica')).toBe(1);
  expect(aws.rds.instance('orders-replica')?.sourceId).toBeNull();
});
