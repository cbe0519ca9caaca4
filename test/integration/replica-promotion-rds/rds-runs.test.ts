// Whole replica-promotion runs against RDS through the real runtime: PostgreSQL store, BullMQ on
// Redis, the step worker, the real strategy and AwsRdsAdapter, whose SDK clients talk to the AWS
// emulator over HTTP (see rds-runtime.ts for the two regions: without and with the SDK's retry).
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { Strategy } from '../../../src/strategies/types';
import { APPROVER, REQUESTER } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { advancePerCall, type BlueGreenOptions } from '../../support/services/aws/emulator';
import { ManualClock } from '../../support/fakes/manual-clock';
import { waitFor } from '../../support/wait-for';
import {
  AwsWorld,
  BG_STEP,
  LOOK_MS,
  promotionPhases,
  RDS_STEP,
  replicaPromotion,
  startRdsRuntime,
  startRun,
  stopRdsRuntime,
  targetOf,
  untilFinished,
  untilRun,
  untilState,
} from './rds-runtime';

const schema = freshSchemaName('t_rds_runs');
const aws = new AwsWorld();
let strategy: Strategy;
let runtime: Runtime;

beforeAll(async () => {
  strategy = replicaPromotion(aws.adapter());
  runtime = await startRdsRuntime({ schema, queueName: freshQueueName('rds-runs'), strategy });
});

// A failed test must not leave its run active: the next one could not start (one run per target).
afterEach(async () => {
  for (const active of await runtime.store.listActiveRuns()) {
    await runtime.runs.abort(active.id, APPROVER, 'test cleanup');
    await untilFinished(runtime, active.id);
  }
});

afterAll(async () => {
  await stopRdsRuntime(runtime, schema);
  await aws.close();
});

/** The usual pair: an available replica of the primary, replicating with a small lag. */
function replicaPair(promotion: Parameters<typeof promotionPhases>[0] = {}, lagSeconds = 1.5): void {
  aws.reset(promotionPhases(promotion));
  aws.rds.addInstance('orders-primary').addReplica('orders-replica', 'orders-primary');
  aws.lag('orders-replica', lagSeconds);
}

async function approveGate(run: Run, step: number = RDS_STEP.gate, round = 1): Promise<void> {
  const approved = await runtime.runs.approve(run.id, step, round, APPROVER);
  if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
}

/** Starts a run of `target`, approves its planned gate and waits for the run to end. */
async function runThroughGate(target: string, gateStep: number): Promise<Run> {
  const run = await startRun(runtime, target);
  await untilState(runtime, run.id, 'awaiting_approval');
  await approveGate(run, gateStep);
  return untilFinished(runtime, run.id);
}

