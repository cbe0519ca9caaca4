// Executors of an RDS read-replica promotion and of an RDS Blue/Green switchover. The AWS calls
// that cannot be taken back (PromoteReadReplica, SwitchoverBlueGreenDeployment) are sent only after
// describing the world, and never again by an attempt that may already have sent them.
import { fatal, needsHuman, retryable } from '../../engine/failures';
import { AwsRefusal, type RdsPort } from '../../ports/rds';
import type { ReplicationPort } from '../../ports/replication';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import type { ReplicaPromotionSettings } from './config';
import { settingsOf } from './plan';
import {
  OutcomeUnknown,
  promoteIfStillReplica,
  promotionVerified,
  replicaPreflight,
  switchoverIfReady,
} from './rds-decisions';

export interface RdsExecutorDeps {
  rds: RdsPort;
  replication: ReplicationPort;
  env: NodeJS.ProcessEnv;
}

/** How long one job may block in an SDK waiter before it hands over to a new (delayed) job. */
const WAIT_SLICE_MS = 20_000;

function rdsOf(ctx: StepContext): NonNullable<ReplicaPromotionSettings['rds']> {
  const rds = settingsOf(ctx.target).rds;
  if (!rds) throw fatal('target has no rds section');
  return rds;
}

function blueGreenOf(ctx: StepContext): NonNullable<ReplicaPromotionSettings['rdsBlueGreen']> {
  const bg = settingsOf(ctx.target).rdsBlueGreen;
  if (!bg) throw fatal('target has no rdsBlueGreen section');
  return bg;
}

/** AWS refusals become engine failures: throttling and 5xx retry; a bad state means look again. */
function asFailure(error: unknown): never {
  if (error instanceof AwsRefusal) {
    if (error.retryable || error.code === 'invalid_state') throw retryable(error.message, { cause: error });
    throw fatal(error.message, { cause: error });
  }
  throw error;
}

/**
 * Did an earlier attempt of this step perhaps send its irreversible request? A resumed attempt
 * (its worker died mid-step) or one after an unknown outcome: then it is never sent again.
 */
function maybeSentBefore(ctx: StepContext): boolean {
  return ctx.resumed || ctx.step.error?.detail?.['maybeSent'] === true;
}

/**
 * Failures of a step that sends an irreversible request: an unknown outcome, or any failure of an
 * attempt that already may have sent it, retries as "describe, do not send" (the mark travels in
 * the step's recorded error to the next attempt).
 */
function sendFailure(previouslyAttempted: boolean): (error: unknown) => never {
  return (error) => {
    if (error instanceof OutcomeUnknown || previouslyAttempted) {
      throw retryable((error as Error).message, { detail: { maybeSent: true }, cause: error });
    }
    return asFailure(error);
  };
}

function elapsedMs(ctx: StepContext): number {
  return ctx.step.startedAt ? ctx.clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
}

export async function rdsPreflight(
  rds: RdsPort,
  settings: ReplicaPromotionSettings,
): Promise<PreflightCheck[]> {
  try {
    if (settings.rds) {
      const { region, replica, primary } = settings.rds;
      const verdict = replicaPreflight(await rds.describeReplica(region, replica), primary);
      return [
        {
          name: `${replica} is a promotable replica of ${primary}`,
          ok: verdict.blockers.length === 0,
          detail: verdict.blockers.join('; ') || 'available, replicating',
        },
        ...verdict.warnings.map((warning: string) => ({ name: 'warning', ok: true, detail: warning })),
      ];
    }
    if (settings.rdsBlueGreen) {
      const { region, deployment } = settings.rdsBlueGreen;
      const found = await rds.describeBlueGreen(region, deployment);
      return [
        {
          name: `${deployment} ready to switch over`,
          ok: found?.switchoverReady ?? false,
          detail: found
            ? `${found.status}${found.statusDetails ? `: ${found.statusDetails}` : ''}`
            : 'not found',
        },
      ];
    }
  } catch (error) {
    return [{ name: 'AWS reachable', ok: false, detail: (error as Error).message }];
  }
  return [];
}

