// An RDS read-replica promotion that loses no acknowledged write: the source is fenced over SQL
// (the managed SQL fence: application roles NOLOGIN, their sessions ended; no superuser, no ALTER
// SYSTEM), the replica replays the source's last WAL position, and only then is PromoteReadReplica
// sent. Traffic is routed as soon as the promoted instance completes a commit, whatever RDS's status
// says meanwhile (a promoted replica serves while `backing-up`).
//
// As in the self-managed promotion, fence, catch-up, promotion and route are one step whose recorded
// progress (fence-modes.ts) decides what a repeated attempt does: `promoteRequested` is saved before
// PromoteReadReplica goes out, and from then on nothing unfences the source. An attempt that may
// have sent the request never sends it again; it waits for the promotion to show (a person may
// vouch and have it sent once more when it never does).
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { Clock } from '../../ports/clock';
import type { HookRunner } from '../../ports/hooks';
import type { RdsReplicaPort, ReplicaDescription } from '../../ports/rds-replicas';
import { AwsRefusal } from '../../ports/aws-refusal';
import type { ReplicationPort } from '../../ports/replication';
import { endpointVars, routeHook } from '../shared/route-hook';
import type { StepContext, StepExecutor, StepResult } from '../types';
import type { RdsReplicaSettings } from './config';
import {
  approvedDecision,
  describeBackends,
  fencedOnce,
  managedFenceProblem,
  managedSqlFence,
  progressJson,
  proofOrVouched,
  readFenceProgress,
  dropCanaryOrSay,
  replayedWithin,
  scoped,
  sealAndCatchUp,
  type FenceMode,
  type FenceProgress,
  type Servers,
} from './fence-modes';
import { FENCE_AND_PROMOTE_STEP, settingsOf, type RdsFencedExecutor } from './plan';
import { decidePromotion, sameDbInstance } from './rds-decisions';
import { rdsSqlOf, type RdsSql } from './rds-preflight';
import { outputOf } from '../progress';
import {
  phasesText,
  preflightRecord,
  promotionOf,
  sharedLines,
  writeUnavailableMs,
} from './promotion-report';
import { awsFailure } from '../shared/aws-failure';

export interface RdsFencedDeps {
  rds: RdsReplicaPort;
  replication: ReplicationPort;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time, for measured durations (the write-unavailable window) and the timeouts since them. */
  clock: Clock;
}

/** How long a commit on the promoted instance may take before it counts as "not yet". */
const CANARY_TIMEOUT_MS = 5_000;

interface Target {
  rds: RdsReplicaSettings;
  sql: RdsSql;
  servers: Servers;
  /** How often a waiting attempt looks again (lagPollInterval, at most a second: it is inside the window). */
  pollMs: number;
}

