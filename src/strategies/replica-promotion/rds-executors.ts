// Executors of an RDS read-replica promotion and of an RDS Blue/Green switchover. The AWS calls
// that cannot be taken back (PromoteReadReplica, SwitchoverBlueGreenDeployment) are sent only after
// describing the world, and never again by an attempt that may already have sent them.
import { fatal, needsHuman, retryable } from '../../engine/failures';
import { z } from 'zod';
import type { JsonObject } from '../../engine/types';
import type { RdsBlueGreenPort } from '../../ports/rds-blue-green';
import type { ReplicaLagPort } from '../../ports/rds-replica-lag';
import type { RdsReplicaPort, ReplicaDescription } from '../../ports/rds-replicas';
import type { LagReading, ReplicationPort } from '../../ports/replication';
import { outputOf, progressCodec } from '../progress';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import type { ReplicaPromotionSettings } from './config';
import { describeLag, isUnderLimit } from './lag';
import { settingsOf, type RdsExecutor } from './plan';
import { OutcomeUnknown, promoteIfStillReplica, switchoverIfReady } from './rds-decisions';
import {
  blueGreenChecks,
  blueGreenReview,
  rdsReplicaChecks,
  rdsReplicaReview,
  rdsSqlOf,
  type RdsCheckDeps,
} from './rds-preflight';
import { awsFailure } from '../shared/aws-failure';
import { refuseFailedChecks } from '../shared/preflight-refusal';

/** What bg-switchover records: when it sent SwitchoverBlueGreenDeployment (saved just before). */
const switchoverProgress = progressCodec(z.object({ requestedAtMs: z.number() }).partial().passthrough());

/** What a lag step records: CloudWatch's seconds (bytes too over SQL), and when the re-check read them. */
const lagRecord = progressCodec(
  z
    .object({ bytes: z.number().nullable(), seconds: z.number().nullable(), atMs: z.number() })
    .partial()
    .passthrough(),
);

export interface RdsExecutorDeps {
  rds: RdsReplicaPort & RdsBlueGreenPort & ReplicaLagPort;
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
    return awsFailure(error);
  };
}

/** The data-loss part of an unfenced promotion's report: the ReplicaLag reading at the re-check. */
function dataLossReport(ctx: StepContext, primary: string, replica: string): string {
  const { seconds, atMs } = lagRecord.parse(outputOf(ctx.run, 'recheck-lag'));
  const reading =
    typeof seconds === 'number'
      ? `ReplicaLag was ${seconds} s at the re-check${atMs !== undefined ? ` (${new Date(atMs).toISOString()})` : ''}`
      : 'ReplicaLag was not read at the re-check';
  return (
    `:warning: Not fenced (allowDataLoss): ${reading}. Writes ${replica} had not replayed by then, and every write made to ` +
    `${primary} after it until clients were routed, are not on ${replica}.`
  );
}

function elapsedMs(ctx: StepContext): number {
  return ctx.step.startedAt ? ctx.clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
}

/** Live checks of an RDS target (`/cutover plan` and the preflight steps). */
export async function rdsPreflight(
  deps: RdsCheckDeps,
  settings: ReplicaPromotionSettings,
): Promise<PreflightCheck[]> {
  if (settings.rds) return rdsReplicaChecks(deps, settings);
  if (settings.rdsBlueGreen) return blueGreenChecks(deps, settings.rdsBlueGreen);
  return [];
}

/** A preflight step: refuses on a failed check; the warnings are shown with the approval prompt. */
function preflightOutcome(checks: readonly PreflightCheck[], output: JsonObject = {}): StepResult {
  refuseFailedChecks(checks);
  return {
    type: 'done',
    output: { ...output, warnings: checks.filter((check) => check.warning).map((check) => check.detail) },
  };
}

/** A promoted replica serves while it takes its first backup: route then, not only once `available`. */
export function promotedAndServing(instance: ReplicaDescription | null): boolean {
  return (
    instance !== null &&
    instance.sourceId === null &&
    (instance.status === 'available' || instance.status === 'backing-up')
  );
}

