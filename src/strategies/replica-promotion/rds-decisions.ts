// Describe-then-act decisions for RDS promotion and Blue/Green switchover. Pure functions of what
// RdsPort reports, plus two tiny helpers that read the world before acting. They import only the
// port: executors decide with them, adapters never.
import { AwsRefusal } from '../../ports/aws-refusal';
import type { BlueGreenDescription, RdsBlueGreenPort } from '../../ports/rds-blue-green';
import type { RdsReplicaPort, ReplicaDescription } from '../../ports/rds-replicas';

/**
 * True when `reference` names the DB instance `instanceId`: the identifier itself or an RDS ARN
 * ending in `:db:<id>` (cross-region replicas report their source as an ARN).
 */
export function sameDbInstance(reference: string | null, instanceId: string): boolean {
  if (reference === null) return false;
  if (reference === instanceId) return true;
  return reference.startsWith('arn:') && reference.endsWith(`:db:${instanceId}`);
}

/** The last segment of an RDS ARN (`arn:aws:rds:eu-west-1:123:db:orders-green` -> `orders-green`). */
export function resourceIdFromArn(arn: string): string {
  const parts = arn.split(':');
  return parts[parts.length - 1] ?? arn;
}

export interface Preflight {
  /** Reasons not to go on; empty means go. */
  blockers: string[];
  /** Worth showing at the gate, not a reason to stop. */
  warnings: string[];
}

/** Is `instance` a promotable read replica of `primaryId` right now? */
export function replicaPreflight(instance: ReplicaDescription | null, primaryId: string): Preflight {
  const blockers: string[] = [];
  const warnings: string[] = [];
  if (instance === null) return { blockers: ['the replica does not exist'], warnings };
  if (instance.sourceId === null) {
    blockers.push(`${instance.id} is not a read replica (already promoted or standalone)`);
  } else if (!sameDbInstance(instance.sourceId, primaryId)) {
    blockers.push(`${instance.id} replicates from ${instance.sourceId}, not from ${primaryId}`);
  }
  if (instance.status === 'backing-up') {
    blockers.push(`${instance.id} is backing up; promotion waits for the backup`);
  } else if (instance.status !== 'available') {
    blockers.push(`${instance.id} is ${instance.status}, not available`);
  }
  if (instance.pendingModifications) {
    warnings.push(`${instance.id} has pending modifications`);
  }
  return { blockers, warnings };
}

/** Lag is acceptable only when it is known and within the limit. */
export function lagWithin(lagSeconds: number | null, maxSeconds: number): boolean {
  return lagSeconds !== null && lagSeconds <= maxSeconds;
}

/**
 * An irreversible request went out and no definite answer came back (a lost response, an error the
 * SDK could not classify): it may have been carried out. The caller must never send it again; it
 * describes and verifies instead.
 */
export class OutcomeUnknown extends Error {
  override readonly name = 'OutcomeUnknown';
}

/** RDS said no for sure (the request was not carried out): access, existence, state, throttling. */
function definitelyRefused(error: unknown): boolean {
  return (
    error instanceof AwsRefusal &&
    (error.code === 'unauthorized' ||
      error.code === 'not_found' ||
      error.code === 'throttled' ||
      error.code === 'invalid_state')
  );
}

/** Rethrows a definite refusal as it is; anything else means the request may have taken effect. */
function unknownUnlessRefused(error: unknown, request: string): never {
  if (definitelyRefused(error)) throw error;
  throw new OutcomeUnknown(`${request} may have been carried out: ${(error as Error).message}`, {
    cause: error,
  });
}

export type PromotionDecision =
  | { action: 'promote' }
  /** No source any more: promoted already (by us before a crash, or by someone else). */
  | { action: 'skip'; reason: 'already_promoted' }
  /** Still a replica but busy (modifying, rebooting, ...) or possibly already asked: do not send; wait. */
  | { action: 'wait'; reason: 'in_progress'; status: string }
  | { action: 'refuse'; reason: 'not_found' };

/**
 * `previouslyAttempted`: the executor's own record says an earlier attempt may have sent
 * PromoteReadReplica. Then it is never sent again, even if describe still shows an available
 * replica (RDS can report that for a while after accepting the request); the executor waits and
 * verifies instead, and a promotion that never shows up ends in a timeout for a human to judge.
 */
export function decidePromotion(
  instance: ReplicaDescription | null,
  previouslyAttempted = false,
): PromotionDecision {
  if (instance === null) return { action: 'refuse', reason: 'not_found' };
  if (instance.sourceId === null) return { action: 'skip', reason: 'already_promoted' };
  if (instance.status !== 'available' || previouslyAttempted) {
    return { action: 'wait', reason: 'in_progress', status: instance.status };
  }
  return { action: 'promote' };
}

/** Promoted, verified: standalone and available. */
export function promotionVerified(instance: ReplicaDescription | null): boolean {
  return instance !== null && instance.status === 'available' && instance.sourceId === null;
}

export type PromoteResult = 'promoted' | 'already_promoted' | 'in_progress';

