// Shared by the RDS replica-promotion suites: the real runtime (PostgreSQL store, BullMQ on Redis,
// workers, reconciler) around the real replica-promotion strategy, whose RdsPort is the real
// AwsRdsAdapter talking over HTTP to the AWS emulator's RDS and CloudWatch (endpoint and
// credentials from the environment, as in production). Targets come from YAML through
// parseTargets and the strategy's own config schema.
//
// Two regions, two client configurations (one emulated world serves both):
//  - NO_RETRY_REGION (eu-west-1): clients with maxAttempts 1, so the SDK does not retry: a
//    throttled call or a lost response reaches the executor and the engine backs off (a new
//    attempt of the step);
//  - SDK_REGION (eu-central-1): the production clients (standard retry mode, 5 attempts, the SDK's
//    own backoff): the SDK itself absorbs the throttling of reads, while the irreversible requests
//    go out once per call (the adapter's send-once client), as in production.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import {
  defaultCloudWatchClientFactory,
  defaultRdsClientFactory,
} from '../../../src/adapters/aws/rds-clients';
import type { AwsRdsAdapterOptions } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import type { TargetConfig, TargetsConfig } from '../../../src/config/types';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { Clock } from '../../../src/ports/clock';
import type { RdsPort } from '../../../src/ports/rds';
import type { ReplicationPort } from '../../../src/ports/replication';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import type { Strategy } from '../../../src/strategies/types';
import { startAwsEmulatorBeforeAll } from '../../support/services/aws/emulator';
import type {
  CloudWatchEmulator,
  RdsDurations,
  RdsEmulator,
  RecordedCall,
} from '../../support/services/aws/emulator';
import { CrashPoint } from '../../support/runtimes/in-process-crash';
import { untilRun as untilRunMatching } from '../../support/runtimes/run-state';
import {
  startStrategyRuntime,
  stopRuntimeAndClean,
  strategyTargets,
  type StrategyRuntimeOptions,
} from '../../support/runtimes/harness';

export const NO_RETRY_REGION = 'eu-west-1';
export const SDK_REGION = 'eu-central-1';

/** Step indexes of the two plans (see planReplicaPromotion). */
export const RDS_STEP = {
  preflight: 0,
  waitLag: 1,
  gate: 2,
  recheck: 3,
  promote: 4,
  waitPromoted: 5,
} as const;
export const BG_STEP = { preflight: 0, gate: 1, switchover: 2, wait: 3 } as const;

export const TARGETS_YAML = `
defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: orders-rds
    strategy: replica-promotion
    rds: { region: ${NO_RETRY_REGION}, primary: orders-primary, replica: orders-replica, promoteTimeout: 10m, allowDataLoss: true }
    maxLag: { seconds: 5 }
    lagPollInterval: 50ms
  - name: ledger-rds
    strategy: replica-promotion
    rds: { region: ${SDK_REGION}, primary: ledger-primary, replica: ledger-replica, promoteTimeout: 10m, allowDataLoss: true }
    maxLag: { seconds: 5 }
    lagPollInterval: 50ms
  - name: orders-unfenced
    strategy: replica-promotion
    rds: { region: ${NO_RETRY_REGION}, primary: orders-primary, replica: orders-replica }
    maxLag: { seconds: 5 }
    lagPollInterval: 50ms
  - name: orders-bg
    strategy: replica-promotion
    rdsBlueGreen: { region: ${NO_RETRY_REGION}, deployment: bgd-abc123, switchoverTimeout: 5m }
`;

/**
 * An adapter whose PromoteReadReplica is sent (RDS accepts it), and then the process is "gone": the
 * call never returns, as after a SIGKILL right after the request (nothing after it runs).
 */
export class DiesAfterPromote extends AwsRdsAdapter {
  private readonly point = new CrashPoint();
  readonly promoteAccepted = this.point.reached;

  override async promoteReadReplica(region: string, replicaId: string): Promise<void> {
    await super.promoteReadReplica(region, replicaId);
    return this.point.hang();
  }
}

/** RDS targets without sql never touch PostgreSQL: any call is a bug in the test or the strategy. */
function unused(name: string): () => Promise<never> {
  return () => Promise.reject(new Error(`ReplicationPort.${name} must not be called for an RDS target`));
}

export const unusedReplication: ReplicationPort = new Proxy({} as ReplicationPort, {
  // Every method rejects; the optional session scope is absent (and the object is not a thenable).
  get: (_target, name) =>
    name === 'withSessions' || name === 'then' || typeof name === 'symbol' ? undefined : unused(name),
});

/** How long one look of a polling step takes, for promotion phases counted in looks. */
export const LOOK_MS = 50;

/** A promotion's phases, in looks of LOOK_MS: stale `available`, `modifying`, `rebooting`. */
export function promotionPhases(
  phases: { stale?: number; modifying?: number; rebooting?: number } = {},
): Partial<RdsDurations> {
  return {
    promoteStaleMs: (phases.stale ?? 0) * LOOK_MS,
    promoteModifyingMs: (phases.modifying ?? 2) * LOOK_MS,
    promoteRebootingMs: (phases.rebooting ?? 1) * LOOK_MS,
  };
}