describe('RDS read-replica promotion', () => {
  test('happy path: preflight, waits out the lag, gate, re-check, promotes once, verifies', async () => {
    replicaPair({ modifying: 2, rebooting: 1 }, 12);
    const run = await startRun(runtime, 'orders-rds');

    // ReplicaLag 12 s > 5 s: the wait step polls as delayed jobs and the gate does not open.
    const waiting = await untilRun(
      runtime,
      run.id,
      'lag wait polled three times',
      (current) => (current.steps[RDS_STEP.waitLag]?.attempt ?? 0) >= 3,
    );
    expect(waiting.state).toBe('running');
    // Shown at the gate: how the replica differs from its source, and what no fence may lose.
    expect(waiting.steps[RDS_STEP.preflight]).toMatchObject({
      state: 'succeeded',
      output: {
        status: 'available',
        warnings: [
          'backup retention: orders-primary 7 days, orders-replica 0 days (PromoteReadReplica keeps 1 day of automated backups unless it is set afterwards)',
          'allowDataLoss: orders-primary is not fenced; writes orders-replica has not replayed are lost: ReplicaLag 12 s now, plus every write made to orders-primary until clients are routed',
        ],
      },
    });
    expect(waiting.steps[RDS_STEP.waitLag]?.output).toEqual({
      seconds: 12,
      waitingFor: 'ReplicaLag 12 s > 5 s',
    });
    expect(waiting.steps[RDS_STEP.gate]?.state).toBe('pending');

    aws.lag('orders-replica', 1.5);
    const atGate = await untilState(runtime, run.id, 'awaiting_approval');
    expect(atGate.currentStep).toBe(RDS_STEP.gate);
    expect(atGate.steps[RDS_STEP.waitLag]).toMatchObject({ state: 'succeeded', output: { seconds: 1.5 } });
    expect(atGate.steps[RDS_STEP.gate]?.gate).toMatchObject({ reason: 'planned', round: 1 });
    // Nothing irreversible before the approval: only reads so far.
    expect(aws.rds.count('PromoteReadReplica')).toBe(0);
    expect(new Set(aws.commands())).toEqual(new Set(['DescribeDBInstances', 'GetMetricData']));

    // The requester cannot approve their own run.
    const self = await runtime.runs.approve(run.id, RDS_STEP.gate, 1, REQUESTER);
    expect(self.ok).toBe(false);
    // Promoting without a fence accepts data loss: the approver types allowDataLoss, not the name.
    expect(atGate.steps[RDS_STEP.gate]?.spec.confirmPhrase).toBe('allowDataLoss');
    const byName = await runtime.runs.approve(
      run.id,
      RDS_STEP.gate,
      1,
      APPROVER,
      {},
      {
        confirmation: atGate.target,
      },
    );
    expect(byName).toMatchObject({
      ok: false,
      error: expect.stringMatching(/type allowDataLoss to approve/),
    });

    const callsAtApproval = aws.calls().length;
    await approveGate(run);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.outcome).toBeNull();
    expect(done.steps.map((step) => step.state)).toEqual(Array(6).fill('succeeded'));
    expect(done.steps[RDS_STEP.recheck]?.output).toEqual({ seconds: 1.5, atMs: expect.any(Number) });
    expect(done.steps[RDS_STEP.promote]).toMatchObject({ output: { result: 'promoted' }, attempt: 1 });
    const atMs = Number(done.steps[RDS_STEP.recheck]?.output?.['atMs']);
    expect(done.steps[RDS_STEP.waitPromoted]?.output).toEqual({
      status: 'available',
      report:
        ':white_check_mark: orders-replica is promoted and available.\n' +
        `:warning: Not fenced (allowDataLoss): ReplicaLag was 1.5 s at the re-check (${new Date(atMs).toISOString()}). ` +
        'Writes orders-replica had not replayed by then, and every write made to orders-primary after it until ' +
        'clients were routed, are not on orders-replica.',
    });

    // After the approval: re-check the lag, describe, promote exactly once, then only describes
    // until the instance is available and standalone.
    const after = aws.commands(callsAtApproval);
    expect(after.slice(0, 3)).toEqual(['GetMetricData', 'DescribeDBInstances', 'PromoteReadReplica']);
    expect(new Set(after.slice(3))).toEqual(new Set(['DescribeDBInstances']));
    expect(aws.rds.count('PromoteReadReplica')).toBe(1);
    expect(aws.rds.calls.find((call) => call.action === 'PromoteReadReplica')?.params).toEqual({
      DBInstanceIdentifier: 'orders-replica',
    });
    expect(aws.rds.instance('orders-replica')).toMatchObject({ status: 'available', sourceId: null });

    expect(await runtime.store.listApprovals(run.id)).toEqual([
      expect.objectContaining({ step: RDS_STEP.gate, round: 1, userId: APPROVER }),
    ]);
  });

  test('lag rises after the approval: pauses at a needs-human gate and never promotes', async () => {
    replicaPair();
    const run = await startRun(runtime, 'orders-rds');
    await untilState(runtime, run.id, 'awaiting_approval');

    aws.lag('orders-replica', 42); // while the button waited
    await approveGate(run);
    const message =
      'ReplicaLag is 42 s > 5 s since the approval; not promoting. Retry to check again, or abort.';
    const paused = await untilRun(
      runtime,
      run.id,
      'needs-human gate on the re-check',
      // The run state too: getRun can return a run row older than its steps (store-torn-read.test.ts).
      (current) =>
        current.state === 'awaiting_approval' &&
        current.steps[RDS_STEP.recheck]?.gate?.reason === 'needs_human',
    );
    expect(paused.state).toBe('awaiting_approval');
    expect(paused.currentStep).toBe(RDS_STEP.recheck);
    expect(paused.steps[RDS_STEP.recheck]?.gate).toMatchObject({ round: 1, expiresAt: null, message });
    expect(paused.steps[RDS_STEP.promote]?.state).toBe('pending');

    // A person's override does not outrank the measurement: the re-check refuses again.
    await approveGate(run, RDS_STEP.recheck, 1);
    const again = await untilRun(
      runtime,
      run.id,
      'second needs-human round',
      (current) =>
        current.state === 'awaiting_approval' && current.steps[RDS_STEP.recheck]?.gate?.round === 2,
    );
    expect(again.steps[RDS_STEP.recheck]?.gate).toMatchObject({ reason: 'needs_human', message });

    const aborted = await runtime.runs.abort(run.id, APPROVER, 'lag too high tonight');
    expect(aborted.ok).toBe(true);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('aborted');
    expect(done.outcome).toBe(`aborted by ${APPROVER}: lag too high tonight`);
    expect(done.steps[RDS_STEP.promote]?.state).toBe('skipped');
    expect(aws.rds.count('PromoteReadReplica')).toBe(0);
    expect(aws.rds.instance('orders-replica')?.sourceId).toBe('orders-primary');
  });

  test('throttling with no SDK retry: the engine backs off, promotes once, completes', async () => {
    replicaPair({ modifying: 30, rebooting: 1 });
    aws.rds.throttle('DescribeDBInstances'); // the preflight's describe
    aws.rds.throttle('PromoteReadReplica');
    const run = await startRun(runtime, 'orders-rds');
    const atGate = await untilState(runtime, run.id, 'awaiting_approval');
    expect(atGate.steps[RDS_STEP.preflight]).toMatchObject({ state: 'succeeded', retries: 1, attempt: 2 });

    await approveGate(run);
    // While the replica is `modifying` (30 looks), DescribeDBInstances is throttled 3 times: the
    // waiter rides it out, or the wait step backs off and polls again.
    await waitFor(
      'PromoteReadReplica accepted',
      async () => aws.rds.count('PromoteReadReplica', 'ok') === 1,
      {
        intervalMs: 2,
      },
    );
    aws.rds.throttle('DescribeDBInstances', { count: 3 });
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.steps[RDS_STEP.promote]).toMatchObject({
      state: 'succeeded',
      retries: 1,
      attempt: 2,
      output: { result: 'promoted' },
    });
    expect(aws.rds.count('PromoteReadReplica')).toBe(2);
    expect(aws.rds.count('PromoteReadReplica', 'ok')).toBe(1);
    expect(aws.calls().filter((call) => call.outcome === 'Throttling')).toHaveLength(5);
    expect(aws.rds.instance('orders-replica')?.sourceId).toBeNull();
  });

  test('production clients: the SDK absorbs throttled describes; a throttled PromoteReadReplica (sent once per call) is retried by the engine', async () => {
    aws.reset(promotionPhases({ modifying: 2, rebooting: 1 }));
    aws.rds.addInstance('ledger-primary').addReplica('ledger-replica', 'ledger-primary');
    aws.lag('ledger-replica', 0.5);
    aws.rds.throttle('DescribeDBInstances', { count: 2 });
    aws.rds.throttle('PromoteReadReplica');

    const done = await runThroughGate('ledger-rds', RDS_STEP.gate);

    expect(done.state).toBe('succeeded');
    expect(done.steps.map((step) => step.retries)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(aws.rds.count('PromoteReadReplica')).toBe(2);
    expect(aws.rds.count('PromoteReadReplica', 'ok')).toBe(1);
    expect(aws.commands().slice(0, 3)).toEqual([
      'DescribeDBInstances!Throttling',
      'DescribeDBInstances!Throttling',
      'DescribeDBInstances',
    ]);
  });

  /**
   * The pair, the next PromoteReadReplica answer lost (the connection drops; this region's client
   * does not retry), and the promotion held for an hour of a ManualClock in one phase: `stale`
   * (describe still shows an available replica) or `modifying`. The rest is immediate once the
   * clock moves, which it does when the promote step has succeeded.
   */
  async function runWithLostPromoteAnswer(
    held: 'stale' | 'modifying',
    pair: 'orders' | 'ledger' = 'orders',
  ): Promise<Run> {
    const clock = new ManualClock();
    const HOUR = 3_600_000;
    aws.reset(
      {
        promoteStaleMs: held === 'stale' ? HOUR : 0,
        promoteModifyingMs: held === 'modifying' ? HOUR : 0,
        promoteRebootingMs: 0,
      },
      clock,
    );
    aws.rds.addInstance(`${pair}-primary`).addReplica(`${pair}-replica`, `${pair}-primary`);
    aws.lag(`${pair}-replica`, 1.5);
    aws.rds.loseNextResponse('PromoteReadReplica');
    const run = await startRun(runtime, `${pair}-rds`);
    await untilState(runtime, run.id, 'awaiting_approval');
    await approveGate(run);
    await untilRun(runtime, run.id, 'promote step done', (current) =>
      ['succeeded', 'failed'].includes(current.steps[RDS_STEP.promote]?.state ?? ''),
    );
    expect(aws.rds.instance(`${pair}-replica`)).toMatchObject({
      status: held === 'stale' ? 'available' : 'modifying',
      sourceId: `${pair}-primary`,
    });
    clock.advance(HOUR);
    return untilFinished(runtime, run.id);
  }

  test('a lost PromoteReadReplica response: the retry describes first and does not send it again', async () => {
    // The request was accepted (RDS shows `modifying`), the answer never arrived: the step fails
    // retryably and a NEW attempt runs (resumed = false). Describe-first sees the promotion.
    const done = await runWithLostPromoteAnswer('modifying');

    expect(done.state).toBe('succeeded');
    expect(done.steps[RDS_STEP.promote]).toMatchObject({
      retries: 1,
      attempt: 2,
      output: { result: 'in_progress' },
    });
    expect(aws.rds.count('PromoteReadReplica')).toBe(1);
    expect(aws.accepted('PromoteReadReplica')).toBe(1);
  });

  test('a lost response while describe still shows an available replica: effective once, RDS refuses any resend', async () => {
    // Same, but RDS's describe lags the accepted request (stale `available` with its source).
    // The retry knows from the recorded failure that the request may have gone out: it describes
    // and waits; should anything resend, RDS would refuse it (InvalidDBInstanceState).
    const done = await runWithLostPromoteAnswer('stale');

    expect(done.state).toBe('succeeded');
    expect(done.steps[RDS_STEP.promote]).toMatchObject({ retries: 1, output: { result: 'in_progress' } });
    expect(aws.accepted('PromoteReadReplica')).toBe(1);
    const promotes = aws.commands().filter((command) => command.startsWith('PromoteReadReplica'));
    expect(promotes[0]).toBe('PromoteReadReplica!lost-response');
    for (const resend of promotes.slice(1)) expect(resend).toBe('PromoteReadReplica!InvalidDBInstanceState');
    expect(aws.rds.instance('orders-replica')?.sourceId).toBeNull();
  });

  // "Never again by an attempt that may already have sent them": an attempt after a lost answer
  // may have sent PromoteReadReplica too, so the next attempt describes and waits.
  test('a retry after a lost PromoteReadReplica response never sends it a second time', async () => {
    const done = await runWithLostPromoteAnswer('stale');
    expect(done.state).toBe('succeeded');
    expect(aws.rds.count('PromoteReadReplica')).toBe(1);
  });

  test('production clients: a lost PromoteReadReplica answer is sent again neither by the SDK nor by the step', async () => {
    // The adapter sends irreversible requests once per call; the SDK's standard retry would have
    // sent it a second time after the connection reset.
    const done = await runWithLostPromoteAnswer('modifying', 'ledger');

    expect(done.state).toBe('succeeded');
    expect(done.steps[RDS_STEP.promote]).toMatchObject({
      retries: 1,
      attempt: 2,
      output: { result: 'in_progress' },
    });
    expect(aws.rds.commands(0, ['DescribeDBInstances'])).toEqual(['PromoteReadReplica!lost-response']);
  });

  // An error the adapter does not recognise after RDS accepted the request: the outcome is unknown,
  // so the run looks again (describe, then verify) instead of failing an irreversible call.
  test('an unrecognised error after RDS accepted PromoteReadReplica does not fail the run', async () => {
    replicaPair({ stale: 0, modifying: 2, rebooting: 1 });
    // RDS carries it out; the answer arrives cut short and the SDK cannot parse it.
    aws.rds.garbleNextResponse('PromoteReadReplica');
    const done = await runThroughGate('orders-rds', RDS_STEP.gate);
    // RDS accepted it: the replica is on its way to standalone whatever the run says.
    expect(aws.accepted('PromoteReadReplica')).toBe(1);
    expect(done.state).toBe('succeeded');
  });

  test('AccessDenied on PromoteReadReplica is fatal: the run fails with the refusal', async () => {
    replicaPair();
    aws.rds.deny('PromoteReadReplica');

    const done = await runThroughGate('orders-rds', RDS_STEP.gate);

    expect(done.state).toBe('failed');
    expect(done.outcome).toBe(
      'Promote orders-replica failed: AccessDenied: User: arn:aws:iam::123456789012:user/cutover-bot ' +
        'is not authorized to perform: rds:PromoteReadReplica',
    );
    expect(done.steps[RDS_STEP.promote]).toMatchObject({ state: 'failed', retries: 0, attempt: 1 });
    expect(done.steps[RDS_STEP.waitPromoted]?.state).toBe('skipped');
    expect(aws.rds.count('PromoteReadReplica')).toBe(1);
    expect(aws.rds.count('PromoteReadReplica', 'ok')).toBe(0);
    expect(aws.rds.instance('orders-replica')?.sourceId).toBe('orders-primary');
  });
});

