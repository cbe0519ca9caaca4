// Shared by the volume-swap suites: the real runtime (PostgreSQL store, BullMQ on Redis, workers)
// around the real volume-swap strategy, whose Ec2Port is the real AwsEc2Adapter on a real EC2Client
// talking to the AWS emulator over HTTP (endpoint and credentials from the environment, as in
// production). The client retries as production's does (standard mode, 5 attempts) with a 1 ms
// backoff: a throttling that outlasts the SDK reaches the executor quickly and the engine backs
// off. Health is the real ProbeHealthChecker against local TCP servers, one "database" per server
// (from and to each have their own health check), which FakeDatabase opens and closes from what EC2
// shows (or the hook flag files say).
//
// Why FakeDatabase polls: the health probe only sees whether a TCP port accepts connections, so the
// "database" must be listening exactly while it would run. It polls every 5 ms (the strategy polls
// every 50 ms) and derives "up" from the emulator: an instance running with the volume attached.
// With hook stop/start, "up" is a flag file per instance that the hooks write.
//
// vs-postgres.test.ts runs the swap on real PostgreSQL servers instead (pg-hosts.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { ProbeHealthChecker } from '../../../src/adapters/health/probe-health-checker';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import type { TargetsConfig } from '../../../src/config/types';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { Ec2Port } from '../../../src/ports/ec2';
import type { HookRunner } from '../../../src/ports/hooks';
import type { Strategy } from '../../../src/strategies/types';
import { createVolumeSwap } from '../../../src/strategies/volume-swap';
import { startAwsEmulatorBeforeAll } from '../../support/services/aws/emulator';
import type { Ec2Durations, Ec2Emulator } from '../../support/services/aws/emulator';
import { fastEc2Client } from '../../support/services/aws/fast-retry-clients';
import type { Clock } from '../../../src/ports/clock';
import { APPROVER } from '../../support/runtimes/harness';
import { untilRunState } from '../../support/runtimes/run-state';
import {
  startStrategyRuntime,
  stopRuntimeAndClean,
  strategyTargets,
  type StrategyRuntimeOptions,
} from '../../support/runtimes/harness';

export const REGION = 'eu-west-1';
export const VOL = 'vol-0c000000000000003';
export const FROM = 'i-0a000000000000001';
export const TO = 'i-0b000000000000002';
export const DEVICE = '/dev/sdf';

/** Step indexes of the plan without a snapshot before the gate and no route hook (see planVolumeSwap). */
export const VS_STEP = {
  preflight: 0,
  gate: 1,
  stop: 2,
  detach: 3,
  attach: 4,
  start: 5,
  report: 6,
} as const;

/** Fast EC2: each transition takes about one poll of the strategy (50 ms). */
export const FAST_DURATIONS: Partial<Ec2Durations> = {
  detachMs: 50,
  attachMs: 50,
  stopMs: 50,
  startMs: 50,
  snapshotMs: 50,
  launchMs: 50,
  terminateMs: 50,
};

/** A TCP server that listens exactly while the simulated database runs. */
export class FakeDatabase {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  /** Every change of the listening state, in order ('up' / 'down'). */
  readonly changes: string[] = [];

  private constructor(readonly port: number) {}

  /** Reserves a free port (listen on 0, then close); the database starts down. */
  static async create(): Promise<FakeDatabase> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return new FakeDatabase(address.port);
  }

  get up(): boolean {
    return this.server !== null;
  }

  /** Polls `shouldRun` every 5 ms and opens or closes the server to match. */
  follow(shouldRun: () => boolean): void {
    this.unfollow();
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.set(shouldRun()).finally(() => (this.busy = false));
    }, 5);
  }

  unfollow(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async set(up: boolean): Promise<void> {
    if (up === this.up) return;
    if (up) {
      const server = createServer((socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      });
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, '127.0.0.1', () => resolve());
      });
      this.changes.push('up');
      return;
    }
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.changes.push('down');
  }

  async close(): Promise<void> {
    this.unfollow();
    await this.set(false);
  }
}

/**
 * The EC2 side of a suite: the AWS emulator (started before the file's tests, with the environment
 * pointing at it) and the adapters the runtimes use. Create it at the top of a test file; close it
 * after the runtimes have stopped.
 */
