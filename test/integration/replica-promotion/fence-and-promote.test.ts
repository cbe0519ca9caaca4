// The fence-and-promote executor on real pairs, attempt by attempt: how a first, a repeated, a
// resumed and a continued attempt decide from what they find on both servers. The full runs
// (self-managed.test.ts, crash-after-promote.test.ts, the fault suite) drive it through the engine;
// here each decision is set up exactly and checked on the servers afterwards.
import { Client } from 'pg';
import pino from 'pino';
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { ReplicationProbe } from '../../faults/support/replication-probe';
import { parseTargets } from '../../../src/config/targets';
import type { TargetConfig } from '../../../src/config/types';
import { StepFailure } from '../../../src/engine/failures';
import { createRun } from '../../../src/engine/transition';
import type { JsonObject } from '../../../src/engine/types';
import { systemClock } from '../../../src/ports/clock';
import { configSchemasOf } from '../../../src/strategies';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { registryOf, type StepResult, type Strategy } from '../../../src/strategies/types';
import { startPgPair, startWriter, type PgPair, type Writer } from '../../support/services/pg-pair';
import { waitFor } from '../../support/wait-for';

const replication = new PgReplication();
/** What the executor calls, recorded (the real port underneath). */
const probe = new ReplicationProbe(replication);
const env: NodeJS.ProcessEnv = {};
/** The executor's wall clock; a case moves it to make the catch-up timeout pass. */
let clockOffsetMs = 0;
const pairs: PgPair[] = [];
let strategy: Strategy;
let target: TargetConfig;

beforeAll(() => {
  env['FP_PRIMARY'] = 'postgres://unset';
  env['FP_STANDBY'] = 'postgres://unset';
  strategy = createReplicaPromotion({
    replication: probe,
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
    clock: { now: () => new Date(Date.now() + clockOffsetMs) },
  });
  const parsed = parseTargets(
    `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: fp-db
    strategy: replica-promotion
    postgres: { primary: env:FP_PRIMARY, standby: env:FP_STANDBY, catchUpTimeout: 2m }
`,
    'fp.yaml',
    { env, strategies: configSchemasOf(registryOf([strategy])) },
  );
  target = parsed.targets[0] as TargetConfig;
});

beforeEach(() => {
  clockOffsetMs = 0;
});

afterAll(async () => {
  for (const pair of pairs) await pair.destroy();
});

async function freshPair(): Promise<PgPair> {
  const pair = await startPgPair();
  pairs.push(pair);
  env['FP_PRIMARY'] = pair.primaryUrl;
  env['FP_STANDBY'] = pair.standbyUrl;
  return pair;
}

interface Attempt {
  attempt?: number;
  resumed?: boolean;
  humanOverride?: boolean;
  /** What an earlier attempt of the step left (a `wait` result's output). */
  output?: JsonObject | null;
  /** The needs-human decision a person approved (the failure that opened the gate). */
  approvedDecision?: string;
}

/** One execution of the step, as the step processor would make it. */
function execute(options: Attempt = {}): Promise<StepResult> {
  const plan = strategy.plan(target);
  const run = createRun({
    id: '00000000-0000-4000-8000-000000000001',
    plan,
    requestedBy: 'U0REQUESTER',
    channel: 'C0TEST0001',
    policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at: new Date().toISOString(),
  });
  const index = plan.steps.findIndex((spec) => spec.name === FENCE_AND_PROMOTE_STEP);
  const step = run.steps[index]!;
  step.state = 'running';
  step.attempt = options.attempt ?? 1;
  step.startedAt = new Date().toISOString();
  step.output = options.output ?? null;
  step.humanOverride = options.humanOverride ?? false;
  if (options.approvedDecision) {
    step.error = {
      class: 'needs_human',
      message: 'earlier refusal',
      detail: { decision: options.approvedDecision },
    };
  }
  run.state = 'running';
  run.currentStep = index;
  const executor = strategy.executors[step.spec.executor!]!;
  return executor.execute({
    run,
    step,
    target,
    attempt: step.attempt,
    resumed: options.resumed ?? false,
    humanOverride: step.humanOverride,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    saveProgress: (saved) => {
      step.output = saved;
      return Promise.resolve();
    },
  });
}

async function failureOf(result: Promise<unknown>): Promise<StepFailure> {
  const error = await result.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof StepFailure)) throw new Error(`expected a step failure, got ${String(error)}`);
  return error;
}