describe('RDS promotion without a fence', () => {
  test('no SQL access and no allowDataLoss: refused at the preflight, nothing promoted', async () => {
    replicaPair();
    const refusal =
      'no SQL access to orders-primary: the bot can neither fence it nor prove that orders-replica has every write. ' +
      'Give rds.sql (the PostgreSQL URLs of source and replica), or set allowDataLoss: true to promote without a fence';
    // The dry run says so before anyone starts.
    expect(await strategy.preflight(targetOf(runtime, 'orders-unfenced'))).toContainEqual({
      name: 'no write lost',
      ok: false,
      detail: refusal,
    });

    const run = await startRun(runtime, 'orders-unfenced');
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('failed');
    expect(done.outcome).toBe(
      `Preflight: orders-replica replicates orders-primary failed: preflight refused: ${refusal}`,
    );
    expect(done.steps.slice(1).every((step) => step.state === 'skipped')).toBe(true);
    expect(aws.rds.count('PromoteReadReplica')).toBe(0);
  });

  test('the plan says what may be lost: the gate is about data loss', () => {
    const plan = strategy.plan(targetOf(runtime, 'orders-rds'));
    expect(plan.steps[RDS_STEP.gate]).toMatchObject({
      title: 'Approve: promote orders-replica without a fence (writes can be lost)',
      destructive: true,
    });
    expect(plan.steps[RDS_STEP.gate]?.warning).toContain('ReplicaLag at the re-check (under 5 s');
    expect(plan.warnings?.join(' ')).toContain('No fence (no SQL access)');
  });

  test('a promoted replica that is backing-up serves: the wait ends there', async () => {
    aws.reset({ ...promotionPhases({ modifying: 1, rebooting: 1 }), promoteBackingUpMs: 3_600_000 });
    aws.rds.addInstance('orders-primary').addReplica('orders-replica', 'orders-primary');
    aws.lag('orders-replica', 1);

    const done = await runThroughGate('orders-rds', RDS_STEP.gate);

    expect(done.state).toBe('succeeded');
    expect(done.steps[RDS_STEP.waitPromoted]?.output).toMatchObject({ status: 'backing-up' });
    expect(aws.rds.instance('orders-replica')).toMatchObject({ status: 'backing-up', sourceId: null });
  });
});