export class Ec2World {
  private readonly emulator = startAwsEmulatorBeforeAll();
  private readonly adapters: AwsEc2Adapter[] = [];

  get ec2(): Ec2Emulator {
    return this.emulator.get().ec2;
  }

  /** An empty EC2 with these durations on this clock (the system clock by default). */
  reset(durations: Partial<Ec2Durations> = FAST_DURATIONS, clock?: Clock): Ec2Emulator {
    return this.emulator.get().reset({ ec2: durations, ...(clock ? { clock } : {}) }).ec2;
  }

  /** The usual world: the volume on `from` (running), `to` stopped in the same zone. */
  standard(
    durations: Partial<Ec2Durations> = FAST_DURATIONS,
    to: { state?: string; availabilityZone?: string } = {},
  ): Ec2Emulator {
    return this.reset(durations)
      .addInstance(FROM)
      .addInstance(TO, { state: 'stopped', ...to })
      .addVolume(VOL, { attachedTo: { instanceId: FROM, device: DEVICE } });
  }

  /** The adapter as production builds it, on a client that backs off 1 ms between its attempts. */
  adapter(): AwsEc2Adapter {
    const adapter = new AwsEc2Adapter({ ec2Client: (region) => fastEc2Client(region) });
    this.adapters.push(adapter);
    return adapter;
  }

  /** Describe calls EC2 received (reads only). */
  describes(): number {
    return this.ec2.calls.filter((call) => call.action.startsWith('Describe')).length;
  }

  async close(): Promise<void> {
    for (const adapter of this.adapters.splice(0)) adapter.destroy();
    await this.emulator.close();
  }
}

/** True while EC2 shows `instanceId` running with the volume attached. */
export function runsOn(ec2: Ec2Emulator, instanceId: string): boolean {
  const attachment = ec2.volume(VOL)?.attachments[0];
  return (
    ec2.instance(instanceId)?.state === 'running' &&
    attachment?.instanceId === instanceId &&
    attachment.state === 'attached'
  );
}

/**
 * The flag files the hook targets' stop/start hooks write (one per instance, and one shared for
 * suites with a single database), and a log of which hook ran where.
 */
