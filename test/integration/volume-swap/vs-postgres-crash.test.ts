// A worker dies right after the stop hook stopped the real PostgreSQL on `from`: the identity read
// before the stop was saved (ctx.saveProgress) before the hook ran, and after the stop nothing can
// read it again. Runtime A's hook runner runs the stop hook and then never returns; A's worker is
// force-closed and A shut down. Runtime B on the same schema and queue resumes the stop step: it
// runs the stop hook again (safe on a stopped database), proves it down, and the run goes on; the
// start on `to` is checked against the identity A recorded.
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import type { HookCommand, HookResult } from '../../../src/ports/hooks';
import { APPROVER } from '../../support/runtimes/harness';
import { CrashAndResume, CrashPoint } from '../../support/runtimes/in-process-crash';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { PgHosts } from './pg-hosts';
import {
  DEVICE,
  Ec2World,
  FAST_DURATIONS,
  FROM,
  REGION,
  startRun,
  startVsRuntime,
  TO,
  untilFinished,
  untilRun,
  VOL,
  volumeSwap,
  VS_STEP,
} from './vs-runtime';

const schema = freshSchemaName('t_vs_pg_crash');
const queueName = freshQueueName('vs-pg-crash');
const world = new Ec2World();
const crash = new CrashAndResume(schema);
let hosts: PgHosts;

/** Runs hooks for real; after the first stop hook has finished, it never answers again. */
class DiesAfterStop extends ProcessHookRunner {
  private readonly point = new CrashPoint();
  readonly stopHookDone = this.point.reached;

  override async run(hook: HookCommand, vars: Readonly<Record<string, string>>): Promise<HookResult> {
    const result = await super.run(hook, vars);
    if (hook.command[1] !== 'stop') return result;
    return this.point.hang();
  }
}

afterAll(async () => {
  await crash.cleanUp();
  await hosts.close();
  await world.close();
});

test('resumed after a crash past the stop hook: the identity saved before the stop is the one required after the start', async () => {
  hosts = await PgHosts.create([FROM, TO], [VOL]);
  const env = { PG_FROM: hosts.url(FROM), PG_TO: hosts.url(TO) };
  const hook = (action: 'start' | 'stop') =>
    `{ command: ${JSON.stringify(hosts.hookCommand(action))}, env: ${JSON.stringify(hosts.hookEnv())}, timeout: 60s }`;
  const yaml = `
defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: pg-crash
    strategy: volume-swap
    volume:
      { region: ${REGION}, volumeId: ${VOL}, device: ${DEVICE}, from: { instanceId: ${FROM} }, to: { instanceId: ${TO} },
        stop: ${hook('stop')}, start: ${hook('start')}, health: { from: env:PG_FROM, to: env:PG_TO },
        pollInterval: 50ms, probeTimeout: 2s, stopTimeout: 20s, healthTimeout: 20s }
`;
  world
    .reset(FAST_DURATIONS)
    .addInstance(FROM)
    .addInstance(TO)
    .addVolume(VOL, {
      attachedTo: { instanceId: FROM, device: DEVICE },
    });
  hosts.follow(world.ec2);
  await hosts.script('start', hosts.server(FROM).dir, VOL);

  const dying = new DiesAfterStop();
  const first = await startVsRuntime({
    schema,
    queueName,
    yaml,
    env,
    strategy: volumeSwap(world.adapter(), env, dying),
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  crash.keep(first);
  const run = await startRun(first, 'pg-crash');
  await untilRun(first, run.id, 'at the gate', (current) => current.state === 'awaiting_approval');
  const atGate = await first.store.getRun(run.id);
  const identity = atGate?.steps[VS_STEP.preflight]?.output?.['fromIdentity'];
  expect(typeof identity).toBe('string');
  expect((await first.runs.approve(run.id, VS_STEP.gate, 1, APPROVER)).ok).toBe(true);

  await dying.stopHookDone;
  const crashed = await first.store.getRun(run.id);
  expect(crashed?.steps[VS_STEP.stop]).toMatchObject({
    state: 'running',
    output: { stopRequested: true, fromIdentity: identity, identitySeenAt: 'stop' },
  });
  await crash.crash(first);

  const second = await startVsRuntime({
    schema,
    queueName,
    yaml,
    env,
    strategy: volumeSwap(world.adapter(), env),
    stalledIntervalMs: 300,
  });
  crash.keep(second);
  const done = await untilFinished(second, run.id, 60_000);

  expect(done.state).toBe('succeeded');
  expect(done.steps[VS_STEP.stop]?.output).toMatchObject({ fromIdentity: identity });
  expect(done.steps[VS_STEP.start]?.output).toMatchObject({ identity });
  expect(hosts.violations).toEqual([]);
  expect(world.ec2.actions()).toEqual([
    `CreateSnapshot ${VOL}`,
    `DetachVolume ${VOL} ${FROM} force=false`,
    `AttachVolume ${VOL} ${TO} ${DEVICE}`,
  ]);
});
