// A worker dies right after RDS accepted PromoteReadReplica in a fenced promotion: the source is
// fenced, `promoteRequested` is recorded, the step never reported. The next worker gets the same job
// (BullMQ's stalled-job redelivery), so the executor runs with `resumed = true`: it must neither
// send PromoteReadReplica again nor unfence the source, and it finishes the promotion from its
// record (waits until the replica takes a commit, gives the logins back, routes).
//
// The crash is simulated in-process as in promote-crash.test.ts: runtime A's adapter sends the
// request, then its call never returns; A's worker is force-closed (its job lock lapses) and A shut
// down; runtime B, on the same schema and queue with a plain adapter, picks the stalled job up.
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { StepContext } from '../../../src/strategies/types';
import { startAwsEmulatorBeforeAll } from '../../support/services/aws/emulator';
import { APPROVER, startStrategyRuntime } from '../../support/runtimes/harness';
import { CrashAndResume } from '../../support/runtimes/in-process-crash';
import { freshSchemaName } from '../../support/services/pg';
import type { PgPair } from '../../support/services/pg-pair';
import { freshQueueName } from '../../support/services/redis';
import { waitFor } from '../../support/wait-for';
import {
  FENCED_STEP as STEP,
  FENCED_TARGET,
  fencedStrategy,
  fencedTargetEnv,
  fencedTargets,
  freshRdsPair,
} from './rds-fenced-runtime';
import { APP_ROLES, canWrite, REPLICA_ID } from './rds-pair';
import { DiesAfterPromote, startRun, untilFinished, untilState } from './rds-runtime';

jest.setTimeout(120_000);

const emulator = startAwsEmulatorBeforeAll();
const schema = freshSchemaName('t_rds_fenced_crash');
const queueName = freshQueueName('rds-fenced-crash');
const env = fencedTargetEnv();
const pairs: PgPair[] = [];
const crash = new CrashAndResume(schema);
const adapters: AwsRdsAdapter[] = [];

afterAll(async () => {
  await crash.cleanUp();
  for (const adapter of adapters) adapter.destroy();
  await emulator.close();
  for (const pair of pairs) await pair.destroy();
});

test('resumed after a crash past PromoteReadReplica: not sent again, never unfenced, promoted', async () => {
  const pair = await freshRdsPair(emulator.get(), env, pairs);
  const options = { minDelaySeconds: 0.01, maxDelaySeconds: 0.05 };
  const dying = new DiesAfterPromote(options);
  adapters.push(dying);
  const dyingStrategy = fencedStrategy(dying, env);
  const first = await startStrategyRuntime({
    strategy: dyingStrategy,
    targets: fencedTargets(dyingStrategy, env),
    schema,
    queueName,
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  crash.keep(first);

  const run = await startRun(first, FENCED_TARGET);
  await untilState(first, run.id, 'awaiting_approval');
  const approved = await first.runs.approve(run.id, STEP.gate, 1, APPROVER);
  expect(approved.ok).toBe(true);

  await dying.promoteAccepted;
  const crashed = await first.store.getRun(run.id);
  expect(crashed?.steps[STEP.promote]).toMatchObject({
    state: 'running',
    attempt: 1,
    output: { promoteRequested: true, fenced: true },
  });
  // The source is fenced while nobody looks after the promotion.
  expect(await canWrite(pair.primaryUrl, 'app_plain')).toBe(false);

  await crash.crash(first);

  const adapter = new AwsRdsAdapter(options);
  adapters.push(adapter);
  const strategy = fencedStrategy(adapter, env);
  const seen: Pick<StepContext, 'resumed' | 'attempt'>[] = [];
  const fenceAndPromote = strategy.executors['rds-fence-and-promote']!;
  const observed = {
    ...strategy,
    executors: {
      ...strategy.executors,
      'rds-fence-and-promote': {
        execute(ctx: StepContext) {
          seen.push({ resumed: ctx.resumed, attempt: ctx.attempt });
          return fenceAndPromote.execute(ctx);
        },
      },
    },
  };
  const second = await startStrategyRuntime({
    strategy: observed,
    targets: fencedTargets(observed, env),
    schema,
    queueName,
    stalledIntervalMs: 300,
  });
  crash.keep(second);

  const done = await untilFinished(second, run.id);
  expect({ state: done.state, outcome: done.outcome }).toEqual({ state: 'succeeded', outcome: null });
  await waitFor('the resumed attempt was seen', async () => (seen.length > 0 ? true : undefined));
  expect(seen[0]).toEqual({ resumed: true, attempt: 1 });
  const { rds } = emulator.get();
  expect(rds.count('PromoteReadReplica')).toBe(1);
  expect(rds.instance(REPLICA_ID)?.sourceId).toBeNull();
  expect(done.steps[STEP.promote]?.output).toMatchObject({ phase: 'promoted', loginsRestored: 3 });
  for (const role of APP_ROLES) {
    expect(await canWrite(pair.standbyUrl, role)).toBe(true);
    expect(await canWrite(pair.primaryUrl, role)).toBe(false);
  }
});