export class HookFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'vs-hooks-'));
  readonly flag = join(this.dir, 'db-state');
  readonly log = join(this.dir, 'hooks.log');

  /** The flag of the database on `instanceId` ('up' / 'down'). */
  flagOf(instanceId: string): string {
    return join(this.dir, `db-${instanceId}`);
  }

  runningOn(instanceId: string): boolean {
    return this.read(this.flagOf(instanceId)).trim() === 'up';
  }

  read(file: string): string {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  }

  get running(): boolean {
    return this.read(this.flag).trim() === 'up';
  }

  lines(): string[] {
    return this.read(this.log)
      .split('\n')
      .filter((line) => line !== '');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The two servers' databases: one health check (and one FakeDatabase) each. */
export interface Databases {
  from: FakeDatabase;
  to: FakeDatabase;
}

export async function createDatabases(): Promise<Databases> {
  return { from: await FakeDatabase.create(), to: await FakeDatabase.create() };
}

export async function closeDatabases(dbs: Databases): Promise<void> {
  await dbs.from.close();
  await dbs.to.close();
}

/** Environment of the strategy and the targets file: the hung target's PostgreSQL URL on `from`. */
export function vsEnv(dbs: Databases): NodeJS.ProcessEnv {
  return { HUNG_FROM_URL: `postgres://bot@127.0.0.1:${dbs.from.port}/db` };
}

export function targetsYaml(dbs: Databases, hooks: HookFiles): string {
  const timings =
    'pollInterval: 50ms, detachTimeout: 1s, attachTimeout: 2s, stopTimeout: 3s, healthTimeout: 2s';
  const base = `region: ${REGION}, volumeId: ${VOL}, from: { instanceId: ${FROM} }, to: { instanceId: ${TO} }, device: ${DEVICE}`;
  const health = `health: { from: { tcp: "127.0.0.1:${dbs.from.port}" }, to: { tcp: "127.0.0.1:${dbs.to.port}" } }`;
  const sh = (line: string) => JSON.stringify(['/bin/sh', '-c', line]);
  const flag = join(hooks.dir, 'db-{instanceId}');
  const stopHook = sh(`echo 'stop {instanceId}' >> ${hooks.log} && echo down > ${flag}`);
  const startHook = sh(`echo 'start {instanceId}' >> ${hooks.log} && echo up > ${flag}`);
  const failingStart = sh(
    `echo 'start {instanceId}' >> ${hooks.log}; echo 'no such data directory' >&2; exit 3`,
  );
  const hookPower = `stop: { command: ${stopHook}, timeout: 10s }, start: { command: ${startHook}, timeout: 10s }`;
  return `
defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: orders-vol
    strategy: volume-swap
    volume:
      { ${base}, stop: { ec2: stopInstance }, start: { ec2: startInstance }, ${health}, ${timings} }
  - name: ledger-vol
    strategy: volume-swap
    volume: { ${base}, ${hookPower}, ${health}, ${timings} }
  - name: throttle-vol
    strategy: volume-swap
    volume:
      { ${base}, stop: { ec2: stopInstance }, start: { ec2: startInstance }, ${health},
        ${timings.replace('detachTimeout: 1s, attachTimeout: 2s', 'detachTimeout: 15s, attachTimeout: 15s')} }
  - name: presnap-vol
    strategy: volume-swap
    volume:
      { ${base}, stop: { ec2: stopInstance }, start: { ec2: startInstance }, ${health}, ${timings},
        snapshotBeforeGate: true }
  - name: hung-vol
    strategy: volume-swap
    volume:
      { ${base}, ${hookPower}, probeTimeout: 300ms,
        health: { from: env:HUNG_FROM_URL, to: { tcp: "127.0.0.1:${dbs.to.port}" } }, ${timings.replace('stopTimeout: 3s', 'stopTimeout: 1s')} }
  - name: stuck-vol
    strategy: volume-swap
    volume:
      { ${base}, stop: { command: ${stopHook}, timeout: 10s }, start: { command: ${failingStart}, timeout: 10s },
        ${health}, ${timings.replace('stopTimeout: 3s', 'stopTimeout: 1s')} }
`;
}

export function volumeSwap(
  ec2: Ec2Port,
  env: NodeJS.ProcessEnv = {},
  hooks: HookRunner = new ProcessHookRunner(),
): Strategy {
  return createVolumeSwap({ ec2, health: new ProbeHealthChecker(), hooks, env });
}

export function vsTargets(strategy: Strategy, yaml: string, env: NodeJS.ProcessEnv = {}): TargetsConfig {
  return strategyTargets(strategy, yaml, { env, file: 'vs-targets.yaml' });
}

export interface VsRuntimeOptions extends Omit<StrategyRuntimeOptions, 'targets' | 'strategy'> {
  strategy: Strategy;
  yaml: string;
  /** What `env:` references in the targets file resolve to (the strategy's own env). */
  env?: NodeJS.ProcessEnv;
}

/** The one runtime builder (startStrategyRuntime) with targets from a YAML file. */
export function startVsRuntime(options: VsRuntimeOptions): Promise<Runtime> {
  const { yaml, env, ...rest } = options;
  return startStrategyRuntime({ ...rest, targets: vsTargets(options.strategy, yaml, env) });
}

export function stopVsRuntime(runtime: Runtime, schema: string): Promise<void> {
  return stopRuntimeAndClean(runtime, schema);
}

export { startRun } from '../../support/runtimes/harness';
export { untilRun } from '../../support/runtimes/run-state';

/** A run stopped at a needs-human gate on `step`. */
export function needsHumanOn(step: number) {
  return (current: Run): boolean =>
    current.state === 'awaiting_approval' &&
    current.currentStep === step &&
    current.steps[step]?.gate?.reason === 'needs_human';
}

/** Approves the gate on `step` as the approver; throws when refused. */
export async function approveGate(runtime: Runtime, run: Run, step: number, round = 1): Promise<void> {
  const approved = await runtime.runs.approve(run.id, step, round, APPROVER);
  if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
}

export function untilFinished(runtime: Runtime, runId: string, timeoutMs = 30_000): Promise<Run> {
  return untilRunState(runtime.store, runId, ['succeeded', 'failed', 'aborted'], timeoutMs);
}
