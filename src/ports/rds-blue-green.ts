// RDS Blue/Green deployments: describe one, switch it over, wait until the switchover is decided.
// Step-shaped like every RDS port: describe first, send SwitchoverBlueGreenDeployment only if the
// deployment still needs it. This file imports no SDK.

export interface BlueGreenMember {
  /** ARN of the blue (source) resource. */
  source: string | null;
  /** ARN of the green (target) resource. */
  target: string | null;
  /** PROVISIONING, AVAILABLE, SWITCHOVER_IN_PROGRESS, SWITCHOVER_COMPLETED, SWITCHOVER_FAILED, MISSING_SOURCE, MISSING_TARGET */
  status: string;
}

export interface BlueGreenTask {
  name: string;
  /** PENDING, IN_PROGRESS, COMPLETED, FAILED */
  status: string;
}

export interface BlueGreenDescription {
  id: string;
  name: string | null;
  /** PROVISIONING, AVAILABLE, SWITCHOVER_IN_PROGRESS, SWITCHOVER_COMPLETED, INVALID_CONFIGURATION, SWITCHOVER_FAILED, DELETING */
  status: string;
  statusDetails: string | null;
  /** ARN of the blue environment's source database. */
  source: string | null;
  /** ARN of the green environment's target database. */
  target: string | null;
  /**
   * Status AVAILABLE, every switchover member AVAILABLE and every task COMPLETED: green is
   * provisioned and replicating. (RDS itself checks replica lag again during the switchover and
   * rolls back if it cannot catch up within SwitchoverTimeout.)
   */
  switchoverReady: boolean;
  members: BlueGreenMember[];
  tasks: BlueGreenTask[];
}

/**
 * How a wait for a Blue/Green switchover ended. Only SWITCHOVER_COMPLETED is success.
 * - ROLLED_BACK: seen SWITCHOVER_IN_PROGRESS, then AVAILABLE again (RDS rolled back, e.g. after
 *   SwitchoverTimeout); blue still serves.
 * - NOT_STARTED: AVAILABLE past the start grace period (counted from the request) and not seen in
 *   progress by this call: the request did not take, or it rolled back while nobody was looking
 *   (e.g. between two wait slices); blue still serves either way.
 * - NOT_FOUND: the deployment is gone.
 * - TIMED_OUT: still in progress (or provisioning) when the wait ran out; nothing is decided yet.
 */
export type SwitchoverOutcome =
  | 'SWITCHOVER_COMPLETED'
  | 'SWITCHOVER_FAILED'
  | 'INVALID_CONFIGURATION'
  | 'DELETING'
  | 'ROLLED_BACK'
  | 'NOT_STARTED'
  | 'NOT_FOUND'
  | 'TIMED_OUT';

export interface WaitSwitchoverOptions {
  /** When the switchover was requested; default: the start of this call. */
  requestedAt?: Date;
}

export interface SwitchoverWaitResult {
  outcome: SwitchoverOutcome;
  /** The last description seen; null when the deployment was not found. */
  deployment: BlueGreenDescription | null;
}

export interface RdsBlueGreenPort {
  /** DescribeBlueGreenDeployments for one deployment; null when it does not exist. */
  describeBlueGreen(region: string, deploymentId: string): Promise<BlueGreenDescription | null>;
  /**
   * Sends SwitchoverBlueGreenDeployment with SwitchoverTimeout (seconds; RDS rolls back past it).
   * Returns the deployment as RDS answered (status usually SWITCHOVER_IN_PROGRESS).
   */
  switchoverBlueGreen(
    region: string,
    deploymentId: string,
    timeoutSeconds: number,
  ): Promise<BlueGreenDescription | null>;
  /**
   * Polls DescribeBlueGreenDeployments until a terminal status or timeoutMs. Safe to call in short
   * slices: pass `requestedAt` (when SwitchoverBlueGreenDeployment was sent) so the NOT_STARTED
   * grace period counts from the request, not from this call.
   */
  waitSwitchover(
    region: string,
    deploymentId: string,
    timeoutMs: number,
    options?: WaitSwitchoverOptions,
  ): Promise<SwitchoverWaitResult>;
}