describe('RDS parity in the plan', () => {
  test('the replica beside its source, and what happens to the other replicas', async () => {
    aws.reset();
    aws.rds
      .addInstance('orders-primary', {
        settings: { DBInstanceClass: 'db.r6g.xlarge', MultiAZ: true, DBParameterGroupName: 'orders-pg15' },
        deletionProtection: true,
      })
      .addReplica('orders-replica', 'orders-primary')
      .addReplica('orders-replica-2', 'orders-primary')
      .addReplica('orders-replica-cascade', 'orders-replica');
    aws.lag('orders-replica', 1);

    const checks = await strategy.preflight(targetOf(runtime, 'orders-rds'));

    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(checks).toContainEqual({
      name: 'parity',
      ok: true,
      detail:
        '5 setting(s) differ: instance class, Multi-AZ, backup retention, deletion protection, parameter group',
    });
    const warnings = checks.filter((check) => check.warning).map((check) => check.detail);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'instance class: orders-primary db.r6g.xlarge, orders-replica db.t3.medium (the new primary runs on the replica’s class)',
        'Multi-AZ: orders-primary on, orders-replica off (the new primary has no standby in another zone until it is modified to Multi-AZ)',
        'deletion protection: orders-primary on, orders-replica off (the new primary can be deleted by mistake until deletion protection is turned on)',
        'parameter group: orders-primary orders-pg15, orders-replica default.postgres15 (the new primary keeps the replica’s parameters)',
        'orders-replica-2 also replicates orders-primary: they keep following the old source (RDS cannot re-point a read replica), ' +
          'and stop receiving writes once clients move; recreate them as replicas of the new primary',
        'orders-replica-cascade replicates orders-replica: they go on replicating it as the new primary',
      ]),
    );
  });
});