/**
 * The AWS side of a suite: the emulator (started before the file's tests, with the environment
 * pointing at it), the clients of both regions and the calls RDS and CloudWatch received. Create it
 * at the top of a test file; close it after the runtimes have stopped.
 */
export class AwsWorld {
  private readonly emulator = startAwsEmulatorBeforeAll();
  private readonly clients: { destroy(): void }[] = [];
  private nextLagAt = 0;

  get rds(): RdsEmulator {
    return this.emulator.get().rds;
  }

  get cloudWatch(): CloudWatchEmulator {
    return this.emulator.get().cloudWatch;
  }

  /** A fresh world (instances, deployments, lag, recorded calls), on this clock if one is given. */
  reset(durations: Partial<RdsDurations> = promotionPhases(), clock?: Clock): RdsEmulator {
    this.emulator.get().reset({ rds: durations, ...(clock ? { clock } : {}) });
    // ReplicaLag datapoints a minute apart, from four minutes ago: CloudWatch aggregates a minute
    // (the Maximum), and the adapter reads the newest minute of the last five.
    this.nextLagAt = Date.now() - 4 * 60_000;
    return this.rds;
  }

  /** A ReplicaLag datapoint a minute after the previous one: the newest the adapter reads. */
  lag(instanceId: string, seconds: number): void {
    this.cloudWatch.addReplicaLag(instanceId, new Date(this.nextLagAt), seconds);
    this.nextLagAt += 60_000;
  }

  /** The adapter as production builds it, with fast polling and these clients. */
  adapter(options: AwsRdsAdapterOptions = {}): AwsRdsAdapter {
    return new AwsRdsAdapter(this.adapterOptions(options));
  }

  adapterOptions(options: AwsRdsAdapterOptions = {}): AwsRdsAdapterOptions {
    return {
      rdsClient: (region) =>
        this.keep(
          region === SDK_REGION ? defaultRdsClientFactory(region) : new RDSClient({ region, maxAttempts: 1 }),
        ),
      cloudWatchClient: (region) =>
        this.keep(
          region === SDK_REGION
            ? defaultCloudWatchClientFactory(region)
            : new CloudWatchClient({ region, maxAttempts: 1 }),
        ),
      minDelaySeconds: 0.01,
      maxDelaySeconds: 0.05,
      switchoverStartGraceSeconds: 2,
      ...options,
    };
  }

  /** RDS's and CloudWatch's calls in the order they arrived. */
  calls(): RecordedCall[] {
    return [...this.rds.calls, ...this.cloudWatch.calls].sort((a, b) => a.sequence - b.sequence);
  }

  /** `Action` or `Action!Outcome` per call from call number `from`, leaving out `except`. */
  commands(from = 0, except: readonly string[] = []): string[] {
    return this.calls()
      .slice(from)
      .filter((call) => !except.includes(call.action))
      .map((call) => (call.outcome === 'ok' ? call.action : `${call.action}!${call.outcome}`));
  }

  /** Calls of `action` RDS carried out, whether or not its answer arrived. */
  accepted(action: string): number {
    return this.rds.calls.filter(
      (call) => call.action === action && ['ok', 'lost-response', 'garbled-response'].includes(call.outcome),
    ).length;
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.destroy();
    await this.emulator.close();
  }

  private keep<Client extends { destroy(): void }>(client: Client): Client {
    this.clients.push(client);
    return client;
  }
}

export function replicaPromotion(rds: RdsPort): Strategy {
  return createReplicaPromotion({
    replication: unusedReplication,
    rds,
    hooks: new ProcessHookRunner(),
    env: {},
  });
}

/** The targets file above, validated by the real loader against the strategy's config schema. */
export function rdsTargets(strategy: Strategy): TargetsConfig {
  return strategyTargets(strategy, TARGETS_YAML, { file: 'rds-targets.yaml' });
}

export type RdsRuntimeOptions = Omit<StrategyRuntimeOptions, 'targets' | 'strategy'> & { strategy: Strategy };

/** The one runtime builder (startStrategyRuntime) with the targets file above. */
export function startRdsRuntime(options: RdsRuntimeOptions): Promise<Runtime> {
  return startStrategyRuntime({ ...options, targets: rdsTargets(options.strategy) });
}

/** Stops a runtime and removes what it left: queue keys, then the schema. */
export function stopRdsRuntime(runtime: Runtime, schema: string): Promise<void> {
  return stopRuntimeAndClean(runtime, schema);
}

export function targetOf(runtime: Runtime, name: string): TargetConfig {
  const found = runtime.findTarget(name);
  if (!found) throw new Error(`no target ${name}`);
  return found;
}

export { startRun } from '../../support/runtimes/harness';

/** untilRun with these suites' timeout. */
export function untilRun(
  runtime: Runtime,
  runId: string,
  what: string,
  predicate: (run: Run) => boolean,
  timeoutMs = 20_000,
): Promise<Run> {
  return untilRunMatching(runtime, runId, what, predicate, timeoutMs);
}

export function untilState(runtime: Runtime, runId: string, ...states: RunState[]): Promise<Run> {
  return untilRun(runtime, runId, `in ${states.join('|')}`, (run) => states.includes(run.state));
}

export function untilFinished(runtime: Runtime, runId: string): Promise<Run> {
  return untilState(runtime, runId, 'succeeded', 'failed', 'aborted');
}
