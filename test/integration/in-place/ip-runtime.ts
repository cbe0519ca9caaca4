// Shared by the in-place suites: the real runtime (PostgreSQL store, BullMQ on Redis, workers)
// around the real in-place strategy. Its RdsPort is the real AwsRdsAdapter on an RDSClient that
// aws-sdk-client-mock stubs and the stateful RdsModel answers (the SDK's retry does not run: a
// throttled call reaches the executor and the engine backs off). Health is the real
// ProbeHealthChecker; hooks are the real ProcessHookRunner. Targets come from YAML through the
// real loader and the strategy's own schema (startVsRuntime is the volume-swap suite's generic
// "targets YAML + strategy" runtime starter).
import { ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import type { ModifyDBInstanceCommandInput } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { ProbeHealthChecker } from '../../../src/adapters/health/probe-health-checker';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import type { RdsPort } from '../../../src/ports/rds';
import { createInPlace } from '../../../src/strategies/in-place';
import type { Strategy } from '../../../src/strategies/types';
import { RdsModel, type InPlaceScript, type ModelCommand } from '../../support/aws/rds-model';
import { APPROVER } from '../../support/harness';

import { untilFinished } from '../volume-swap/vs-runtime';

export { startRun, untilFinished, untilRun } from '../volume-swap/vs-runtime';

export const REGION = 'eu-west-1';
const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-only-secret' };

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
/** Step indexes of a self-managed plan with a snapshot hook. */
export const CMD_STEP = { preflight: 0, snapshot: 1, gate: 2, command: 3, verify: 4, report: 5 } as const;

/** The AWS side: one stubbed client answered by a fresh RdsModel per test. */
export class RdsWorld {
  readonly client = new RDSClient({ region: REGION, credentials: TEST_CREDENTIALS });
  readonly mock = mockClient(this.client);
  model = new RdsModel(REGION);

  reset(script: InPlaceScript = {}): RdsModel {
    this.mock.reset();
    this.model = new RdsModel(REGION, {}, script);
    this.model.installOn(this.mock);
    return this.model;
  }

  /**
   * ModifyDBInstance reaches the model and is accepted, but the answer is lost on the way back: the
   * caller sees a connection reset (the request's outcome is unknown to it).
   */
  loseNextModifyResponse(): void {
    let lose = true;
    this.mock.on(ModifyDBInstanceCommand).callsFake((input: ModifyDBInstanceCommandInput) => {
      const model = this.model;
      const output = model.modifyDBInstance(input);
      model.calls.push({ command: 'ModifyDBInstance', input, outcome: 'ok', at: Date.now() });
      if (!lose) return output;
      lose = false;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    });
  }

  adapterOptions(): ConstructorParameters<typeof AwsRdsAdapter>[0] {
    return { rdsClient: () => this.client, minDelaySeconds: 0.01, maxDelaySeconds: 0.05 };
  }

  adapter(): AwsRdsAdapter {
    return new AwsRdsAdapter(this.adapterOptions());
  }

  /** Commands the model received since call number `from`, in order (`Name!Error` when refused). */
  commands(from = 0): string[] {
    return this.model.calls
      .slice(from)
      .map((call) => (call.outcome === 'ok' ? call.command : `${call.command}!${call.outcome}`));
  }

  count(command: ModelCommand, which: 'all' | 'ok' = 'all'): number {
    return this.model.count(command, which);
  }

  close(): void {
    this.mock.restore();
    this.client.destroy();
  }
}

export function inPlace(rds: RdsPort): Strategy {
  return createInPlace({ rds, health: new ProbeHealthChecker(), hooks: new ProcessHookRunner(), env: {} });
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
