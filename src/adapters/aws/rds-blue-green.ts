// RdsBlueGreenPort on the SDK: DescribeBlueGreenDeployments, SwitchoverBlueGreenDeployment (on the
// send-once client) and the wait until a switchover is decided (a poll of describe).
import {
  DescribeBlueGreenDeploymentsCommand,
  SwitchoverBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import type { BlueGreenDeployment } from '@aws-sdk/client-rds';
import { AwsRefusal } from '../../ports/aws-refusal';
import { systemClock, type Clock } from '../../ports/clock';
import type {
  BlueGreenDescription,
  RdsBlueGreenPort,
  SwitchoverOutcome,
  SwitchoverWaitResult,
  WaitSwitchoverOptions,
} from '../../ports/rds-blue-green';
import { classifyAwsError } from './errors';
import type { RdsClients } from './rds-clients';
import { Backoff, pollDelaysOf, type PollDelays, type PollOptions } from './rds-polling';

export interface BlueGreenOptions extends PollOptions {
  /**
   * How long waitSwitchover accepts AVAILABLE without having seen SWITCHOVER_IN_PROGRESS before it
   * reports NOT_STARTED (describe can lag the switchover request). Default 60 s.
   */
  switchoverStartGraceSeconds?: number;
}

const TERMINAL_SWITCHOVER = new Set<SwitchoverOutcome>([
  'SWITCHOVER_COMPLETED',
  'SWITCHOVER_FAILED',
  'INVALID_CONFIGURATION',
  'DELETING',
]);

export function toBlueGreenDescription(deployment: BlueGreenDeployment): BlueGreenDescription {
  const members = (deployment.SwitchoverDetails ?? []).map((detail) => ({
    source: detail.SourceMember ?? null,
    target: detail.TargetMember ?? null,
    status: detail.Status ?? 'UNKNOWN',
  }));
  const tasks = (deployment.Tasks ?? []).map((task) => ({
    name: task.Name ?? '',
    status: task.Status ?? 'UNKNOWN',
  }));
  const status = deployment.Status ?? 'UNKNOWN';
  return {
    id: deployment.BlueGreenDeploymentIdentifier ?? '',
    name: deployment.BlueGreenDeploymentName ?? null,
    status,
    statusDetails: deployment.StatusDetails ?? null,
    source: deployment.Source ?? null,
    target: deployment.Target ?? null,
    switchoverReady:
      status === 'AVAILABLE' &&
      members.every((member) => member.status === 'AVAILABLE') &&
      tasks.every((task) => task.status === 'COMPLETED'),
    members,
    tasks,
  };
}

export class RdsBlueGreen implements RdsBlueGreenPort {
  private readonly delays: PollDelays;
  private readonly startGraceMs: number;

  constructor(
    private readonly clients: RdsClients,
    options: BlueGreenOptions = {},
    /** The wait's deadline and start grace: they bound real sleeps (AwsRdsAdapter leaves systemClock). */
    private readonly clock: Clock = systemClock,
  ) {
    this.delays = pollDelaysOf(options);
    this.startGraceMs = (options.switchoverStartGraceSeconds ?? 60) * 1000;
  }

  async describeBlueGreen(region: string, deploymentId: string): Promise<BlueGreenDescription | null> {
    try {
      const output = await this.clients
        .rds(region)
        .send(new DescribeBlueGreenDeploymentsCommand({ BlueGreenDeploymentIdentifier: deploymentId }));
      const deployment = output.BlueGreenDeployments?.[0];
      return deployment === undefined ? null : toBlueGreenDescription(deployment);
    } catch (error) {
      const refusal = classifyAwsError(error);
      if (refusal.code === 'not_found') return null;
      throw refusal;
    }
  }

  async switchoverBlueGreen(
    region: string,
    deploymentId: string,
    timeoutSeconds: number,
  ): Promise<BlueGreenDescription | null> {
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new RangeError(
        `SwitchoverTimeout must be a positive whole number of seconds, got ${timeoutSeconds}`,
      );
    }
    try {
      const output = await this.clients.sendOnce(region).send(
        new SwitchoverBlueGreenDeploymentCommand({
          BlueGreenDeploymentIdentifier: deploymentId,
          SwitchoverTimeout: timeoutSeconds,
        }),
      );
      return output.BlueGreenDeployment === undefined
        ? null
        : toBlueGreenDescription(output.BlueGreenDeployment);
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async waitSwitchover(
    region: string,
    deploymentId: string,
    timeoutMs: number,
    options: WaitSwitchoverOptions = {},
  ): Promise<SwitchoverWaitResult> {
    const startedAt = this.clock.now().getTime();
    const graceFrom = options.requestedAt?.getTime() ?? startedAt;
    const deadline = startedAt + timeoutMs;
    const backoff = new Backoff(this.delays);
    let sawInProgress = false;
    let last: BlueGreenDescription | null = null;
    let lastRefusal: AwsRefusal | null = null;
    for (;;) {
      let deployment: BlueGreenDescription | null | undefined;
      try {
        deployment = await this.describeBlueGreen(region, deploymentId);
      } catch (error) {
        // Throttling that outlasted the SDK's retries, a 5xx: keep polling while time remains.
        const refusal = classifyAwsError(error);
        if (!refusal.retryable) throw refusal;
        lastRefusal = refusal;
        deployment = undefined;
      }
      if (deployment === null) return { outcome: 'NOT_FOUND', deployment: null };
      if (deployment !== undefined) {
        last = deployment;
        const status = deployment.status as SwitchoverOutcome;
        if (TERMINAL_SWITCHOVER.has(status)) return { outcome: status, deployment };
        if (deployment.status === 'SWITCHOVER_IN_PROGRESS') sawInProgress = true;
        if (deployment.status === 'AVAILABLE') {
          if (sawInProgress) return { outcome: 'ROLLED_BACK', deployment };
          if (this.clock.now().getTime() - graceFrom >= this.startGraceMs) {
            return { outcome: 'NOT_STARTED', deployment };
          }
        }
      }
      const remainingMs = deadline - this.clock.now().getTime();
      if (remainingMs <= 0) {
        if (last === null) throw lastRefusal ?? new AwsRefusal('other', 'no answer', { retryable: true });
        return { outcome: 'TIMED_OUT', deployment: last };
      }
      await backoff.sleep(remainingMs);
    }
  }
}
