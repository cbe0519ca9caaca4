// Figure 5: the write-unavailable window of a volume swap, from the stop on the old server until the
// database answers on the new one with the same system identifier. The volume is a real PostgreSQL
// data directory and the two servers follow the AWS emulator (test/integration/volume-swap/
// pg-hosts.ts, with its hook script sim-host.sh), reached through the real AWS SDK.
//
// Bot: the real volume-swap strategy in the real runtime, started and approved through RunService;
// the window is what its report states (stop-database's stoppedAtMs, taken right before the stop
// hook, to start-database's healthyAtMs). Script: a minimal one making the same calls on the same
// emulator with the same poll interval: read the identity on `from`, stop hook, three refused
// connections, CreateSnapshot, three refused connections and verifyDown again, DetachVolume and
// DescribeVolumes until available, AttachVolume and DescribeVolumes until attached, start hook,
// health checks until healthy with the same identity. Rounds alternate bot and script, each from
// the same world: the volume on `from`, PostgreSQL running there.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AwsEc2Adapter } from '../../src/adapters/aws/ec2-adapter';
import { ProbeHealthChecker } from '../../src/adapters/health/probe-health-checker';
import { ProcessHookRunner } from '../../src/adapters/hooks/process-hook-runner';
import type { Run } from '../../src/engine/types';
import type { HealthTarget } from '../../src/ports/health';
import { createVolumeSwap } from '../../src/strategies/volume-swap';
import { AwsEmulator } from '../../test/support/services/aws/emulator';
import { PgHosts, SIM_HOST } from '../../test/integration/volume-swap/pg-hosts';
import { APPROVER, REQUESTER, sleep, startBenchBotFor, summarize, whileOpen, type BenchBot } from './common';
import type { FigureOptions, Row } from './common';

const CHANNEL = 'C0BENCHVOLSWAP';
const REGION = 'eu-west-1';
const FROM = 'i-0a000000000000001';
const TO = 'i-0b000000000000002';
const VOL = 'vol-0c000000000000003';
const DEVICE = '/dev/sdf';
/** EBS takes seconds; the emulator a few hundred milliseconds, so that the bot's own costs show. */
const DURATIONS = { detachMs: 250, attachMs: 250, snapshotMs: 3_600_000 };
const POLL_MS = 50;
const PROBE_SPACING_MS = 20;
const run = promisify(execFile);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The world every round starts from: the volume on `from`, PostgreSQL running there. */
async function resetWorld(emulator: AwsEmulator, hosts: PgHosts): Promise<void> {
  await hosts.stopAll();
  emulator
    .reset({ ec2: DURATIONS })
    .ec2.addInstance(FROM)
    .addInstance(TO)
    .addVolume(VOL, { attachedTo: { instanceId: FROM, device: DEVICE } });
  hosts.follow(emulator.ec2);
  await hosts.script('start', hosts.server(FROM).dir, VOL);
}

/** The minimal script: the bot's calls in a straight line. Returns [stop, healthy with the identity]. */
async function scriptSwap(hosts: PgHosts, ec2: AwsEc2Adapter): Promise<{ t0: number; t1: number }> {
  const health = new ProbeHealthChecker();
  const target = (instanceId: string): HealthTarget => ({ kind: 'postgres', url: hosts.url(instanceId) });
  const env = { ...process.env, ...hosts.hookEnv() };
  const hook = (...args: string[]) => run(SIM_HOST, args, { env });
  const provenDown = async (): Promise<void> => {
    for (let refused = 0; refused < 3;) {
      if (refused > 0) await sleep(PROBE_SPACING_MS);
      refused = (await health.check(target(FROM), 2000)).reach === 'refused' ? refused + 1 : 0;
    }
  };
  const volumeShows = async (want: (state: string, instanceId: string | undefined) => boolean) => {
    for (;;) {
      const volume = await ec2.describeVolume(REGION, VOL);
      const attachment = volume?.attachments[0];
      if (volume && want(attachment?.state ?? volume.state, attachment?.instanceId)) return;
      await sleep(POLL_MS);
    }
  };
  const identity = (await health.check(target(FROM), 2000)).identity;
  const t0 = Date.now();
  await hook('stop', hosts.server(FROM).dir);
  await provenDown();
  await ec2.createSnapshot(REGION, VOL, 'bench script: after the clean stop');
  await provenDown();
  await hook('verify-down', hosts.server(FROM).dir);
  await ec2.detachVolume(REGION, VOL, FROM, false);
  await volumeShows((state) => state === 'available');
  await ec2.attachVolume(REGION, VOL, TO, DEVICE);
  await volumeShows((state, instanceId) => state === 'attached' && instanceId === TO);
  await hook('start', hosts.server(TO).dir, VOL);
  for (;;) {
    const seen = await health.check(target(TO), 2000);
    if (seen.healthy && seen.identity === identity) break;
    await sleep(POLL_MS);
  }
  return { t0, t1: Date.now() };
}

