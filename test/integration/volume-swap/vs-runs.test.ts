// Whole volume-swap runs through the real runtime: PostgreSQL store, BullMQ on Redis, the step
// worker, the real strategy, AwsEc2Adapter (EC2 = the AWS emulator, over HTTP through the SDK),
// the real ProbeHealthChecker against a local TCP "database" per server (FakeDatabase, see
// vs-runtime.ts). vs-postgres.test.ts does the same with real PostgreSQL servers.
import { writeFileSync } from 'node:fs';

import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { ec2Error, isDryRun, unauthorizedOperationMessage } from '../../support/services/aws/emulator';
import { APPROVER, REQUESTER } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import {
  closeDatabases,
  createDatabases,
  DEVICE,
  Ec2World,
  FAST_DURATIONS,
  FROM,
  HookFiles,
  runsOn,
  startRun,
  startVsRuntime,
  stopVsRuntime,
  targetsYaml,
  TO,
  untilFinished,
  untilRun,
  VOL,
  volumeSwap,
  vsEnv,
  VS_STEP,
  type Databases,
  approveGate,
  needsHumanOn,
} from './vs-runtime';

const schema = freshSchemaName('t_vs_runs');
const world = new Ec2World();
const hooks = new HookFiles();
let dbs: Databases;
let runtime: Runtime;

beforeAll(async () => {
  dbs = await createDatabases();
  const env = vsEnv(dbs);
  runtime = await startVsRuntime({
    schema,
    queueName: freshQueueName('vs-runs'),
    strategy: volumeSwap(world.adapter(), env),
    yaml: targetsYaml(dbs, hooks),
    env,
  });
});

afterEach(async () => {
  for (const active of await runtime.store.listActiveRuns()) {
    await runtime.runs.abort(active.id, APPROVER, 'test cleanup');
    await untilFinished(runtime, active.id, 60_000).catch(() => undefined);
  }
  dbs.from.unfollow();
  dbs.to.unfollow();
});

afterAll(async () => {
  await stopVsRuntime(runtime, schema);
  await closeDatabases(dbs);
  await world.close();
  hooks.remove();
});

/** Each server's database runs while EC2 shows it running with the volume (only on `on`). */
async function databaseFollowsEc2(on: readonly string[] = [FROM, TO]): Promise<void> {
  dbs.from.follow(() => on.includes(FROM) && runsOn(world.ec2, FROM));
  dbs.to.follow(() => on.includes(TO) && runsOn(world.ec2, TO));
  await untilUp(dbs.from, runsOn(world.ec2, FROM));
}

/** Each server's database runs while its hook flag says up (`to` only while `toAnswers`). */
async function databaseFollowsHooks(toAnswers: () => boolean = () => true): Promise<void> {
  dbs.from.follow(() => hooks.runningOn(FROM));
  dbs.to.follow(() => hooks.runningOn(TO) && toAnswers());
  await untilUp(dbs.from, hooks.runningOn(FROM));
}

function setFlags(from: string, to: string): void {
  writeFileSync(hooks.flagOf(FROM), `${from}\n`);
  writeFileSync(hooks.flagOf(TO), `${to}\n`);
}