export function rdsFencedExecutors(deps: RdsFencedDeps): Record<RdsFencedExecutor, StepExecutor> {
  const { rds: aws, replication, env, clock } = deps;

  const targetOf = (ctx: Pick<StepContext, 'target'>): Target => {
    const settings = settingsOf(ctx.target);
    const sql = settings.rds ? rdsSqlOf(settings.rds, env) : null;
    if (!settings.rds || !sql) throw fatal('target has no rds.sql section');
    return {
      rds: settings.rds,
      sql,
      servers: { primary: sql.primary, standby: sql.replica },
      pollMs: Math.min(1_000, settings.lagPollInterval),
    };
  };

  const fenceOf = (target: Target): FenceMode =>
    managedSqlFence({ replication, hooks: deps.hooks, env, clock }, target.rds.sql?.managedRoles ?? []);

  const route = routeHook(
    deps.hooks,
    env,
    (ctx) => {
      const { sql } = targetOf(ctx);
      return { ...endpointVars('standby', sql.replica), ...endpointVars('primary', sql.primary) };
    },
    (ctx) => settingsOf(ctx.target).route,
  );

  const describe = (target: Target): Promise<ReplicaDescription | null> =>
    aws.describeReplica(target.rds.region, target.rds.replica).catch(awsFailure);

  /** Before anything is fenced: decisions a person makes, and what the fence cannot do. */
  const prepare: StepExecutor = {
    async execute(ctx) {
      const target = targetOf(ctx);
      const { primary } = target.servers;
      return scoped(replication, async (): Promise<StepResult> => {
        const survey = await replication.surveyFence(primary, target.sql.scope).catch((error: Error) => {
          throw retryable(`the source does not answer (${error.message})`);
        });
        if (survey.preparedXacts.length > 0 && !approvedDecision(ctx, 'prepared_xacts')) {
          const listed = survey.preparedXacts
            .slice(0, 5)
            .map((xact) => `${xact.gid} (owner ${xact.owner}, database ${xact.database})`)
            .join('; ');
          throw needsHuman(
            `${survey.preparedXacts.length} prepared transaction(s) on the source: ${listed}. Nothing is fenced. ` +
              'COMMIT PREPARED or ROLLBACK PREPARED them and retry, or approve to go on: they move to the promoted ' +
              'replica still prepared, and after the fence nobody can commit them on the source.',
            { detail: { decision: 'prepared_xacts' } },
          );
        }
        const problem = managedFenceProblem(survey);
        if (problem !== null) throw needsHuman(`${problem}; nothing is fenced. Then retry, or abort.`);
        const kept = survey.others.filter(
          (backend) => backend.role !== null && survey.rolesKept.includes(backend.role),
        );
        if (kept.length > 0) {
          throw needsHuman(
            `sessions of the bot's own role are open on the source: ${describeBackends(kept)}. Nothing is fenced. ` +
              'The fence would end them, but they could log in again and write to the old source. Give them a role ' +
              'of their own, then retry (it checks again), or abort.',
          );
        }
        await replication.prepareCanary(primary).catch((error: Error) => {
          throw needsHuman(
            `the bot cannot create its canary table cutover_bot.canary on the source (${error.message}): it proves ` +
              'that the promoted replica takes commits. Grant its role CREATE on the database, then retry, or abort.',
          );
        });
        return {
          type: 'done',
          output: {
            preparedXacts: survey.preparedXacts.map((xact) => xact.gid),
            rolesToLock: survey.rolesToLock.length,
          },
        };
      });
    },
  };

  /** The undo of fence-and-promote: the source's logins back, only while no promotion was requested. */
  const unfence: StepExecutor = {
    async execute(ctx) {
      const target = targetOf(ctx);
      const progress = readFenceProgress(ctx.step.output);
      if (progress.promoteRequested === true) {
        throw fatal(
          'PromoteReadReplica was requested: the old source stays fenced so that there are never two primaries',
        );
      }
      const instance = await aws
        .describeReplica(target.rds.region, target.rds.replica)
        .catch((error: Error) => {
          throw retryable(`cannot tell whether ${target.rds.replica} was promoted (${error.message})`);
        });
      if (instance !== null && instance.sourceId === null) {
        throw fatal(
          `${target.rds.replica} is standalone: the old source stays fenced so that there are never two primaries`,
        );
      }
      return scoped(replication, async () => {
        const facts = await replication.describe(target.servers.standby).catch((error: Error) => {
          throw retryable(`cannot tell whether the replica is still in recovery (${error.message})`);
        });
        if (!facts.inRecovery) {
          throw fatal(
            'the replica is out of recovery: the old source stays fenced so that there are never two primaries',
          );
        }
        return { type: 'done', output: await fenceOf(target).undo(ctx, target.servers, progress) };
      });
    },
  };

  const fenceAndPromote: StepExecutor = {
    async execute(ctx): Promise<StepResult> {
      const target = targetOf(ctx);
      const earlier = readFenceProgress(ctx.step.output);
      return scoped(replication, async () => {
        if (earlier.promoteRequested === true) return promotion(ctx, target, earlier);
        const stop = await beforeFence(ctx, target, earlier);
        if (stop !== null) return stop;
        return fenceThenPromote(ctx, target, { ...earlier, mode: 'sql' });
      });
    },
  };

  /**
   * Both ends, as RDS and as PostgreSQL say, before the clock starts: still a replica of this source,
   * in recovery; the source not. Not available yet (a backup, a modification): wait before fencing.
   */
  async function beforeFence(
    ctx: StepContext,
    target: Target,
    progress: FenceProgress,
  ): Promise<StepResult | null> {
    const { rds, servers } = target;
    const instance = await describe(target);
    if (instance === null) throw fatal(`${rds.replica} not found in ${rds.region}`);
    const [replicaFacts, sourceFacts] = await Promise.all([
      replication.describe(servers.standby).catch((error: Error) => {
        throw retryable(`the replica does not answer (${error.message}); not fencing`);
      }),
      replication.describe(servers.primary).catch(() => null),
    ]);
    if (instance.sourceId === null || !replicaFacts.inRecovery) {
      const writable = sourceFacts !== null && !sourceFacts.inRecovery;
      throw needsHuman(
        `${rds.replica} is already promoted (RDS: ${instance.sourceId === null ? 'standalone' : 'still a replica'}, ` +
          `PostgreSQL: ${replicaFacts.inRecovery ? 'in recovery' : 'out of recovery'}); this run did not promote it` +
          (writable ? ` and ${rds.primary} may still take writes: there may be two primaries` : '') +
          '. Check both, then retry or abort.',
      );
    }
    if (!sameDbInstance(instance.sourceId, rds.primary)) {
      throw fatal(`${rds.replica} replicates from ${instance.sourceId}, not from ${rds.primary}`);
    }
    if (sourceFacts?.inRecovery) {
      throw needsHuman(
        `the source is in recovery (a replica now?); not fencing. Check it, then retry or abort.`,
      );
    }
    if (progress.fenced !== true && instance.status !== 'available') {
      const waitedMs = ctx.step.startedAt ? clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
      if (waitedMs > rds.promoteTimeout) {
        throw needsHuman(
          `${rds.replica} has been ${instance.status} since the approval; nothing is fenced. Retry to keep waiting, or abort.`,
        );
      }
      return {
        type: 'wait',
        delayMs: target.pollMs,
        output: { waitingFor: `${rds.replica} is ${instance.status}` },
      };
    }
    return null;
  }

  /** The fence (or the check that it holds), the catch-up by LSN, the seal, then PromoteReadReplica. */
  async function fenceThenPromote(
    ctx: StepContext,
    target: Target,
    start: FenceProgress,
  ): Promise<StepResult> {
    const { servers, rds } = target;
    const fence = fenceOf(target);
    let progress = await fencedOnce(ctx, fence, servers, start, clock);
    const fencedAtMs = progress.fencedAtMs ?? clock.now().getTime();
    const waitedMs = () => clock.now().getTime() - fencedAtMs;
    const notYet = (what: string): StepResult => {
      if (waitedMs() > rds.catchUpTimeout) {
        throw needsHuman(
          `${what} ${Math.round(waitedMs() / 1000)} s after the fence; not promoting. Check the replica, then retry ` +
            'or abort (abort unfences the source).',
        );
      }
      return { type: 'wait', delayMs: 50, output: progressJson({ ...progress, phase: 'catching up' }) };
    };

    // Zero data loss: the replica replays everything the fenced source wrote before it is promoted.
    const proof = await proofOrVouched(ctx, fence, servers, progress);
    if (!(await replayedWithin(replication, servers.standby, proof))) {
      return notYet(`the replica has not replayed the fenced source's WAL up to ${proof.lsn}`);
    }
    const caughtUpMs = clock.now().getTime();
    const seal = await sealAndCatchUp(ctx, { fence, replication }, servers, progress);
    progress = seal.progress;
    if (!seal.caughtUp) {
      return notYet(`the replica has not replayed the sealed source's WAL up to ${progress.sealLsn ?? '?'}`);
    }
    // RDS promotes only an available replica of this source: look right before asking.
    const decision = decidePromotion(await describe(target));
    if (decision.action === 'refuse') throw fatal(`${rds.replica} not found in ${rds.region}`);
    if (decision.action === 'skip') {
      throw needsHuman(
        `${rds.replica} became standalone while the source was fenced, and this run did not promote it. Check it, then retry or abort.`,
      );
    }
    if (decision.action === 'wait') return notYet(`${rds.replica} is ${decision.status}, not available,`);
    const requested: FenceProgress = {
      ...progress,
      phase: 'promoting',
      promoteRequested: true,
      promoteRequestedAtMs: clock.now().getTime(),
      caughtUpAtMs: caughtUpMs,
    };
    // Durable before the request: from here no undo, retry or abort unfences the source.
    await ctx.saveProgress(progressJson(requested));
    const sent = await sendPromote(ctx, target, requested);
    return promotion(ctx, target, sent);
  }

  /**
   * PromoteReadReplica, once. A definite refusal (access denied, not found, throttled) sent nothing:
   * the record goes back to "not requested" so an undo can unfence. Any other failure may have been
   * carried out: the record stays, and no later attempt sends it again by itself.
   */
  async function sendPromote(
    ctx: StepContext,
    target: Target,
    progress: FenceProgress,
  ): Promise<FenceProgress> {
    const { region, replica } = target.rds;
    try {
      await aws.promoteReadReplica(region, replica);
    } catch (error) {
      if (error instanceof AwsRefusal && ['unauthorized', 'not_found', 'throttled'].includes(error.code)) {
        await ctx.saveProgress(
          progressJson({
            ...progress,
            phase: 'fenced',
            promoteRequested: false,
            promoteRefused: error.message,
          }),
        );
        if (error.code === 'throttled') throw retryable(error.message, { cause: error });
        throw needsHuman(
          `PromoteReadReplica was refused (${error.message}); nothing was promoted and the source is still fenced. ` +
            'Fix it, then retry, or abort (abort unfences the source).',
          { cause: error },
        );
      }
      throw retryable(`PromoteReadReplica may have been carried out: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const sent: FenceProgress = { ...progress, promoteSentAtMs: clock.now().getTime() };
    await ctx.saveProgress(progressJson(sent));
    return sent;
  }

  /**
   * PromoteReadReplica was requested (now or by an earlier attempt): wait until the replica completes
   * a commit, then let clients in (logins back), route, and keep the old source from ever taking
   * writes again.
   */
  async function promotion(ctx: StepContext, target: Target, progress: FenceProgress): Promise<StepResult> {
    const { rds, servers } = target;
    // Unknown when RDS does not answer now: the commit below decides alone.
    const instance = await aws.describeReplica(rds.region, rds.replica).catch(() => null);
    const requestedAtMs = progress.promoteRequestedAtMs ?? clock.now().getTime();
    const sent = progress.promoteSentAtMs !== undefined;
    if (!sent && instance !== null && instance.sourceId !== null && instance.status === 'available') {
      // Perhaps never sent (a crash between the record and the request), perhaps not visible yet.
      if (approvedDecision(ctx, 'promotion_not_seen'))
        return promotion(ctx, target, await sendPromote(ctx, target, progress));
    }
    let writable = false;
    try {
      await replication.commitCanary(servers.standby, ctx.run.id, CANARY_TIMEOUT_MS);
      writable = true;
    } catch {
      // Still in recovery, rebooting, or not answering yet.
    }
    if (!writable) {
      if (instance !== null && FAILED.has(instance.status)) {
        throw needsHuman(
          `${rds.replica} went to ${instance.status} during the promotion; check it in the RDS console. The source stays fenced.`,
        );
      }
      const waitedMs = clock.now().getTime() - requestedAtMs;
      if (waitedMs > rds.promoteTimeout) {
        const unseen = !sent && instance?.sourceId !== null && instance?.status === 'available';
        throw needsHuman(
          `${rds.replica} has not taken a commit ${Math.round(waitedMs / 60_000)} min after PromoteReadReplica was requested ` +
            `(RDS: ${instance?.status ?? 'not found'}${instance?.sourceId ? `, still a replica of ${instance.sourceId}` : ''}). ` +
            'The source stays fenced whatever happens next. ' +
            (unseen
              ? 'The request may never have gone out: Retry anyway sends PromoteReadReplica once more (check the RDS console first).'
              : 'Retry to keep waiting.'),
          { detail: { decision: unseen ? 'promotion_not_seen' : 'promote_timeout' } },
        );
      }
      return {
        type: 'wait',
        delayMs: target.pollMs,
        output: progressJson({ ...progress, phase: 'promoting', rdsStatus: instance?.status ?? null }),
      };
    }
    const writableAtMs = clock.now().getTime();
    const fence = fenceOf(target);
    const leftBehind = await fence.afterPromotion(servers, progress);
    const routed = await route(ctx);
    const routedAtMs = clock.now().getTime();
    const retired = await fence.retireOld(servers, progress);
    const { caughtUpAtMs } = progress;
    const fencedAtMs = progress.fencedAtMs ?? requestedAtMs;
    const fenceMs = progress.fenceMs ?? 0;
    return {
      type: 'done',
      output: {
        ...progressJson(progress),
        phase: 'promoted',
        ...leftBehind,
        ...retired,
        ...(routed ? { routeReport: routed.report } : {}),
        rdsStatusAtCommit: instance?.status ?? null,
        writableAtMs,
        routedAtMs,
        bytesOutstanding: 0,
        ...(caughtUpAtMs !== undefined
          ? {
              phasesMs: {
                fence: fenceMs,
                catchUp: caughtUpAtMs - fencedAtMs - fenceMs,
                promote: writableAtMs - caughtUpAtMs,
              },
            }
          : {}),
      },
    };
  }

  const report: StepExecutor = {
    async execute(ctx) {
      const target = targetOf(ctx);
      const { rds } = target;
      const promoted = promotionOf(ctx.run, FENCE_AND_PROMOTE_STEP);
      const windowMs = writeUnavailableMs(promoted);
      const instance = await aws.describeReplica(rds.region, rds.replica).catch(() => null);
      const lines = [
        ':white_check_mark: *Promotion complete.*',
        `• Write-unavailable window (fence → first commit on ${rds.replica}): ${windowMs === null ? 'unknown' : `${windowMs} ms`}${phasesText(promoted.phasesMs)}`,
        `• Bytes lost: 0 (no application session was left on ${rds.primary} and none could log in; ${rds.replica} replayed everything it wrote before PromoteReadReplica)`,
        `• ${rds.replica} took a commit while RDS showed it ${promoted.rdsStatusAtCommit ?? 'unknown'}; traffic was routed then. RDS shows it ${instance?.status ?? 'unknown'} now.`,
        ...sharedLines(promoted, outputOf(ctx.run, 'prepare'), {
          oldPrimary: rds.primary,
          newPrimary: rds.replica,
          sessions: 'application',
        }),
        promoted.oldPrimarySealed === false
          ? `• :warning: ${rds.primary} could not be reached after the promotion to lock the bot's own role out: check that nothing writes to it.`
          : `• ${rds.primary} stays fenced: no role but RDS's own may log in to it (nor to its other read replicas). Delete it, or keep it for reference.`,
      ];
      for (const warning of preflightRecord.parse(outputOf(ctx.run, 'preflight')).warnings ?? [])
        lines.push(`• Before: ${warning}`);
      // The bot's canary row (and its schema, once empty) is not left behind on the new primary.
      await dropCanaryOrSay(replication, target.servers.standby, ctx.run.id, lines);
      return {
        type: 'done',
        output: {
          writeUnavailableMs: windowMs,
          bytesLost: 0,
          rdsStatus: instance?.status ?? null,
          report: lines.join('\n'),
        },
      };
    },
  };

  return {
    'rds-prepare': prepare,
    'rds-fence-and-promote': fenceAndPromote,
    'rds-unfence': unfence,
    'rds-report': report,
  };
}

/** Statuses a promotion does not come back from by itself. */
const FAILED = new Set(['failed', 'incompatible-parameters', 'incompatible-restore', 'deleting', 'deleted']);