export async function benchVolumeSwap(options: FigureOptions): Promise<Row[]> {
  const rounds = options.quick ? 3 : 6;
  const emulator = await AwsEmulator.start({ region: REGION });
  const restoreEnv = emulator.applyEnv();
  const hosts = await PgHosts.create([FROM, TO], [VOL]);
  const ec2 = new AwsEc2Adapter();
  let bot: BenchBot | null = null;
  const closeWorld = async (): Promise<void> => {
    ec2.destroy();
    await hosts.close();
    restoreEnv();
    await emulator.close();
  };
  const done = whileOpen(closeWorld);
  try {
    const env = { VS_FROM_URL: hosts.url(FROM), VS_TO_URL: hosts.url(TO) };
    const hook = (action: 'start' | 'stop' | 'verify-down') =>
      `{ command: ${JSON.stringify(hosts.hookCommand(action))}, env: ${JSON.stringify(hosts.hookEnv())}, timeout: 60s }`;
    // One target per round: a run within the cooldown of the last one on its target is refused.
    const names = Array.from({ length: rounds + 1 }, (_, i) => `volswap-${i}`);
    const yaml = [
      `defaults:\n  channel: ${CHANNEL}\n  approvers: [${APPROVER}]\ntargets:`,
      ...names.map(
        (name) => `  - name: ${name}
    strategy: volume-swap
    volume:
      { region: ${REGION}, volumeId: ${VOL}, device: ${DEVICE}, from: { instanceId: ${FROM} }, to: { instanceId: ${TO} },
        stop: ${hook('stop')}, start: ${hook('start')}, verifyDown: ${hook('verify-down')},
        health: { from: env:VS_FROM_URL, to: env:VS_TO_URL }, pollInterval: ${POLL_MS}ms, probeTimeout: 2s }`,
      ),
      '',
    ].join('\n');
    const strategy = createVolumeSwap({
      ec2,
      health: new ProbeHealthChecker(),
      hooks: new ProcessHookRunner(),
      env,
    });
    bot = await startBenchBotFor('volswap', strategy, yaml, env);
    const botWindows: number[] = [];
    const scriptWindows: number[] = [];
    const botSteps: Record<string, number>[] = [];

    const botRound = async (name: string): Promise<void> => {
      await resetWorld(emulator, hosts);
      const runtime = (bot as BenchBot).runtime;
      const target = runtime.findTarget(name);
      if (!target) throw new Error(`no target ${name}`);
      const started = await runtime.runs.start({ target, requestedBy: REQUESTER, channel: CHANNEL });
      if (!started.ok) throw new Error(`volume swap did not start: ${started.message}`);
      const runId = started.run.id;
      const gated = await until('the approval gate', 60_000, async () => {
        const current = await runtime.store.getRun(runId);
        if (current && current.state !== 'running' && current.state !== 'awaiting_approval')
          throw new Error(`run ended ${current.state} before the gate: ${current.outcome}`);
        return current?.state === 'awaiting_approval' ? current : undefined;
      });
      const round = gated.steps[gated.currentStep]?.gate?.round ?? 1;
      const approved = await runtime.runs.approve(runId, gated.currentStep, round, APPROVER, { typed: name });
      if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
      const finished: Run = await until('the run to finish', 120_000, async () => {
        const current = await runtime.store.getRun(runId);
        return current && ['succeeded', 'failed', 'aborted'].includes(current.state) ? current : undefined;
      });
      if (finished.state !== 'succeeded')
        throw new Error(`volume swap ended ${finished.state}: ${finished.outcome ?? ''}`);
      if (hosts.violations.length > 0)
        throw new Error(`the swap broke the rules: ${hosts.violations.join('; ')}`);
      botWindows.push(
        Number(finished.steps.find((step) => step.spec.name === 'report')?.output?.['writeUnavailableMs']),
      );
      // Where the window went: each step's share, from its first start to its end.
      const steps: Record<string, number> = {};
      for (const step of finished.steps) {
        if (step.startedAt && step.finishedAt && step.spec.kind === 'action')
          steps[step.spec.name] = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
      }
      botSteps.push(steps);
    };

    const scriptRound = async (): Promise<void> => {
      await resetWorld(emulator, hosts);
      const { t0, t1 } = await scriptSwap(hosts, ec2);
      scriptWindows.push(t1 - t0);
    };

    // Warm-up: one bot run (first strategy use, JIT), not counted.
    await botRound(names[rounds] as string);
    botWindows.length = 0;
    botSteps.length = 0;
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await botRound(names[round] as string);
        await scriptRound();
      } else {
        await scriptRound();
        await botRound(names[round] as string);
      }
      options.log(
        `volume swap round ${round + 1}/${rounds}: bot ${botWindows.at(-1)} ms, script ${scriptWindows.at(-1)} ms`,
      );
    }
    await bot.runtime.notifier?.flush({ timeoutMs: 10_000 }).catch(() => undefined);

    const subject = summarize(botWindows);
    const baseline = summarize(scriptWindows);
    const ratio = subject.p50 / baseline.p50;
    return [
      {
        figure: 'volume-swap',
        metric: `write-unavailable window, stop → healthy with the same identity (real PostgreSQL, EC2 emulator, ${rounds} swaps each)`,
        unit: 'ms',
        subject,
        baseline,
        ratio: { value: ratio, of: 'p50' },
        goal: 'p50 ≤ 1.25× script',
        verdict: ratio <= 1.25 ? 'met' : 'missed',
        details: {
          botSamples: botWindows,
          scriptSamples: scriptWindows,
          botSteps,
          durations: DURATIONS,
          pollMs: POLL_MS,
        },
      },
    ];
  } finally {
    await bot?.close();
    done();
    await closeWorld();
  }
}