async function untilUp(db: Databases['from'], up: boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (db.up !== up) {
    if (Date.now() > deadline) throw new Error(`database never ${up ? 'up' : 'down'}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function approve(run: Run, step: number, round = 1): Promise<void> {
  return approveGate(runtime, run, step, round);
}

async function startAndApprove(
  target = 'orders-vol',
  beforeApproval: () => void = () => undefined,
): Promise<Run> {
  const run = await startRun(runtime, target);
  const atGate = await untilRun(
    runtime,
    run.id,
    'at the planned gate',
    (current) => current.state === 'awaiting_approval',
  );
  expect(atGate.currentStep).toBe(VS_STEP.gate);
  expect(atGate.steps[VS_STEP.gate]?.gate).toMatchObject({ reason: 'planned', round: 1 });
  beforeApproval();
  await approve(run, VS_STEP.gate);
  return run;
}

const SNAPSHOT = `CreateSnapshot ${VOL}`;
const STOP_FROM = `StopInstances ${FROM}`;
const DETACH_FROM = `DetachVolume ${VOL} ${FROM} force=false`;
const ATTACH_TO = `AttachVolume ${VOL} ${TO} ${DEVICE}`;
const START_TO = `StartInstances ${TO}`;

describe('volume swap: whole runs', () => {
  test('happy path: gate, stop, proven down, snapshot (not waited for), detach once, attach once, start, report', async () => {
    // A snapshot takes an hour here: the run must not wait for it.
    world.standard({ ...FAST_DURATIONS, snapshotMs: 3_600_000 });
    await databaseFollowsEc2();
    const run = await startRun(runtime, 'orders-vol');
    const atGate = await untilRun(
      runtime,
      run.id,
      'at the gate',
      (current) => current.state === 'awaiting_approval',
    );
    expect(atGate.currentStep).toBe(VS_STEP.gate);
    // Nothing acts before the approval; the preflight's DryRuns acted on nothing.
    expect(world.ec2.actions()).toEqual([]);
    expect(world.ec2.count('AttachVolume', 'DryRunOperation')).toBe(1);
    expect(world.ec2.count('DetachVolume', 'DryRunOperation')).toBe(1);
    expect(world.ec2.count('CreateSnapshot', 'DryRunOperation')).toBe(1);

    // The requester cannot approve their own run.
    expect((await runtime.runs.approve(run.id, VS_STEP.gate, 1, REQUESTER)).ok).toBe(false);
    await approve(run, VS_STEP.gate);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.outcome).toBeNull();
    expect(done.steps.map((step) => step.state)).toEqual(Array(7).fill('succeeded'));
    // The snapshot comes after the stop (of the stopped database), before the detach.
    expect(world.ec2.actions()).toEqual([STOP_FROM, SNAPSHOT, DETACH_FROM, ATTACH_TO, START_TO]);
    expect(world.ec2.count('DetachVolume', 'ok')).toBe(1);
    expect(world.ec2.count('AttachVolume', 'ok')).toBe(1);
    expect(world.ec2.history().filter((line) => !line.includes('dryRun'))).toEqual(world.ec2.actions());
    expect(world.ec2.volume(VOL)?.attachments).toEqual([
      { instanceId: TO, device: DEVICE, state: 'attached' },
    ]);
    expect(world.ec2.instance(FROM)?.state).toBe('stopped');
    expect(dbs.to.up).toBe(true);
    expect(dbs.from.up).toBe(false);

    const [snapshotId] = world.ec2.snapshotIds();
    const stopped = done.steps[VS_STEP.stop]?.output;
    expect(stopped?.['snapshotIds']).toEqual({ [VOL]: snapshotId });
    expect(world.ec2.snapshot(String(snapshotId))?.state).toBe('pending');
    // Down: the instance stopped and three refused connections in a row.
    expect(stopped?.['downBecause']).toMatch(/^3 × refused: .*ECONNREFUSED/);
    const report = done.steps[VS_STEP.report]?.output;
    expect(typeof report?.['writeUnavailableMs']).toBe('number');
    expect(report?.['writeUnavailableMs']).toBeGreaterThan(0);
    expect(report?.['report']).toMatch(
      /Write-unavailable window \(stop → healthy with the right data\): \d+\.\d s/,
    );
    expect(report?.['report']).toContain(`${String(snapshotId)} of ${VOL}: pending`);
    expect(report?.['report']).toContain('not verified (the health check of to does not read it)');
  });

  test('a snapshot before the gate is requested, not waited for; the one after the stop too', async () => {
    world.standard({ ...FAST_DURATIONS, snapshotMs: 3_600_000 });
    await databaseFollowsEc2();
    const run = await startRun(runtime, 'presnap-vol');
    // One step more before the gate: the snapshot of the running database.
    const atGate = await untilRun(
      runtime,
      run.id,
      'at the gate',
      (current) => current.state === 'awaiting_approval',
    );
    expect(atGate.currentStep).toBe(VS_STEP.gate + 1);
    expect(world.ec2.actions()).toEqual([SNAPSHOT]);
    const [before] = world.ec2.snapshotIds();
    expect(world.ec2.snapshot(String(before))?.state).toBe('pending');
    expect(atGate.steps[1]).toMatchObject({ state: 'succeeded', output: { snapshotIds: { [VOL]: before } } });
    expect(atGate.steps[1]?.output?.['report']).toContain('not waited for');

    await approve(run, VS_STEP.gate + 1);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('succeeded');
    expect(world.ec2.actions()).toEqual([SNAPSHOT, STOP_FROM, SNAPSHOT, DETACH_FROM, ATTACH_TO, START_TO]);
    const [, after] = world.ec2.snapshotIds();
    expect(done.steps.at(-1)?.output?.['report']).toContain(`${String(before)} of ${VOL}: pending`);
    expect(done.steps.at(-1)?.output?.['report']).toContain(`${String(after)} of ${VOL}: pending`);
  });

  test('hook stop/start: the hooks bring the database down and up; EC2 only moves the volume', async () => {
    // The hooks write a flag file per server; each fake database listens while its flag says "up".
    // The instances stay running (the hooks stop the database, not the server).
    world.standard(undefined, { state: 'running' });
    setFlags('up', 'down');
    await databaseFollowsHooks();
    const [fromBefore, toBefore] = [dbs.from.changes.length, dbs.to.changes.length];
    const linesBefore = hooks.lines().length;

    const run = await startAndApprove('ledger-vol');
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(world.ec2.actions()).toEqual([SNAPSHOT, DETACH_FROM, ATTACH_TO]);
    expect(hooks.lines().slice(linesBefore)).toEqual([`stop ${FROM}`, `start ${TO}`]);
    expect(dbs.from.changes.slice(fromBefore)).toEqual(['down']);
    expect(dbs.to.changes.slice(toBefore)).toEqual(['up']);
    expect(done.steps[VS_STEP.report]?.output?.['writeUnavailableMs']).toBeGreaterThan(0);
  });

  test('a from probe that times out is not down: a needs-human gate, nothing detached; a person vouching lets it go on', async () => {
    // from's health is PostgreSQL on a port that accepts and never answers: the stop hook "worked",
    // but a hung server cannot be told from a stopped one that way.
    world.standard(undefined, { state: 'running' });
    setFlags('up', 'down');
    dbs.from.follow(() => true);
    dbs.to.follow(() => hooks.runningOn(TO));
    await untilUp(dbs.from, true);
    const run = await startAndApprove('hung-vol');

    const paused = await untilRun(
      runtime,
      run.id,
      'needs-human gate on the stop',
      needsHumanOn(VS_STEP.stop),
    );
    const gate = paused.steps[VS_STEP.stop]?.gate;
    expect(gate?.message).toContain(`the database on ${FROM} is not proven down after the stop`);
    expect(gate?.message).toMatch(/the check saw timeout: timeout after 300 ms/);
    expect(gate?.message).toContain('Retry anyway only if you know it is down');
    expect(paused.steps[VS_STEP.stop]?.error?.detail).toEqual({ decision: 'not_down', reach: 'timeout' });
    // Not a single mutating call: no snapshot, no detach.
    expect(world.ec2.actions()).toEqual([]);
    expect(paused.steps[VS_STEP.detach]?.state).toBe('pending');

    await approve(run, VS_STEP.stop, gate?.round ?? 1);
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('succeeded');
    expect(done.steps[VS_STEP.stop]?.output?.['downBecause']).toMatch(/^a person vouched: timeout/);
    expect(world.ec2.actions()).toEqual([SNAPSHOT, DETACH_FROM, ATTACH_TO]);
  });

  test('a stuck undo reaches its gate: the rollback stops there, and no older undo acts', async () => {
    // The start hook fails on to; the person aborts. The rollback's stop on to "succeeds", but the
    // database there keeps answering: past stopTimeout the undo stops for a person, and the volume
    // is never pulled from under it.
    world.standard(undefined, { state: 'running' });
    setFlags('up', 'down');
    dbs.from.follow(() => hooks.runningOn(FROM));
    dbs.to.follow(() => true);
    await untilUp(dbs.from, true);
    const linesBefore = hooks.lines().length;
    const run = await startAndApprove('stuck-vol');

    const paused = await untilRun(
      runtime,
      run.id,
      'needs-human gate on the start',
      needsHumanOn(VS_STEP.start),
    );
    expect(paused.steps[VS_STEP.start]?.gate?.message).toContain(`the start hook on ${TO} did not succeed`);
    expect(paused.steps[VS_STEP.start]?.gate?.message).toContain('no such data directory');
    expect((await runtime.runs.abort(run.id, APPROVER, 'start failed')).ok).toBe(true);
    // The undo of the start cannot prove the database down on to: the rollback waits for a person.
    const stuck = await untilRun(
      runtime,
      run.id,
      "the undo's needs-human gate",
      (current) => needsHumanOn(VS_STEP.start)(current) && current.unwindTo !== null,
    );
    expect(stuck.steps[VS_STEP.start]?.error).toMatchObject({ class: 'needs_human' });
    expect(stuck.steps[VS_STEP.start]?.gate?.message).toMatch(
      new RegExp(
        `rollback: the database on ${TO} is not proven down \\d+ s after its stop \\(answers: accepted a connection\\)`,
      ),
    );
    // The person gives that undo up: the rollback stops there, and no older undo acts.
    expect((await runtime.runs.abort(run.id, APPROVER, 'to keeps running; fixing by hand')).ok).toBe(true);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('failed');
    expect(done.steps[VS_STEP.start]?.state).toBe('compensation_failed');
    for (const step of [VS_STEP.attach, VS_STEP.detach, VS_STEP.stop]) {
      expect(done.steps[step]?.state).toBe('compensation_failed');
      expect(done.steps[step]?.error?.message).toContain(
        `not attempted: the rollback stopped at "Stop the database on ${TO}"`,
      );
    }
    expect(done.outcome).toContain('manual action needed');
    // The volume stays on to; nothing was detached from it, nothing started on from.
    expect(world.ec2.actions()).toEqual([SNAPSHOT, DETACH_FROM, ATTACH_TO]);
    expect(world.ec2.volume(VOL)?.attachments[0]).toMatchObject({ instanceId: TO, state: 'attached' });
    expect(hooks.lines().slice(linesBefore)).toEqual([`stop ${FROM}`, `start ${TO}`, `stop ${TO}`]);
  });

  test('stuck detaching: a needs-human gate, no force on its own; approving force-detaches and completes', async () => {
    world.standard().stickDetach(VOL);
    await databaseFollowsEc2();
    const run = await startAndApprove();

    const paused = await untilRun(
      runtime,
      run.id,
      'needs-human gate on the detach',
      needsHumanOn(VS_STEP.detach),
    );
    const gate = paused.steps[VS_STEP.detach]?.gate;
    expect(gate).toMatchObject({ reason: 'needs_human' });
    expect(gate?.message).toContain(`${VOL} is still detaching on ${FROM}`);
    expect(gate?.message).toContain('force detach');
    expect(world.ec2.history().some((line) => line.includes('force=true'))).toBe(false);
    expect(world.ec2.actions()).toEqual([STOP_FROM, SNAPSHOT, DETACH_FROM]);
    expect(paused.steps[VS_STEP.attach]?.state).toBe('pending');

    await approve(run, VS_STEP.detach, gate?.round ?? 1);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    const forced = `DetachVolume ${VOL} ${FROM} force=true`;
    expect(world.ec2.actions().filter((line) => line === forced)).toHaveLength(1);
    // Sent once in all: later polls of the approved step wait, they do not force again.
    expect(world.ec2.history().filter((line) => line.includes('force=true'))).toHaveLength(1);
    expect(world.ec2.actions()).toEqual([STOP_FROM, SNAPSHOT, DETACH_FROM, forced, ATTACH_TO, START_TO]);
    expect(world.ec2.volume(VOL)?.attachments[0]).toMatchObject({ instanceId: TO, state: 'attached' });
  });

  test('throttled DescribeVolumes and AttachVolume beyond the SDK retries: the engine backs off, attaches once, completes', async () => {
    world.standard();
    await databaseFollowsEc2();
    // After the preflight: the next DescribeVolumes is the detach step's, then the attach is throttled,
    // each on all 5 attempts of the SDK's retry so that the executor sees it.
    const run = await startAndApprove('throttle-vol', () => {
      world.ec2.throttle('DescribeVolumes', { count: 5 }).throttle('AttachVolume', { count: 5 });
    });
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('succeeded');
    expect(done.steps[VS_STEP.detach]?.retries).toBe(1);
    expect(done.steps[VS_STEP.attach]?.retries).toBe(1);
    expect(world.ec2.count('DescribeVolumes', 'RequestLimitExceeded')).toBe(5);
    expect(world.ec2.count('AttachVolume', 'RequestLimitExceeded')).toBe(5);
    expect(world.ec2.count('AttachVolume', 'ok')).toBe(1);
    expect(world.ec2.count('DetachVolume', 'ok')).toBe(1);
    expect(world.ec2.actions()).toEqual([STOP_FROM, SNAPSHOT, DETACH_FROM, ATTACH_TO, START_TO]);
  });

  test('throttling with short timeouts: the detach and attach timeouts run from the request, not from the backoff', async () => {
    world.standard();
    await databaseFollowsEc2();
    // orders-vol has 1 s / 2 s detach/attach timeouts; the engine's throttling backoff is 2 s.
    const run = await startAndApprove('orders-vol', () => {
      world.ec2.throttle('DescribeVolumes', { count: 5 }).throttle('AttachVolume', { count: 5 });
    });
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('succeeded');
    expect(world.ec2.count('AttachVolume', 'ok')).toBe(1);
    expect(world.ec2.count('DetachVolume', 'ok')).toBe(1);
  });

  test('throttling during the preflight retries instead of refusing the run', async () => {
    world.standard();
    await databaseFollowsEc2();
    world.ec2.throttle('DescribeVolumes', { count: 5 });
    const run = await startRun(runtime, 'orders-vol');
    const atGate = await untilRun(runtime, run.id, 'at the gate', (r) => r.state === 'awaiting_approval');
    expect(atGate.steps[0]).toMatchObject({ state: 'succeeded', retries: 1 });
    await runtime.runs.abort(run.id, 'U0REQUESTER', 'test done');
    await untilFinished(runtime, run.id);
  });

  test('attach refused for good: the run fails, the volume goes back to from and the database starts there', async () => {
    world.standard();
    await databaseFollowsEc2();
    // EC2 refuses every AttachVolume to `to` (and only to `to`: the undo's re-attach to `from` works).
    const ec2 = world.ec2;
    ec2.failNext(
      'AttachVolume',
      ec2Error('InvalidParameterValue', 400, `Invalid value '${DEVICE}' for unixDevice.`),
      {
        count: Number.POSITIVE_INFINITY,
        when: (params) => params['InstanceId'] === TO && !isDryRun(params),
      },
    );
    const run = await startAndApprove();
    const done = await untilFinished(runtime, run.id, 80_000);

    expect(done.state).toBe('failed');
    expect(done.outcome).toContain(`Attach ${VOL} to ${TO} at ${DEVICE} failed`);
    expect(done.outcome).toContain('InvalidParameterValue');
    expect(done.steps[VS_STEP.attach]?.state).toBe('compensated');
    expect(done.steps[VS_STEP.detach]?.state).toBe('compensated');
    expect(done.steps[VS_STEP.stop]?.state).toBe('compensated');
    expect(done.steps[VS_STEP.start]?.state).toBe('skipped');
    expect(ec2.actions()).toEqual([
      STOP_FROM,
      SNAPSHOT,
      DETACH_FROM,
      `AttachVolume ${VOL} ${FROM} ${DEVICE}`,
      `StartInstances ${FROM}`,
    ]);
    expect(ec2.volume(VOL)?.attachments).toEqual([{ instanceId: FROM, device: DEVICE, state: 'attached' }]);
    expect(ec2.instance(FROM)?.state).toBe('running');
    expect(dbs.from.up).toBe(true);
  }, 90_000);

  test('never healthy on to: needs-human gate on the start; abort rolls back in order', async () => {
    world.standard();
    // The database does not come up on `to` (say, a broken config there); on `from` it does.
    await databaseFollowsEc2([FROM]);
    const run = await startAndApprove();

    const paused = await untilRun(
      runtime,
      run.id,
      'needs-human gate on the start',
      needsHumanOn(VS_STEP.start),
    );
    expect(paused.steps[VS_STEP.start]?.gate?.message).toContain(
      `the database on ${TO} has not become healthy`,
    );
    expect(world.ec2.actions()).toEqual([STOP_FROM, SNAPSHOT, DETACH_FROM, ATTACH_TO, START_TO]);

    const aborted = await runtime.runs.abort(run.id, APPROVER, 'not healthy on the new server');
    expect(aborted.ok).toBe(true);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('aborted');
    expect(done.outcome).toBe(`aborted by ${APPROVER}: not healthy on the new server`);
    expect(world.ec2.actions()).toEqual([
      STOP_FROM,
      SNAPSHOT,
      DETACH_FROM,
      ATTACH_TO,
      START_TO,
      `StopInstances ${TO}`,
      `DetachVolume ${VOL} ${TO} force=false`,
      `AttachVolume ${VOL} ${FROM} ${DEVICE}`,
      `StartInstances ${FROM}`,
    ]);
    expect(world.ec2.volume(VOL)?.attachments[0]).toMatchObject({ instanceId: FROM, state: 'attached' });
    expect(world.ec2.instance(TO)?.state).toBe('stopped');
    expect(dbs.from.up).toBe(true);
  });

  test('hook mode, never healthy on to: abort stops it there with the hook, moves the volume back and starts on from', async () => {
    world.standard(undefined, { state: 'running' });
    setFlags('up', 'down');
    // The database on `to` never answers (say, a broken config there).
    await databaseFollowsHooks(() => false);
    const hookLinesBefore = hooks.lines().length;
    const run = await startAndApprove('ledger-vol');

    await untilRun(runtime, run.id, 'needs-human gate on the start', needsHumanOn(VS_STEP.start));
    expect(hooks.lines().slice(hookLinesBefore)).toEqual([`stop ${FROM}`, `start ${TO}`]);

    const aborted = await runtime.runs.abort(run.id, APPROVER, 'not healthy on the new server');
    expect(aborted.ok).toBe(true);
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('aborted');
    // Newest first: stop on to (its hook, although to never answered), detach, re-attach, start on from.
    expect(hooks.lines().slice(hookLinesBefore)).toEqual([
      `stop ${FROM}`,
      `start ${TO}`,
      `stop ${TO}`,
      `start ${FROM}`,
    ]);
    expect(world.ec2.actions()).toEqual([
      SNAPSHOT,
      DETACH_FROM,
      ATTACH_TO,
      `DetachVolume ${VOL} ${TO} force=false`,
      `AttachVolume ${VOL} ${FROM} ${DEVICE}`,
    ]);
    expect(world.ec2.volume(VOL)?.attachments[0]).toMatchObject({ instanceId: FROM, state: 'attached' });
    expect(dbs.from.up).toBe(true);
  });

  test('hook mode: the stop hook runs even when the database already fails its health check', async () => {
    // A hung database answers no probe but may still have the volume's files open.
    world.standard(undefined, { state: 'running' });
    setFlags('hung', 'down');
    await databaseFollowsHooks();
    await untilUp(dbs.from, false);
    const hookLinesBefore = hooks.lines().length;
    const run = await startAndApprove('ledger-vol');
    const done = await untilFinished(runtime, run.id);
    expect(done.state).toBe('succeeded');
    expect(hooks.lines().slice(hookLinesBefore)).toEqual([`stop ${FROM}`, `start ${TO}`]);
    expect(world.ec2.actions()).toEqual([SNAPSHOT, DETACH_FROM, ATTACH_TO]);
  });
});

describe('volume swap preflight refusals: the run fails before any mutating call', () => {
  const OTHER = 'i-0d000000000000004';
  const cases: { name: string; setUp: () => void; blocker: string }[] = [
    {
      name: 'availability zone mismatch',
      setUp: () => void world.standard(undefined, { availabilityZone: 'eu-west-1b' }),
      blocker: `availability zone mismatch: ${VOL} is in eu-west-1a, ${TO} in eu-west-1b`,
    },
    {
      name: 'device taken on to',
      setUp: () => {
        world
          .reset()
          .addInstance(FROM)
          .addInstance(TO, { state: 'stopped', devices: ['/dev/xvda', DEVICE] })
          .addVolume(VOL, { attachedTo: { instanceId: FROM, device: DEVICE } });
      },
      blocker: `device ${DEVICE} is already taken on ${TO}`,
    },
    {
      name: 'volume attached elsewhere',
      setUp: () => {
        world
          .reset()
          .addInstance(FROM)
          .addInstance(OTHER)
          .addInstance(TO, { state: 'stopped' })
          .addVolume(VOL, { attachedTo: { instanceId: OTHER, device: DEVICE } });
      },
      blocker: `${VOL} is not attached to ${FROM} (${OTHER} attached)`,
    },
    {
      name: 'DryRun refused (UnauthorizedOperation on AttachVolume)',
      setUp: () => void world.standard().deny('AttachVolume'),
      blocker: `DryRun refused: not authorized to perform ec2:AttachVolume (${VOL} to ${TO} at ${DEVICE}): UnauthorizedOperation: ${unauthorizedOperationMessage('AttachVolume')}`,
    },
  ];

  test.each(cases)('$name', async ({ setUp, blocker }) => {
    setUp();
    dbs.from.follow(() => runsOn(world.ec2, FROM));
    const run = await startRun(runtime, 'orders-vol');
    const done = await untilFinished(runtime, run.id);

    expect(done.state).toBe('failed');
    expect(done.outcome).toContain('failed: preflight refused: ');
    expect(done.outcome).toContain(blocker);
    expect(done.steps[VS_STEP.preflight]).toMatchObject({ state: 'failed', retries: 0 });
    expect(done.steps.slice(1).map((step) => step.state)).toEqual(Array(6).fill('skipped'));
    expect(world.ec2.actions()).toEqual([]);
    expect(world.ec2.history().every((line) => line.includes('dryRun'))).toBe(true);
  });
});