async function sql<T extends object>(url: string, text: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

async function timelineOf(url: string): Promise<number> {
  return (await replication.verifyPromoted(url)).timeline;
}

/** A fresh pair under writes, replay paused, and a first attempt that fenced and had to wait. */
async function fencedWhileReplayPaused(): Promise<{ pair: PgPair; writer: Writer; waiting: StepResult }> {
  const pair = await freshPair();
  const writer = await startWriter(pair.primaryUrl, 'orders');
  await waitFor('writes flowing', async () => (writer.acknowledged.length > 20 ? true : undefined));
  await pair.pauseReplay();
  const waiting = await execute();
  await writer.stop();
  return { pair, writer, waiting };
}

/** Writes the old primary acknowledged that are not on the new one. */
async function lostWrites(pair: PgPair, writer: Writer): Promise<number[]> {
  const rows = await sql<{ id: number }>(pair.standbyUrl, 'SELECT id FROM orders');
  const present = new Set(rows.map((row) => Number(row.id)));
  return writer.acknowledged.filter((id) => !present.has(id));
}

test('standby already out of recovery and this run never requested pg_promote: nothing is fenced, first or repeated attempt; with the old primary writable it says two primaries', async () => {
  const pair = await freshPair();
  await sql(pair.standbyUrl, 'SELECT pg_promote(true)');

  for (const attempt of [1, 2]) {
    const refused = await failureOf(execute({ attempt }));
    expect(refused.failureClass).toBe('needs_human');
    expect(refused.message).toMatch(/two primaries\. This run did not promote it/);
    expect(await replication.verifyFenced(pair.primaryUrl)).toBe(false);
  }
  // Someone fenced the old primary by hand meanwhile: still not this run's promotion, so nothing is done.
  await sql(pair.primaryUrl, 'ALTER SYSTEM SET default_transaction_read_only = on');
  await sql(pair.primaryUrl, 'SELECT pg_reload_conf()');
  await waitFor(
    'the reload',
    async () => (await replication.describe(pair.primaryUrl)).readOnly || undefined,
  );
  const fenced = await failureOf(execute({ attempt: 3 }));
  expect(fenced.message).toMatch(
    /already out of recovery \(promoted by someone else\?\); this run did not promote it/,
  );
  expect(await timelineOf(pair.standbyUrl)).toBe(2);
});

test('resumed after a promotion it had requested (recorded before pg_promote; old primary fenced): verifies, does not promote again', async () => {
  const pair = await freshPair();
  const { finalLsn } = await replication.fence(pair.primaryUrl);
  await waitFor('standby caught up', async () =>
    (await replication.bytesBehind(pair.standbyUrl, finalLsn)) === 0 ? true : undefined,
  );
  await replication.promote(pair.standbyUrl, 30_000);

  const result = await execute({
    resumed: true,
    output: { mode: 'sql', lockedRoles: [], finalLsn, fenced: true, promoteRequested: true },
  });
  expect(result).toMatchObject({ type: 'done', output: { alreadyPromoted: true, timeline: 2 } });
  // A second promotion would have needed recovery again and made timeline 3.
  expect(await timelineOf(pair.standbyUrl)).toBe(2);
  expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);
});

test('catch-up longer than its inline second: waits with the final position; the next attempt checks that the fence holds (no new fence) and promotes with every write', async () => {
  const { pair, writer, waiting } = await fencedWhileReplayPaused();
  expect(waiting).toMatchObject({
    type: 'wait',
    output: { phase: 'catching up', finalLsn: expect.any(String), fencedAtMs: expect.any(Number) },
  });
  expect(await replication.verifyFenced(pair.primaryUrl)).toBe(true);
  expect((await replication.describe(pair.standbyUrl)).inRecovery).toBe(true);

  await pair.resumeReplay();
  const fencesBefore = probe.calls.filter((call) => call.method === 'fence').length;
  const done = await execute({ attempt: 2, output: waiting.output ?? null });
  expect(done).toMatchObject({ type: 'done', output: { alreadyPromoted: false, timeline: 2 } });
  // Checked, not fenced again (no ALTER SYSTEM, reload and terminations every 50 ms while waiting).
  expect(probe.calls.filter((call) => call.method === 'fence').length).toBe(fencesBefore);
  expect(probe.calls.some((call) => call.method === 'fenceCheck')).toBe(true);
  // The window is measured from the first fence, not from this attempt's; its fence part is the
  // first fence's, and the waiting (with this attempt's check of the fence) counts as catch-up.
  expect(done.output?.['fencedAtMs']).toBe(waiting.output?.['fencedAtMs']);
  const phases = done.output?.['phasesMs'] as { fence: number; catchUp: number; promote: number };
  expect(phases.fence).toBe(waiting.output?.['fenceMs']);
  expect(phases.catchUp).toBeGreaterThanOrEqual(1000);
  expect(phases.fence + phases.catchUp + phases.promote).toBe(
    Number(done.output?.['writableAtMs']) - Number(done.output?.['fencedAtMs']),
  );

  expect(writer.acknowledged.length).toBeGreaterThan(20);
  expect(await lostWrites(pair, writer)).toEqual([]);
});

test('continued with the old primary gone: a person must vouch for it (Retry anyway), then the earlier final position is used; past catchUpTimeout it stops', async () => {
  const { pair, writer, waiting } = await fencedWhileReplayPaused();
  expect(waiting.type).toBe('wait');

  // Still paused, and the catch-up timeout (2 min) has passed since the fence.
  clockOffsetMs = 3 * 60_000;
  const late = await failureOf(execute({ attempt: 2, output: waiting.output ?? null }));
  expect(late.failureClass).toBe('needs_human');
  expect(late.message).toMatch(/has not replayed the fenced primary's WAL .* not promoting/);
  clockOffsetMs = 0;

  await pair.stopPrimary('immediate');
  const unsure = await failureOf(execute({ attempt: 3, output: waiting.output ?? null }));
  expect(unsure.failureClass).toBe('needs_human');
  expect(unsure.message).toMatch(/could not check the fence on the primary/);
  expect(unsure.options.detail).toEqual({ decision: 'primary_unreachable' });
  expect((await replication.describe(pair.standbyUrl)).inRecovery).toBe(true);

  await pair.resumeReplay();
  const done = await execute({
    attempt: 4,
    humanOverride: true,
    approvedDecision: 'primary_unreachable',
    output: waiting.output ?? null,
  });
  expect(done).toMatchObject({
    type: 'done',
    output: { finalLsn: waiting.output?.['finalLsn'], alreadyPromoted: false, timeline: 2 },
  });
  expect(writer.acknowledged.length).toBeGreaterThan(20);
  expect(await lostWrites(pair, writer)).toEqual([]);
});