/**
 * Reads the instance, then sends PromoteReadReplica only if it is still an available replica.
 * 'in_progress' means nothing was sent: wait (waitAvailable with untilPromoted) and verify.
 * If RDS refuses (InvalidDBInstanceState) an instance that describe still shows as an available
 * replica, the refusal is rethrown as retryable: run the step again later; it describes first.
 */
export async function promoteIfStillReplica(
  port: RdsReplicaPort,
  region: string,
  replicaId: string,
  options: { previouslyAttempted?: boolean } = {},
): Promise<PromoteResult> {
  const decision = decidePromotion(
    await port.describeReplica(region, replicaId),
    options.previouslyAttempted,
  );
  switch (decision.action) {
    case 'refuse':
      throw new AwsRefusal('not_found', `DB instance ${replicaId} not found in ${region}`);
    case 'skip':
      return 'already_promoted';
    case 'wait':
      return 'in_progress';
    case 'promote':
      break;
  }
  try {
    await port.promoteReadReplica(region, replicaId);
    return 'promoted';
  } catch (error) {
    // A promotion accepted earlier but not yet visible makes RDS refuse this one: look again.
    if (error instanceof AwsRefusal && error.code === 'invalid_state') {
      const now = await port.describeReplica(region, replicaId);
      if (now !== null && now.sourceId === null) return 'already_promoted';
      if (now !== null && now.status !== 'available') return 'in_progress';
      // Describe still shows an available replica: RDS knows something it does not show yet.
      // Worth a retry of the step (which describes again), not a failure.
      throw new AwsRefusal('invalid_state', `${error.message} (describe still shows an available replica)`, {
        retryable: true,
        awsCode: error.awsCode,
        httpStatusCode: error.httpStatusCode,
        requestId: error.requestId,
        cause: error,
      });
    }
    return unknownUnlessRefused(error, `PromoteReadReplica of ${replicaId}`);
  }
}

export type SwitchoverDecision =
  | { action: 'switch' }
  | { action: 'skip'; reason: 'already_completed' }
  | { action: 'wait'; reason: 'in_progress' }
  /** Not ready yet (provisioning, tasks running, members not available): do not send. */
  | { action: 'refuse'; reason: 'not_ready' | 'not_found' | 'failed'; status: string | null };

/**
 * `previouslyAttempted` as in decidePromotion: AVAILABLE after a switchover request may be a
 * rollback (or a request not yet visible), so the request is not sent again; waitSwitchover tells.
 */
export function decideSwitchover(
  deployment: BlueGreenDescription | null,
  previouslyAttempted = false,
): SwitchoverDecision {
  if (deployment === null) return { action: 'refuse', reason: 'not_found', status: null };
  switch (deployment.status) {
    case 'SWITCHOVER_COMPLETED':
      return { action: 'skip', reason: 'already_completed' };
    case 'SWITCHOVER_IN_PROGRESS':
      return { action: 'wait', reason: 'in_progress' };
    case 'SWITCHOVER_FAILED':
    case 'INVALID_CONFIGURATION':
    case 'DELETING':
      return { action: 'refuse', reason: 'failed', status: deployment.status };
  }
  if (previouslyAttempted) return { action: 'wait', reason: 'in_progress' };
  if (!deployment.switchoverReady)
    return { action: 'refuse', reason: 'not_ready', status: deployment.status };
  return { action: 'switch' };
}

export type SwitchoverResult = 'switched' | 'already_completed' | 'in_progress';

/**
 * Reads the deployment, then sends SwitchoverBlueGreenDeployment only if it is ready. Throws
 * AwsRefusal (not_found / invalid_state) when it cannot be switched; 'in_progress' means nothing
 * was sent: call waitSwitchover.
 */
export async function switchoverIfReady(
  port: RdsBlueGreenPort,
  region: string,
  deploymentId: string,
  timeoutSeconds: number,
  options: {
    previouslyAttempted?: boolean;
    /** Runs right before the request goes out (the executor records when it was sent). */
    beforeSend?: () => Promise<void>;
  } = {},
): Promise<SwitchoverResult> {
  const deployment = await port.describeBlueGreen(region, deploymentId);
  const decision = decideSwitchover(deployment, options.previouslyAttempted);
  switch (decision.action) {
    case 'skip':
      return 'already_completed';
    case 'wait':
      return 'in_progress';
    case 'refuse':
      throw new AwsRefusal(
        decision.reason === 'not_found' ? 'not_found' : 'invalid_state',
        decision.reason === 'not_found'
          ? `Blue/Green deployment ${deploymentId} not found in ${region}`
          : `Blue/Green deployment ${deploymentId} is ${decision.status ?? 'unknown'}` +
              (decision.reason === 'not_ready' ? ', not ready to switch over' : ''),
      );
    case 'switch':
      break;
  }
  await options.beforeSend?.();
  try {
    await port.switchoverBlueGreen(region, deploymentId, timeoutSeconds);
  } catch (error) {
    return unknownUnlessRefused(error, `SwitchoverBlueGreenDeployment of ${deploymentId}`);
  }
  return 'switched';
}
