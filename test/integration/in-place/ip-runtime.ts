// Shared by the in-place suites: the real runtime (PostgreSQL store, BullMQ on Redis, workers)
// around the real in-place strategy. Its RdsPort is the real AwsRdsAdapter with the production
// clients, talking over HTTP to the AWS emulator (endpoint and credentials from the environment):
// reads are retried by the SDK, the irreversible requests go out once per call, so a throttled
// ModifyDBInstance reaches the executor and the engine backs off. RDS's time is a ManualClock that
// moves one STEP each time RDS answers a describe (each poll sees the world a little later), so
// the suites see the same sequence of states on any machine. Health is the real
// ProbeHealthChecker; hooks are the real ProcessHookRunner. Targets come from YAML through the
// real loader and the strategy's own schema (startVsRuntime is the volume-swap suite's generic
// "targets YAML + strategy" runtime starter).
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProbeHealthChecker } from '../../../src/adapters/health/probe-health-checker';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { RdsPort } from '../../../src/ports/rds';
import { createInPlace } from '../../../src/strategies/in-place';
import type { Strategy } from '../../../src/strategies/types';
import { advancePerCall, startAwsEmulatorBeforeAll } from '../../support/services/aws/emulator';
import type { RdsDurations, RdsEmulator } from '../../support/services/aws/emulator';
import { ManualClock } from '../../support/fakes/manual-clock';
import { APPROVER } from '../../support/runtimes/harness';

import { untilFinished } from '../volume-swap/vs-runtime';

export { startRun, untilFinished, untilRun } from '../volume-swap/vs-runtime';

export const REGION = 'eu-west-1';
/** How much of RDS's time one describe takes. */
export const STEP = 1_000;

/** Step indexes of an RDS plan (see planInPlace). */
export const RDS_STEP = {
  preflight: 0,
  snapshot: 1,
  gate: 2,
  change: 3,
  wait: 4,
  verify: 5,
  report: 6,
} as const;
/** Step indexes of an RDS plan with `reboot: true`. */
export const REBOOT_STEP = { ...RDS_STEP, reboot: 5, verify: 6, report: 7 } as const;
/** Step indexes of a self-managed plan with a snapshot hook. */
export const CMD_STEP = { preflight: 0, snapshot: 1, gate: 2, command: 3, verify: 4, report: 5 } as const;

/** How in-place changes unfold, counted in describes (snapshot creating, modification stale and modifying, upgrade). */
export interface InPlaceScript {
  snapshotDescribes?: number;
  modifyStale?: number;
  modifying?: number;
  upgrading?: number;
  rebooting?: number;
}

/**
 * The AWS side of a suite: the emulator (started before the file's tests, with the environment
 * pointing at it) and its RDS. Create it at the top of a test file; close it after the runtimes.
 */
export class RdsWorld {
  private readonly emulator = startAwsEmulatorBeforeAll();
  private readonly adapters: AwsRdsAdapter[] = [];

  get rds(): RdsEmulator {
    return this.emulator.get().rds;
  }

  /**
   * A fresh RDS whose changes take the script's number of describes (default 2; stale 1). Its clock
   * starts at the real time: RDS's events are asked for since the bot's (real) request time.
   */
  reset(script: InPlaceScript = {}): RdsEmulator {
    const clock = new ManualClock(new Date());
    const durations: Partial<RdsDurations> = {
      snapshotMs: (script.snapshotDescribes ?? 2) * STEP,
      modifyStaleMs: (script.modifyStale ?? 1) * STEP,
      modifyingMs: (script.modifying ?? 2) * STEP,
      upgradingMs: (script.upgrading ?? 2) * STEP,
      rebootMs: (script.rebooting ?? 2) * STEP,
    };
    const { rds } = this.emulator.get().reset({ clock, rds: durations });
    advancePerCall(rds, 'DescribeDBInstances', clock, STEP);
    advancePerCall(rds, 'DescribeDBSnapshots', clock, STEP);
    return rds;
  }

  /** The production clients, fast polling. */
  adapterOptions(): ConstructorParameters<typeof AwsRdsAdapter>[0] {
    return { minDelaySeconds: 0.01, maxDelaySeconds: 0.05 };
  }

  adapter(): AwsRdsAdapter {
    const adapter = new AwsRdsAdapter(this.adapterOptions());
    this.adapters.push(adapter);
    return adapter;
  }

  /** Commands RDS received since call number `from`, in order (`Name!Code` when refused). */
  commands(from = 0): string[] {
    return this.rds.commands(from);
  }

  count(action: string, outcome: string = 'all'): number {
    return this.rds.count(action, outcome);
  }

  async close(): Promise<void> {
    for (const adapter of this.adapters.splice(0)) adapter.destroy();
    await this.emulator.close();
  }
}

/** The strategy on production adapters; `env` resolves its targets' secrets at use. */
export function inPlace(rds: RdsPort, env: NodeJS.ProcessEnv = {}): Strategy {
  return createInPlace({
    rds,
    health: new ProbeHealthChecker(),
    hooks: new ProcessHookRunner(),
    replication: new PgReplication(),
    env,
  });
}

/** RDS targets; health is a TCP check of the local PostgreSQL (it stands in for the instance). */
export const RDS_TARGETS_YAML = `
defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: billing
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: billing-db, modify: { DBInstanceClass: db.r6g.large, AllocatedStorage: 200 } }
      health: { tcp: "127.0.0.1:5432" }
      pollInterval: 20ms
  - name: metrics
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: metrics-db, modify: { Iops: 3000 } }
      pollInterval: 20ms
  - name: slow-snapshot
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: billing-db, modify: { MultiAZ: true }, snapshotTimeout: 200ms }
      pollInterval: 20ms
  - name: params
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: billing-db, modify: { DBParameterGroupName: billing-pg15-tuned }, reboot: true }
      pollInterval: 20ms
  - name: params-no-reboot
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: billing-db, modify: { DBParameterGroupName: billing-pg15-tuned } }
      pollInterval: 20ms
  - name: upgrade
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: billing-db, modify: { EngineVersion: '16.4', AllowMajorVersionUpgrade: true } }
      pollInterval: 20ms
  - name: audit
    strategy: in-place
    inPlace:
      rds: { region: ${REGION}, instance: audit-db, maintenance: { action: system-update } }
      health: { tcp: "127.0.0.1:5432" }
      pollInterval: 20ms
`;

/** A failed test must not leave its run active: the next one could not start (one run per target). */
export async function abortActiveRuns(runtime: Runtime): Promise<void> {
  for (const active of await runtime.store.listActiveRuns()) {
    await runtime.runs.abort(active.id, APPROVER, 'test cleanup');
    await untilFinished(runtime, active.id);
  }
}

export async function approveGate(runtime: Runtime, run: Run, step: number, round = 1): Promise<void> {
  const approved = await runtime.runs.approve(run.id, step, round, APPROVER);
  if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
}