describe('RDS preflight refusals: the run fails before any mutating call', () => {
  const check = 'orders-replica is a promotable replica of orders-primary';
  const cases: { name: string; setUp: () => void; blocker: string }[] = [
    {
      name: 'a replica of another primary',
      setUp: () => {
        aws.rds
          .addInstance('orders-primary')
          .addInstance('billing-primary')
          .addReplica('orders-replica', 'billing-primary');
      },
      blocker: 'orders-replica replicates from billing-primary, not from orders-primary',
    },
    {
      name: 'a replica that is backing up',
      setUp: () => {
        aws.rds
          .addInstance('orders-primary')
          .addReplica('orders-replica', 'orders-primary', { status: 'backing-up' });
      },
      blocker: 'orders-replica is backing up; promotion waits for the backup',
    },
    {
      name: 'a replica that does not exist',
      setUp: () => {
        aws.rds.addInstance('orders-primary');
      },
      blocker: 'the replica does not exist',
    },
  ];

  test.each(cases)('$name', async ({ setUp, blocker }) => {
    aws.reset();
    setUp();
    aws.lag('orders-replica', 0);

    // The dry run (`/cutover plan`) says the same, read-only.
    expect(await strategy.preflight(targetOf(runtime, 'orders-rds'))).toEqual([
      { name: check, ok: false, detail: blocker },
    ]);

    const run = await startRun(runtime, 'orders-rds');
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('failed');
    expect(done.outcome).toBe(
      `Preflight: orders-replica replicates orders-primary failed: preflight refused: ${blocker}`,
    );
    expect(done.steps.map((step) => step.state)).toEqual([
      'failed',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
    // Only describes reached RDS (the missing replica's describe is answered DBInstanceNotFound).
    expect(aws.commands().every((command) => command.startsWith('DescribeDBInstances'))).toBe(true);
  });
});

describe('RDS Blue/Green switchover', () => {
  /**
   * On a ManualClock that moves one look per describe: a switchover lasting two looks is seen in
   * progress by the wait however slowly this machine runs the steps.
   */
  function deployment(options: Partial<BlueGreenOptions> = {}): void {
    const clock = new ManualClock();
    aws.reset(promotionPhases(), clock);
    advancePerCall(aws.rds, 'DescribeBlueGreenDeployments', clock, LOOK_MS);
    aws.rds.addInstance('orders-blue').addInstance('orders-green');
    aws.rds.addBlueGreen('bgd-abc123', { source: 'orders-blue', target: 'orders-green', ...options });
  }

  test('completed: switches over once with the configured timeout, run succeeded', async () => {
    deployment({ switchover: { result: 'completed', durationMs: 3 * LOOK_MS } });
    const done = await runThroughGate('orders-bg', BG_STEP.gate);

    expect(done.state).toBe('succeeded');
    expect(done.steps[BG_STEP.preflight]?.output).toEqual({
      status: 'AVAILABLE',
      source: aws.rds.arn('orders-blue'),
      target: aws.rds.arn('orders-green'),
      warnings: [
        'Blue/Green replicates with logical replication: DDL run on blue after the deployment was created (CREATE, ALTER, DROP) does not reach green; make no schema change until the switchover',
        'large objects are not replicated to green, nor UPDATE/DELETE of tables without a primary key: not checked (give sql.blue to check them)',
      ],
    });
    expect(done.steps[BG_STEP.switchover]?.output).toMatchObject({ result: 'switched' });
    expect(done.steps[BG_STEP.wait]?.output).toEqual({
      outcome: 'SWITCHOVER_COMPLETED',
      report: ':white_check_mark: bgd-abc123: switchover completed; green serves.',
    });
    expect(aws.rds.count('SwitchoverBlueGreenDeployment')).toBe(1);
    expect(aws.rds.deployment('bgd-abc123')?.switchoverTimeout).toBe(300);
    expect(aws.commands().slice(0, 4)).toEqual([
      'DescribeBlueGreenDeployments', // preflight
      'DescribeBlueGreenDeployments', // describe-first
      'SwitchoverBlueGreenDeployment',
      'DescribeBlueGreenDeployments', // the wait
    ]);
  });

  test('SWITCHOVER_FAILED: the run fails, says blue still serves, never reports success', async () => {
    deployment({ switchover: { result: 'failed', durationMs: 2 * LOOK_MS } });
    const done = await runThroughGate('orders-bg', BG_STEP.gate);

    expect(done.state).toBe('failed');
    expect(done.outcome).toBe(
      'Wait for the switchover to complete failed: switchover of bgd-abc123 ended SWITCHOVER_FAILED ' +
        '(Switchover failed: the green environment could not be promoted.); blue still serves',
    );
    expect(done.steps[BG_STEP.wait]).toMatchObject({ state: 'failed', retries: 0 });
    expect(JSON.stringify(done.steps[BG_STEP.wait]?.output ?? null)).not.toContain('COMPLETED');
    expect(aws.rds.count('SwitchoverBlueGreenDeployment')).toBe(1);
  });

  test('rolled back by RDS: the run fails, says blue still serves', async () => {
    deployment({ switchover: { result: 'rolled_back', durationMs: 2 * LOOK_MS } });
    const done = await runThroughGate('orders-bg', BG_STEP.gate);

    expect(done.state).toBe('failed');
    expect(done.outcome).toMatch(
      /^Wait for the switchover to complete failed: switchover of bgd-abc123 ended ROLLED_BACK/,
    );
    expect(done.outcome).toMatch(/; blue still serves$/);
    expect(aws.rds.count('SwitchoverBlueGreenDeployment')).toBe(1);
  });

  test.each([
    { name: 'still provisioning', options: { status: 'PROVISIONING' }, status: 'PROVISIONING' },
    {
      name: 'a task still running',
      options: { tasks: [{ name: 'CREATING_READ_REPLICA_OF_SOURCE', status: 'IN_PROGRESS' }] },
      status: 'AVAILABLE',
    },
  ])('not ready ($name): preflight refuses, no switchover', async ({ options, status }) => {
    deployment(options);
    const run = await startRun(runtime, 'orders-bg');
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('failed');
    expect(done.outcome).toBe(
      `Preflight: bgd-abc123 is ready failed: Blue/Green deployment bgd-abc123 is not ready to switch over (${status})`,
    );
    expect(done.steps.map((step) => step.state)).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
    expect(aws.rds.count('SwitchoverBlueGreenDeployment')).toBe(0);
  });
});
