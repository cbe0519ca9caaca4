// Shared by the RDS replica-promotion suites: the real runtime (PostgreSQL store, BullMQ on Redis,
// workers, reconciler) around the real replica-promotion strategy, whose RdsPort is the real
// AwsRdsAdapter talking to RDS/CloudWatch clients that the stateful RdsModel answers. Targets come
// from YAML through parseTargets and the strategy's own config schema.
//
// Two regions, two ways the model is wired in:
//  - MOCK_REGION (eu-west-1): aws-sdk-client-mock stubs `send` on one client instance, so the SDK's
//    retry middleware does not run: a throttled call surfaces to the executor and the engine backs
//    off (a new attempt of the step).
//  - SDK_REGION (eu-central-1): a real client with the production retry settings (AWS_CLIENT_RETRY)
//    and the model in place of the network, inside the retry middleware: the SDK itself backs off.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PromoteReadReplicaCommand, RDSClient } from '@aws-sdk/client-rds';
import type { PromoteReadReplicaCommandInput } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';

import { AWS_CLIENT_RETRY, AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import type { AwsRdsAdapterOptions } from '../../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { parseTargets } from '../../../src/config/targets';
import type { Role, TargetConfig, TargetsConfig } from '../../../src/config/types';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { RdsPort } from '../../../src/ports/rds';
import type { ReplicationPort } from '../../../src/ports/replication';
import { configSchemasOf } from '../../../src/strategies/index';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { registryOf, type Strategy } from '../../../src/strategies/types';
import { RdsModel, type ModelCommand, type PromotionScript } from '../../support/aws/rds-model';
import { REQUESTER } from '../../support/harness';
import { waitFor } from '../../support/wait-for';
import { startStrategyRuntime, stopRuntimeAndClean } from '../../support/harness';

export const MOCK_REGION = 'eu-west-1';
export const SDK_REGION = 'eu-central-1';
const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-only-secret' };

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
    rds: { region: ${MOCK_REGION}, primary: orders-primary, replica: orders-replica, promoteTimeout: 10m }
    maxLag: { seconds: 5 }
    lagPollInterval: 50ms
  - name: ledger-rds
    strategy: replica-promotion
    rds: { region: ${SDK_REGION}, primary: ledger-primary, replica: ledger-replica, promoteTimeout: 10m }
    maxLag: { seconds: 5 }
    lagPollInterval: 50ms
  - name: orders-bg
    strategy: replica-promotion
    rdsBlueGreen: { region: ${MOCK_REGION}, deployment: bgd-abc123, switchoverTimeout: 5m }
`;

/** RDS targets never touch self-managed replication: any call is a bug in the test or the strategy. */
function unused(name: string): () => Promise<never> {
  return () => Promise.reject(new Error(`ReplicationPort.${name} must not be called for an RDS target`));
}

export const unusedReplication: ReplicationPort = {
  describe: unused('describe'),
  standbys: unused('standbys'),
  lag: unused('lag'),
  fence: unused('fence'),
  verifyFenced: unused('verifyFenced'),
  unfence: unused('unfence'),
  bytesBehind: unused('bytesBehind'),
  promote: unused('promote'),
  verifyPromoted: unused('verifyPromoted'),
};

/** An SDK network error after the request left (what a lost response looks like to the caller). */
export function connectionReset(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** The AWS side of a suite: mocked and SDK-retrying clients, answered by one RdsModel. */
export class AwsWorld {
  readonly rdsClient = new RDSClient({ region: MOCK_REGION, credentials: TEST_CREDENTIALS });
  readonly cloudWatchClient = new CloudWatchClient({ region: MOCK_REGION, credentials: TEST_CREDENTIALS });
  readonly rdsMock = mockClient(this.rdsClient);
  readonly cloudWatchMock = mockClient(this.cloudWatchClient);
  readonly sdkRdsClient = new RDSClient({
    region: SDK_REGION,
    credentials: TEST_CREDENTIALS,
    ...AWS_CLIENT_RETRY,
  });
  readonly sdkCloudWatchClient = new CloudWatchClient({
    region: SDK_REGION,
    credentials: TEST_CREDENTIALS,
    ...AWS_CLIENT_RETRY,
  });
  model = new RdsModel(MOCK_REGION);
  private lastLagAt = 0;

  /** A fresh model (instances, deployments, lag, recorded calls) behind every client. */
  reset(promotion: PromotionScript = {}): RdsModel {
    this.rdsMock.reset();
    this.cloudWatchMock.reset();
    this.model = new RdsModel(MOCK_REGION, promotion);
    this.model.installOn(this.rdsMock, this.cloudWatchMock);
    this.model.attachToRds(this.sdkRdsClient);
    this.model.attachToCloudWatch(this.sdkCloudWatchClient);
    return this.model;
  }

  /** A ReplicaLag datapoint newer than every earlier one: the adapter reports the newest. */
  lag(instanceId: string, seconds: number): void {
    const at = Math.max(Date.now() - 1_000, this.lastLagAt + 1);
    this.lastLagAt = at;
    this.model.addLagDatapoint(instanceId, new Date(at), seconds);
  }

  /**
   * PromoteReadReplica reaches the model and is accepted (recorded, state changed), but the next
   * `count` answers are lost on the way back: the caller sees `error()` (default: a connection reset).
   */
  loseNextPromoteResponses(count: number, error: () => Error = connectionReset): void {
    let remaining = count;
    this.rdsMock.on(PromoteReadReplicaCommand).callsFake((input: PromoteReadReplicaCommandInput) => {
      const model = this.model;
      let output;
      try {
        output = model.promoteReadReplica(input);
      } catch (error) {
        model.calls.push({ command: 'PromoteReadReplica', input, outcome: (error as Error).name });
        throw error;
      }
      model.calls.push({ command: 'PromoteReadReplica', input, outcome: 'ok' });
      if (remaining > 0) {
        remaining -= 1;
        throw error();
      }
      return output;
    });
  }

  /** The adapter as production builds it, with fast polling and these clients. */
  adapter(options: AwsRdsAdapterOptions = {}): AwsRdsAdapter {
    return new AwsRdsAdapter(this.adapterOptions(options));
  }

  adapterOptions(options: AwsRdsAdapterOptions = {}): AwsRdsAdapterOptions {
    return {
      rdsClient: (region) => (region === SDK_REGION ? this.sdkRdsClient : this.rdsClient),
      cloudWatchClient: (region) =>
        region === SDK_REGION ? this.sdkCloudWatchClient : this.cloudWatchClient,
      minDelaySeconds: 0.01,
      maxDelaySeconds: 0.05,
      switchoverStartGraceSeconds: 2,
      ...options,
    };
  }

  /** Commands the model received since call number `from`, in order (e.g. to check describe-first). */
  commands(from = 0, except: ModelCommand[] = []): string[] {
    return this.model.calls
      .slice(from)
      .filter((call) => !except.includes(call.command))
      .map((call) => (call.outcome === 'ok' ? call.command : `${call.command}!${call.outcome}`));
  }

  close(): void {
    this.rdsMock.restore();
    this.cloudWatchMock.restore();
    for (const client of [
      this.rdsClient,
      this.cloudWatchClient,
      this.sdkRdsClient,
      this.sdkCloudWatchClient,
    ]) {
      client.destroy();
    }
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
  return parseTargets(TARGETS_YAML, 'rds-targets.yaml', {
    env: {},
    strategies: configSchemasOf(registryOf([strategy])),
  });
}

export interface RdsRuntimeOptions {
  schema: string;
  queueName: string;
  strategy: Strategy;
  role?: Role;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export function startRdsRuntime(options: RdsRuntimeOptions): Promise<Runtime> {
  return startStrategyRuntime({
    strategy: options.strategy,
    targets: rdsTargets(options.strategy),
    schema: options.schema,
    queueName: options.queueName,
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.lockDurationMs !== undefined ? { lockDurationMs: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs !== undefined ? { stalledIntervalMs: options.stalledIntervalMs } : {}),
  });
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

export async function startRun(runtime: Runtime, name: string): Promise<Run> {
  const outcome = await runtime.runs.start({ target: targetOf(runtime, name), requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

export function untilRun(
  runtime: Runtime,
  runId: string,
  what: string,
  predicate: (run: Run) => boolean,
  timeoutMs = 20_000,
): Promise<Run> {
  return waitFor(
    `run ${runId}: ${what}`,
    async () => {
      const run = await runtime.store.getRun(runId);
      return run && predicate(run) ? run : undefined;
    },
    { timeoutMs, intervalMs: 10 },
  );
}

export function untilState(runtime: Runtime, runId: string, ...states: RunState[]): Promise<Run> {
  return untilRun(runtime, runId, `in ${states.join('|')}`, (run) => states.includes(run.state));
}

export function untilFinished(runtime: Runtime, runId: string): Promise<Run> {
  return untilState(runtime, runId, 'succeeded', 'failed', 'aborted');
}
