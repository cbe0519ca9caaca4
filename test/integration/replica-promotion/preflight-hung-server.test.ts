// A primary that does not answer during the preflight (its postmaster stopped with SIGSTOP: the
// kernel still takes the connection, nothing answers, the connect times out) is something that may be
// back in a moment: the preflight step retries with the engine's backoff instead of refusing the
// cutover. Once it answers, the run goes on to its approval gate. A check that fails for a reason
// (a standby that is not in recovery) still refuses at once.
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { Runtime } from '../../../src/main/runtime';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import {
  startRun,
  startStrategyRuntime,
  stopRuntimeAndClean,
  strategyTargets,
} from '../../support/runtimes/harness';
import { untilRun, untilRunState } from '../../support/runtimes/run-state';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { freshSchemaName, postmasterPid } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';

jest.setTimeout(120_000);

const schema = freshSchemaName('t_preflight_hung');
const env: NodeJS.ProcessEnv = { HP_PRIMARY: 'postgres://unset', HP_STANDBY: 'postgres://unset' };
const pairs: PgPair[] = [];
let runtime: Runtime;
let rds: AwsRdsAdapter;

beforeAll(async () => {
  rds = new AwsRdsAdapter();
  // A short connect timeout, so that each attempt gives up on the hung server quickly.
  const strategy = createReplicaPromotion({
    replication: new PgReplication({ connectTimeoutMs: 500 }),
    rds,
    hooks: new ProcessHookRunner(),
    env,
  });
  runtime = await startStrategyRuntime({
    strategy,
    targets: strategyTargets(
      strategy,
      `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: hung-db
    strategy: replica-promotion
    postgres: { primary: env:HP_PRIMARY, standby: env:HP_STANDBY }
`,
      { env },
    ),
    schema,
    queueName: freshQueueName('preflight-hung'),
  });
});

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  rds.destroy();
  for (const pair of pairs) await pair.destroy();
});

async function freshPair(): Promise<PgPair> {
  const pair = await startPgPair();
  pairs.push(pair);
  env['HP_PRIMARY'] = pair.primaryUrl;
  env['HP_STANDBY'] = pair.standbyUrl;
  return pair;
}

test('a primary that hangs during the preflight: retried, and the run goes on once it answers', async () => {
  const pair = await freshPair();
  const pid = postmasterPid(pair.dataDirs.primary);
  process.kill(pid, 'SIGSTOP');
  let resumed = false;
  try {
    const run = await startRun(runtime, 'hung-db');
    // The preflight failed once for the hung server and is waiting to be retried: not refused.
    const retrying = await untilRun(
      runtime,
      run.id,
      'the preflight retried',
      (current) => (current.steps[0]?.retries ?? 0) >= 1 || current.state !== 'running',
    );
    expect(retrying.state).toBe('running');
    expect(retrying.steps[0]?.error).toMatchObject({ class: 'retryable' });
    expect(retrying.steps[0]?.error?.message).toMatch(/^preflight: primary does not answer/);

    process.kill(pid, 'SIGCONT');
    resumed = true;
    const gated = await untilRunState(runtime.store, run.id, ['awaiting_approval', 'failed'], 60_000);
    expect(gated.state).toBe('awaiting_approval');
    expect(gated.steps[0]?.state).toBe('succeeded');
    await runtime.runs.abort(run.id, 'U0APPROVER', 'test done');
    await untilRunState(runtime.store, run.id, ['aborted']);
  } finally {
    if (!resumed) process.kill(pid, 'SIGCONT');
  }
});

test('a standby that is not in recovery is refused at once, without retries', async () => {
  const pair = await freshPair();
  // Promoted by someone else: a second primary.
  await new PgReplication().promote(pair.standbyUrl, 30_000);
  const run = await startRun(runtime, 'hung-db');
  const failed = await untilRunState(runtime.store, run.id, ['failed', 'awaiting_approval']);
  expect(failed.state).toBe('failed');
  expect(failed.steps[0]?.retries).toBe(0);
  expect(failed.outcome).toMatch(/preflight refused: .*not in recovery/);
});