export function rdsExecutors(deps: RdsExecutorDeps): Record<RdsExecutor, StepExecutor> {
  const { rds } = deps;

  /**
   * Lag over SQL when the target gives it (bytes and seconds), else CloudWatch's ReplicaLag; with
   * what the wait shows and what a refusal after the approval says.
   */
  const lagCheck = async (
    ctx: StepContext,
  ): Promise<{ reading: LagReading; ok: boolean; waitingFor: string; refusal: string }> => {
    const settings = settingsOf(ctx.target);
    const { region, replica } = rdsOf(ctx);
    const sql = rdsSqlOf(rdsOf(ctx), deps.env);
    if (sql !== null) {
      const reading = await deps.replication.lag(sql.primary, sql.replica);
      const text = describeLag(reading, settings.maxLag);
      return { reading, ok: isUnderLimit(reading, settings.maxLag), waitingFor: text, refusal: text };
    }
    const limit = settings.maxLag.seconds ?? 5;
    const seconds = await rds.replicaLagSeconds(region, replica).catch(awsFailure);
    return {
      reading: { bytes: null, seconds },
      ok: seconds !== null && seconds <= limit,
      waitingFor: `ReplicaLag ${seconds ?? 'unknown'} s > ${limit} s`,
      refusal: `ReplicaLag is ${seconds === null ? 'unknown (counts as too high)' : `${seconds} s`} > ${limit} s`,
    };
  };

  /** What a lag step records: bytes and seconds over SQL, CloudWatch's seconds otherwise. */
  const lagOutput = (ctx: StepContext, reading: LagReading): JsonObject =>
    lagRecord.json(
      rdsOf(ctx).sql ? { bytes: reading.bytes, seconds: reading.seconds } : { seconds: reading.seconds },
    );

  return {
    'rds-preflight': {
      async execute(ctx) {
        const review = await rdsReplicaReview(
          { rds, replication: deps.replication, env: deps.env },
          settingsOf(ctx.target),
        ).catch(awsFailure);
        return preflightOutcome(review.checks, { status: review.replica?.status ?? null });
      },
    },

    'rds-wait-lag': {
      async execute(ctx): Promise<StepResult> {
        const lag = await lagCheck(ctx);
        if (lag.ok) return { type: 'done', output: lagOutput(ctx, lag.reading) };
        return {
          type: 'wait',
          delayMs: settingsOf(ctx.target).lagPollInterval,
          output: { ...lagOutput(ctx, lag.reading), waitingFor: lag.waitingFor },
        };
      },
    },

    'rds-recheck-lag': {
      async execute(ctx) {
        const lag = await lagCheck(ctx);
        if (!lag.ok) {
          throw needsHuman(
            `${lag.refusal} since the approval; not ${rdsOf(ctx).sql ? 'fencing' : 'promoting'}. Retry to check again, or abort.`,
          );
        }
        // Without a fence this reading is what the report gives as the writes that may be lost.
        return { type: 'done', output: { ...lagOutput(ctx, lag.reading), atMs: ctx.clock.now().getTime() } };
      },
    },

    'rds-promote': {
      async execute(ctx) {
        const { region, replica, sql, allowDataLoss } = rdsOf(ctx);
        // The preflight refused already; this is the last word before the irreversible call.
        if (sql === undefined && !allowDataLoss) {
          throw fatal('no SQL access to fence the source and allowDataLoss is not set: not promoting');
        }
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
        const { region, replica, primary, promoteTimeout } = rdsOf(ctx);
        const waited = await rds
          .waitAvailable(region, replica, WAIT_SLICE_MS, { untilPromoted: true, orBackingUp: true })
          .catch(awsFailure);
        if (waited.outcome === 'available' && promotedAndServing(waited.instance)) {
          return {
            type: 'done',
            output: {
              status: waited.instance.status,
              report: `:white_check_mark: ${replica} is promoted and ${waited.instance.status}.\n${dataLossReport(ctx, primary, replica)}`,
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
        const bg = blueGreenOf(ctx);
        const review = await blueGreenReview({ rds, replication: deps.replication, env: deps.env }, bg).catch(
          awsFailure,
        );
        const found = review.deployment;
        if (!found) throw fatal(`Blue/Green deployment ${bg.deployment} not found in ${bg.region}`);
        if (!found.switchoverReady) {
          throw fatal(`Blue/Green deployment ${bg.deployment} is not ready to switch over (${found.status})`);
        }
        return preflightOutcome(review.checks, {
          status: found.status,
          source: found.source,
          target: found.target,
        });
      },
    },

    'bg-switchover': {
      async execute(ctx) {
        const { region, deployment, switchoverTimeout } = blueGreenOf(ctx);
        const previouslyAttempted = maybeSentBefore(ctx);
        // When an earlier attempt sent the request (recorded just before it did).
        let requestedAtMs: number | null = switchoverProgress.read(ctx).requestedAtMs ?? null;
        const result = await switchoverIfReady(rds, region, deployment, Math.ceil(switchoverTimeout / 1000), {
          previouslyAttempted,
          // Durable before the request: a later attempt measures the start grace from it, not from itself.
          beforeSend: async () => {
            requestedAtMs = ctx.clock.now().getTime();
            await ctx.saveProgress(switchoverProgress.json({ requestedAtMs }));
          },
        }).catch(sendFailure(previouslyAttempted));
        return { type: 'done', output: { result, ...(requestedAtMs === null ? {} : { requestedAtMs }) } };
      },
    },

    'bg-wait': {
      async execute(ctx): Promise<StepResult> {
        const { region, deployment, switchoverTimeout } = blueGreenOf(ctx);
        // When the request went out, so a later slice can tell "rolled back" from "not started yet".
        const { requestedAtMs } = switchoverProgress.parse(outputOf(ctx.run, 'switchover'));
        const waited = await rds
          .waitSwitchover(
            region,
            deployment,
            WAIT_SLICE_MS,
            requestedAtMs !== undefined ? { requestedAt: new Date(requestedAtMs) } : {},
          )
          .catch(awsFailure);
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