export function rdsExecutors(deps: RdsExecutorDeps): Record<string, StepExecutor> {
  const { rds } = deps;

  const lagCheck = async (
    ctx: StepContext,
  ): Promise<{ seconds: number | null; ok: boolean; limit: number }> => {
    const { region, replica } = rdsOf(ctx);
    const limit = settingsOf(ctx.target).maxLag.seconds ?? 5;
    const seconds = await rds.replicaLagSeconds(region, replica).catch(asFailure);
    return { seconds, ok: seconds !== null && seconds <= limit, limit };
  };

  return {
    'rds-preflight': {
      async execute(ctx) {
        const { region, replica, primary } = rdsOf(ctx);
        const instance = await rds.describeReplica(region, replica).catch(asFailure);
        const verdict = replicaPreflight(instance, primary);
        if (verdict.blockers.length > 0) throw fatal(`preflight refused: ${verdict.blockers.join('; ')}`);
        return { type: 'done', output: { status: instance?.status ?? null, warnings: verdict.warnings } };
      },
    },

    'rds-wait-lag': {
      async execute(ctx): Promise<StepResult> {
        const lag = await lagCheck(ctx);
        if (lag.ok) return { type: 'done', output: { seconds: lag.seconds } };
        return {
          type: 'wait',
          delayMs: settingsOf(ctx.target).lagPollInterval,
          output: {
            seconds: lag.seconds,
            waitingFor: `ReplicaLag ${lag.seconds ?? 'unknown'} s > ${lag.limit} s`,
          },
        };
      },
    },

    'rds-recheck-lag': {
      async execute(ctx) {
        const lag = await lagCheck(ctx);
        if (!lag.ok) {
          throw needsHuman(
            `ReplicaLag is ${lag.seconds === null ? 'unknown (counts as too high)' : `${lag.seconds} s`} > ${lag.limit} s since the approval; not promoting. Retry to check again, or abort.`,
          );
        }
        return { type: 'done', output: { seconds: lag.seconds } };
      },
    },

    'rds-promote': {
      async execute(ctx) {
        const { region, replica } = rdsOf(ctx);
        // An attempt that may have sent PromoteReadReplica already (its worker died, or the answer
        // was lost) is followed by attempts that describe and wait, never by a second request.
        const previouslyAttempted = maybeSentBefore(ctx);
        const result = await promoteIfStillReplica(rds, region, replica, { previouslyAttempted }).catch(
          sendFailure(previouslyAttempted),
        );
        return { type: 'done', output: { result } };
      },
    },

    'rds-wait-promoted': {
      async execute(ctx): Promise<StepResult> {
        const { region, replica, promoteTimeout } = rdsOf(ctx);
        const waited = await rds
          .waitAvailable(region, replica, WAIT_SLICE_MS, { untilPromoted: true })
          .catch(asFailure);
        if (waited.outcome === 'available' && promotionVerified(waited.instance)) {
          return {
            type: 'done',
            output: {
              status: waited.instance.status,
              report: `:white_check_mark: ${replica} is promoted and available.`,
            },
          };
        }
        if (waited.outcome === 'failed') {
          throw needsHuman(
            `${replica} went to ${waited.instance.status} during promotion; check it in the RDS console.`,
          );
        }
        if (elapsedMs(ctx) > promoteTimeout) {
          throw needsHuman(
            `${replica} is still ${waited.instance.status} after ${Math.round(elapsedMs(ctx) / 60_000)} min; the promotion has not completed. Retry to keep waiting.`,
          );
        }
        return { type: 'wait', delayMs: 0, output: { status: waited.instance.status } };
      },
    },

    'bg-preflight': {
      async execute(ctx) {
        const { region, deployment } = blueGreenOf(ctx);
        const found = await rds.describeBlueGreen(region, deployment).catch(asFailure);
        if (!found) throw fatal(`Blue/Green deployment ${deployment} not found in ${region}`);
        if (!found.switchoverReady) {
          throw fatal(`Blue/Green deployment ${deployment} is not ready to switch over (${found.status})`);
        }
        return { type: 'done', output: { status: found.status, source: found.source, target: found.target } };
      },
    },

    'bg-switchover': {
      async execute(ctx) {
        const { region, deployment, switchoverTimeout } = blueGreenOf(ctx);
        const previouslyAttempted = maybeSentBefore(ctx);
        const result = await switchoverIfReady(rds, region, deployment, Math.ceil(switchoverTimeout / 1000), {
          previouslyAttempted,
        }).catch(sendFailure(previouslyAttempted));
        return { type: 'done', output: { result, requestedAtMs: Date.now() } };
      },
    },

    'bg-wait': {
      async execute(ctx): Promise<StepResult> {
        const { region, deployment, switchoverTimeout } = blueGreenOf(ctx);
        // When the request went out, so a later slice can tell "rolled back" from "not started yet".
        const requestedAtMs = Number(
          ctx.run.steps.find((step) => step.spec.name === 'switchover')?.output?.['requestedAtMs'],
        );
        const waited = await rds
          .waitSwitchover(
            region,
            deployment,
            WAIT_SLICE_MS,
            Number.isFinite(requestedAtMs) ? { requestedAt: new Date(requestedAtMs) } : {},
          )
          .catch(asFailure);
        switch (waited.outcome) {
          case 'SWITCHOVER_COMPLETED':
            return {
              type: 'done',
              output: {
                outcome: waited.outcome,
                report: `:white_check_mark: ${deployment}: switchover completed; green serves.`,
              },
            };
          case 'TIMED_OUT':
            // RDS rolls back by itself past SwitchoverTimeout; allow it a margin to say so.
            if (elapsedMs(ctx) > switchoverTimeout + 10 * 60_000) {
              throw needsHuman(
                `${deployment} still reports a switchover in progress long after its timeout; check the RDS console.`,
              );
            }
            return { type: 'wait', delayMs: 0, output: { outcome: waited.outcome } };
          default:
            // Failed, rolled back, never started: blue still serves. Say so; never report success.
            throw fatal(
              `switchover of ${deployment} ended ${waited.outcome}${waited.deployment?.statusDetails ? ` (${waited.deployment.statusDetails})` : ''}; blue still serves`,
            );
        }
      },
    },
  };
}
