// A worker dies between detach and attach: EC2 accepted DetachVolume, the step never reported.
// Simulated as in replica-promotion-rds/promote-crash.test.ts: runtime A's adapter sends
// DetachVolume (EC2 accepts it) and then never returns; A's worker is force-closed (its job lock
// lapses) and A shut down. Runtime B on the same schema and queue picks the stalled job up, the
// detach step resumes (describes first, sees the detach under way, does not send it again), and the
// run goes on to attach once and finish. EC2's clock is a ManualClock: every other change is
// immediate, the detach takes an hour until B has looked at the volume.
import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { fastEc2Client } from '../../support/services/aws/fast-retry-clients';
import { ManualClock } from '../../support/fakes/manual-clock';
import { waitFor } from '../../support/wait-for';
import { APPROVER } from '../../support/runtimes/harness';
import { CrashAndResume, CrashPoint } from '../../support/runtimes/in-process-crash';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import {
  closeDatabases,
  createDatabases,
  DEVICE,
  Ec2World,
  FROM,
  HookFiles,
  runsOn,
  startRun,
  startVsRuntime,
  targetsYaml,
  TO,
  untilFinished,
  untilRun,
  VOL,
  volumeSwap,
  vsEnv,
  VS_STEP,
  type Databases,
} from './vs-runtime';

const schema = freshSchemaName('t_vs_crash');
const queueName = freshQueueName('vs-crash');
const world = new Ec2World();
const hooks = new HookFiles();
const crash = new CrashAndResume(schema);
let dbs: Databases;

class DiesAfterDetach extends AwsEc2Adapter {
  private readonly point = new CrashPoint();
  readonly detachAccepted = this.point.reached;

  override async detachVolume(
    region: string,
    volumeId: string,
    instanceId: string,
    force: boolean,
  ): Promise<void> {
    await super.detachVolume(region, volumeId, instanceId, force);
    return this.point.hang();
  }
}

afterAll(async () => {
  await crash.cleanUp();
  await closeDatabases(dbs);
  await world.close();
  hooks.remove();
});

test('resumed after a crash past DetachVolume: detach sent once, attach once, succeeds', async () => {
  dbs = await createDatabases();
  const yaml = targetsYaml(dbs, hooks);
  const env = vsEnv(dbs);
  const clock = new ManualClock();
  const DETACH_MS = 3_600_000;
  world
    .reset(
      { detachMs: DETACH_MS, attachMs: 0, stopMs: 0, startMs: 0, snapshotMs: 0, launchMs: 0, terminateMs: 0 },
      clock,
    )
    .addInstance(FROM)
    .addInstance(TO, { state: 'stopped' })
    .addVolume(VOL, { attachedTo: { instanceId: FROM, device: DEVICE } });
  dbs.from.follow(() => runsOn(world.ec2, FROM));
  dbs.to.follow(() => runsOn(world.ec2, TO));

  const dying = new DiesAfterDetach({ ec2Client: (region) => fastEc2Client(region) });
  const first = await startVsRuntime({
    schema,
    queueName,
    yaml,
    env,
    strategy: volumeSwap(dying, env),
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  crash.keep(first);

  // throttle-vol (15 s detach timeout): the lock expiry alone outlasts orders-vol's 1 s, counted from the step's start.
  const run = await startRun(first, 'throttle-vol');
  await untilRun(first, run.id, 'at the gate', (current) => current.state === 'awaiting_approval');
  expect((await first.runs.approve(run.id, VS_STEP.gate, 1, APPROVER)).ok).toBe(true);

  await dying.detachAccepted;
  const crashed = await first.store.getRun(run.id);
  expect(crashed?.steps[VS_STEP.detach]).toMatchObject({ state: 'running' });
  expect(world.ec2.count('DetachVolume', 'ok')).toBe(1);

  await crash.crash(first);
  dying.destroy();
  const describesBeforeResume = world.ec2.count('DescribeVolumes');

  const second = await startVsRuntime({
    schema,
    queueName,
    yaml,
    env,
    strategy: volumeSwap(world.adapter(), env),
    stalledIntervalMs: 300,
  });
  crash.keep(second);

  // The resumed step looks first and finds the detach under way; then EC2 finishes it.
  await waitFor(
    'the resumed detach step describes the volume',
    async () => world.ec2.count('DescribeVolumes') > describesBeforeResume,
  );
  expect(world.ec2.volume(VOL)?.attachments[0]?.state).toBe('detaching');
  clock.advance(DETACH_MS);
  const done = await untilFinished(second, run.id);
  expect(done.state).toBe('succeeded');
  expect(world.ec2.history().filter((line) => !line.includes('dryRun'))).toEqual([
    `StopInstances ${FROM}`,
    `CreateSnapshot ${VOL}`,
    `DetachVolume ${VOL} ${FROM} force=false`,
    `AttachVolume ${VOL} ${TO} ${DEVICE}`,
    `StartInstances ${TO}`,
  ]);
  expect(world.ec2.count('DetachVolume', 'ok')).toBe(1);
  expect(world.ec2.count('AttachVolume', 'ok')).toBe(1);
  expect(world.ec2.volume(VOL)?.attachments[0]).toMatchObject({ instanceId: TO, state: 'attached' });
});
