// Executors of a self-managed PostgreSQL promotion. Each looks at the world before acting, so a
// job that runs twice (a worker died mid-step) does no harm. Read as gh-ost's cut-over does:
// re-check, act, verify.
import { z } from 'zod';
import { resolveSecret } from '../../config/secrets';
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { JsonObject } from '../../engine/types';
import { toHookCommand } from '../../config/hook-schema';
import { systemClock, type Clock } from '../../ports/clock';
import type { HookRunner } from '../../ports/hooks';
import type { PoolerPort } from '../../ports/pooler';
import type {
  LagReading,
  ReplicationPort,
  ServerSettings,
  StandbyInfo,
  WalReceiverInfo,
} from '../../ports/replication';
import { outputOf, progressCodec } from '../progress';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import type { FenceSettings } from './config';
import { FENCE_AND_PROMOTE_STEP, settingsOf, type PostgresExecutor } from './plan';
import { describeLag, isUnderLimit } from './lag';
import {
  approvedDecision,
  describeBackends,
  dropCanaryOrSay,
  replayedWithin,
  scoped,
  sealAndCatchUp,
  fenceModeFor,
  fencedOnce,
  proofOrVouched,
  progressJson,
  readFenceProgress,
  type FenceMode,
  type FenceProgress,
  type Servers,
} from './fence-modes';
import { parseSyncStandbys, satisfiedBy } from './sync-standbys';
import { poolerProgress, poolerSwitch, type PoolerSwitch } from './pooler-switch';
import { refuseFailedChecks } from '../shared/preflight-refusal';
import { endpointVars, routeHook } from '../shared/route-hook';
import {
  clientFigures,
  phasesText,
  prepareRecord,
  promotionOf,
  sharedLines,
  writeUnavailableMs,
} from './promotion-report';

/** What pg-rejoin records: its hook ran (it never runs twice), and the hook's last output. */
const rejoinProgress = progressCodec(
  z
    .object({ hookRan: z.boolean(), hookOutput: z.string(), redundancyRestored: z.boolean() })
    .partial()
    .passthrough(),
);

export interface PostgresExecutorDeps {
  replication: ReplicationPort;
  /** Runs the stop fence's stop and start hooks, the route and the rejoin hooks. */
  hooks: HookRunner;
  /** PgBouncer's admin console, for targets with `pgbouncer`. */
  pooler?: PoolerPort;
  env: NodeJS.ProcessEnv;
  /** Wall time, for measured durations (the write-unavailable window); default systemClock. */
  clock?: Clock;
}

export interface Endpoints {
  primary: string;
  standby: string;
}

export function endpointsOf(ctx: Pick<StepContext, 'target'>, env: NodeJS.ProcessEnv): Endpoints {
  const postgres = settingsOf(ctx.target).postgres;
  if (!postgres) throw fatal('target has no postgres section');
  return { primary: resolveSecret(postgres.primary, env), standby: resolveSecret(postgres.standby, env) };
}

function lagOutput(lag: LagReading): JsonObject {
  return { bytes: lag.bytes, seconds: lag.seconds };
}

/** How long the commit on the new primary may take before the run stops for a person. */
const CANARY_TIMEOUT_MS = 5_000;

export function postgresExecutors(deps: PostgresExecutorDeps): Record<PostgresExecutor, StepExecutor> {
  const { replication, env } = deps;
  const clock = deps.clock ?? systemClock;

  const preflight: StepExecutor = {
    async execute(ctx) {
      const { primary, standby } = endpointsOf(ctx, env);
      const fence = settingsOf(ctx.target).postgres?.fence;
      const checks = await scoped(replication, () => preflightChecks(replication, primary, standby, fence));
      refuseFailedChecks(checks);
      return {
        type: 'done',
        output: {
          checks: checks.map((check) => `${check.name}: ${check.detail}`),
          // Shown with the approval prompt.
          warnings: checks.filter((check) => check.warning).map((check) => `${check.name}: ${check.detail}`),
        },
      };
    },
  };

  const waitLag: StepExecutor = {
    async execute(ctx): Promise<StepResult> {
      const settings = settingsOf(ctx.target);
      const { primary, standby } = endpointsOf(ctx, env);
      const lag = await scoped(replication, () => replication.lag(primary, standby));
      if (isUnderLimit(lag, settings.maxLag)) return { type: 'done', output: lagOutput(lag) };
      return {
        type: 'wait',
        delayMs: settings.lagPollInterval,
        output: { ...lagOutput(lag), waitingFor: describeLag(lag, settings.maxLag) },
      };
    },
  };

  const recheckLag: StepExecutor = {
    async execute(ctx) {
      const settings = settingsOf(ctx.target);
      const { primary, standby } = endpointsOf(ctx, env);
      const lag = await scoped(replication, () => replication.lag(primary, standby));
      // An approval does not outrank a measurement: approving this pause re-checks, it never skips.
      if (!isUnderLimit(lag, settings.maxLag)) {
        throw needsHuman(
          `${describeLag(lag, settings.maxLag)} since the approval; not fencing the primary. ` +
            'Retry to check again once lag is down, or abort.',
          { detail: lagOutput(lag) },
        );
      }
      return { type: 'done', output: lagOutput(lag) };
    },
  };

  /** PgBouncer in front of the primary, when the target has one. */
  const poolerOf = (ctx: StepContext): PoolerSwitch | null => {
    const settings = settingsOf(ctx.target).pgbouncer;
    if (!settings) return null;
    if (!deps.pooler)
      throw fatal('the target has pgbouncer, but this worker was started without a pooler port');
    return poolerSwitch(settings, {
      pooler: deps.pooler,
      env,
      clock,
      // A commit through the pooler, as a client's (the canary row of this run).
      verify: (url) => deps.pooler!.commitThrough(url, ctx.run.id, CANARY_TIMEOUT_MS),
    });
  };

  /** The route hook, run inside the window once the new primary takes commits. */
  const route = routeHook(
    deps.hooks,
    env,
    (ctx) => {
      const { primary, standby } = endpointsOf(ctx, env);
      return { ...endpointVars('standby', standby), ...endpointVars('primary', primary) };
    },
    (ctx) => settingsOf(ctx.target).route,
  );

  const fenceOf = (ctx: Pick<StepContext, 'target'>): FenceMode => {
    const postgres = settingsOf(ctx.target).postgres;
    if (!postgres) throw fatal('target has no postgres section');
    return fenceModeFor(postgres.fence, { replication, hooks: deps.hooks, env, clock });
  };

  /**
   * Before anything is fenced: decisions a person makes (prepared transactions, sessions the SQL fence
   * cannot keep out), and what the standby needs to take commits once promoted.
   */
  const prepare: StepExecutor = {
    async execute(ctx) {
      const postgres = settingsOf(ctx.target).postgres!;
      const { primary, standby } = endpointsOf(ctx, env);
      return scoped(replication, async (): Promise<StepResult> => {
        const survey = await replication.surveyFence(primary).catch((error: Error) => {
          throw retryable(`the primary does not answer (${error.message})`);
        });
        if (survey.preparedXacts.length > 0 && !approvedDecision(ctx, 'prepared_xacts')) {
          const listed = survey.preparedXacts
            .slice(0, 5)
            .map(
              (xact) =>
                `${xact.gid} (owner ${xact.owner}, database ${xact.database}, prepared ${xact.preparedAt})`,
            )
            .join('; ');
          throw needsHuman(
            `${survey.preparedXacts.length} prepared transaction(s) on the primary: ${listed}. Nothing is fenced. ` +
              'COMMIT PREPARED or ROLLBACK PREPARED them and retry, or approve to go on: they move to the new primary still prepared, ' +
              'and after the fence nobody can commit them on the old one.',
            { detail: { decision: 'prepared_xacts' } },
          );
        }
        if (postgres.fence.mode === 'sql') {
          if (!survey.botIsSuperuser) {
            throw needsHuman(
              `the SQL fence needs a superuser, and the bot connects to the primary as ${survey.botRole}, which is not one; nothing is fenced. ` +
                'Connect as a superuser, or use `fence: { mode: stop }`, then retry or abort.',
            );
          }
          const keptSessions = survey.others.filter(
            (backend) => backend.role !== null && survey.rolesKept.includes(backend.role),
          );
          if (keptSessions.length > 0) {
            // Not a risk a person can take on: such a session may write to the old primary after the promotion.
            throw needsHuman(
              `sessions of roles the SQL fence cannot lock out (${survey.rolesKept.join(', ')}: the bot’s own and replication) are open: ` +
                `${describeBackends(keptSessions)}. Nothing is fenced. The fence would end them, but they could log in again and write ` +
                'to the old primary. Give them a role of their own (or use `fence: { mode: stop }`), then retry (it checks again), or abort.',
            );
          }
        }
        // A standby promoted with synchronous_standby_names naming servers that will not stream from it
        // waits on every commit for ever: cleared now (a standby does not use it), given back on undo.
        const standbySettings = await replication.settings(standby);
        let syncCleared: string | null = null;
        let sync;
        try {
          sync = parseSyncStandbys(standbySettings.synchronousStandbyNames);
        } catch (error) {
          throw needsHuman(`${(error as Error).message} on the standby; fix it, then retry or abort`);
        }
        if (!satisfiedBy(sync, standbySettings.followers)) {
          await replication.setSynchronousStandbyNames(standby, '');
          syncCleared = standbySettings.synchronousStandbyNames;
        }
        await replication.prepareCanary(primary);
        return {
          type: 'done',
          output: {
            preparedXacts: survey.preparedXacts.map((xact) => xact.gid),
            syncStandbyNamesCleared: syncCleared,
            ...(postgres.fence.mode === 'sql' ? { rolesToLock: survey.rolesToLock.length } : {}),
          },
        };
      });
    },
  };

  /** Undo of prepare: the standby's synchronous_standby_names as it was. */
  const unprepare: StepExecutor = {
    async execute(ctx) {
      const { standby } = endpointsOf(ctx, env);
      const cleared = prepareRecord.read(ctx).syncStandbyNamesCleared;
      if (typeof cleared === 'string' && cleared !== '') {
        await scoped(replication, () => replication.setSynchronousStandbyNames(standby, cleared)).catch(
          (error: Error) => {
            throw retryable(`could not restore synchronous_standby_names on the standby (${error.message})`);
          },
        );
      }
      return {
        type: 'done',
        output: { restoredSyncStandbyNames: typeof cleared === 'string' ? cleared : null },
      };
    },
  };

  const unfence: StepExecutor = {
    async execute(ctx) {
      const servers = endpointsOf(ctx, env);
      const progress = readFenceProgress(ctx.step.output);
      if (progress.promoteRequested === true) {
        throw fatal(
          'pg_promote was requested for the standby: the old primary stays fenced so that there are never two primaries',
        );
      }
      return scoped(replication, async () => {
        let standbyFacts;
        try {
          standbyFacts = await replication.describe(servers.standby);
        } catch (error) {
          throw retryable(`cannot tell whether the standby was promoted (${(error as Error).message})`);
        }
        if (!standbyFacts.inRecovery) {
          throw fatal(
            'the standby has been promoted; the old primary stays fenced so that there are never two primaries',
          );
        }
        const pooler = poolerOf(ctx);
        try {
          return { type: 'done', output: await fenceOf(ctx).undo(ctx, servers, progress) };
        } finally {
          // Clients are never left paused: resumed once the old primary takes writes again (or failed to).
          if (pooler && poolerProgress(progress).paused) await pooler.release(progress);
        }
      });
    },
  };

  /**
   * Fence, catch-up and promotion as one step: the write-unavailable window has no step dispatch in
   * it, and every call shares one session per server. Each attempt looks before it acts, so a
   * resumed or repeated attempt continues where the earlier one stopped (its output is the record):
   * - pg_promote already requested (recorded before the call): finish and verify that promotion;
   *   never fence or unfence again;
   * - fenced by an earlier attempt that waited for catch-up: check that the fence holds (no new
   *   fence) and go on waiting;
   * - a catch-up longer than a second becomes a delayed re-run of this step (`wait`), up to
   *   catchUpTimeout.
   * The last check before pg_promote proves that nothing committed on the old primary after the
   * position the standby has replayed: no session is left and none can log in (SQL), or the server
   * is down and the standby has replayed past its shutdown checkpoint (stop).
   */
  const fenceAndPromote: StepExecutor = {
    async execute(ctx): Promise<StepResult> {
      const postgres = settingsOf(ctx.target).postgres;
      if (!postgres) throw fatal('target has no postgres section');
      const servers = endpointsOf(ctx, env);
      const { primary, standby } = servers;
      const fence = fenceOf(ctx);
      const pooler = poolerOf(ctx);
      const earlier = readFenceProgress(ctx.step.output);
      return scoped(replication, async (): Promise<StepResult> => {
        if (earlier.promoteRequested === true) {
          pooler?.startProbes(ctx.run.id);
          return withClientsPaused(ctx, pooler, () => promoted(ctx, servers, earlier, fence, pooler));
        }

        // Both ends are looked at before the clock starts; this also opens the sessions the rest uses.
        const [standbyFacts, primaryFacts] = await Promise.all([
          replication.describe(standby).catch((error: Error) => {
            throw retryable(`the standby does not answer (${error.message}); not fencing`);
          }),
          replication.describe(primary).catch(() => null),
        ]);
        if (!standbyFacts.inRecovery) {
          // Not by this run: it records that it requests pg_promote before it does.
          const writable = primaryFacts !== null && !primaryFacts.inRecovery && !primaryFacts.readOnly;
          throw needsHuman(
            writable
              ? 'the standby is out of recovery but the old primary accepts writes: there may be two primaries. ' +
                  'This run did not promote it. Fence one of them by hand, then retry or abort.'
              : 'the standby is already out of recovery (promoted by someone else?); this run did not promote it and fences nothing more. Check both servers, then retry or abort.',
          );
        }
        if (primaryFacts?.inRecovery) {
          throw needsHuman(
            'the primary is in recovery (it is a standby now?); not fencing. Check the target, then retry or abort.',
          );
        }

        let progress: FenceProgress = { ...earlier, mode: postgres.fence.mode };
        // Clients wait in PgBouncer from here to the switch (needs-human, with nothing fenced, when it
        // cannot pause); again after a failure of an earlier attempt resumed them.
        if (pooler && poolerProgress(earlier).paused !== true) progress = await pooler.pause(ctx, progress);
        else pooler?.startProbes(ctx.run.id);
        const start = progress;
        return withClientsPaused(ctx, pooler, () =>
          fenceThenPromote(ctx, {
            servers,
            fence,
            pooler,
            progress: start,
            standbyTimeline: standbyFacts.timeline,
          }),
        );
      });
    },
  };

  /**
   * The fence (or, on a later attempt, the check that it holds), the catch-up, the seal and the
   * promotion: everything inside the write-unavailable window.
   */
  async function fenceThenPromote(
    ctx: StepContext,
    at: {
      servers: Servers;
      fence: FenceMode;
      pooler: PoolerSwitch | null;
      progress: FenceProgress;
      standbyTimeline: number;
    },
  ): Promise<StepResult> {
    const postgres = settingsOf(ctx.target).postgres!;
    const { servers, fence } = at;
    let progress = await fencedOnce(ctx, fence, servers, at.progress, clock);
    const fencedAtMs = progress.fencedAtMs ?? clock.now().getTime();
    const fenceMs = progress.fenceMs ?? 0;

    // Zero data loss: the standby replays everything the old primary wrote before it is promoted.
    const proof = await proofOrVouched(ctx, fence, servers, progress);
    if (!(await replayedWithin(replication, servers.standby, proof))) {
      const waitedMs = clock.now().getTime() - fencedAtMs;
      if (waitedMs > postgres.catchUpTimeout) {
        throw needsHuman(
          `the standby has not replayed the fenced primary's WAL up to ${proof.lsn} after ${Math.round(waitedMs / 1000)} s; ` +
            'not promoting. Check the standby (is replay paused?), then retry or abort (abort unfences the primary).',
        );
      }
      return { type: 'wait', delayMs: 50, output: progressJson({ ...progress, phase: 'catching up' }) };
    }
    const caughtUpMs = clock.now().getTime();
    const seal = await sealAndCatchUp(ctx, { fence, replication }, servers, progress);
    progress = seal.progress;
    if (!seal.caughtUp) {
      return { type: 'wait', delayMs: 50, output: progressJson({ ...progress, phase: 'catching up' }) };
    }
    const requested = {
      ...progress,
      phase: 'promoting',
      promoteRequested: true,
      promoteRequestedAtMs: clock.now().getTime(),
    };
    // Durable before the call: from here no undo, retry or abort unfences the old primary.
    await ctx.saveProgress(progressJson(requested));
    const result = await promoted(ctx, servers, requested, fence, at.pooler, at.standbyTimeline);
    if (result.type !== 'done') return result;
    const writableAtMs = readFenceProgress(result.output).writableAtMs ?? clock.now().getTime();
    const phasesMs = {
      fence: fenceMs,
      catchUp: caughtUpMs - fencedAtMs - fenceMs,
      promote: writableAtMs - caughtUpMs,
    };
    return { type: 'done', output: { ...result.output, phasesMs } };
  }

  /**
   * Runs `work` while clients may be paused: its probes stop at the end of the attempt (a `wait`
   * keeps the PAUSE for the next attempt), and any failure RESUMEs every PgBouncer first and records
   * that (on the latest record: it may say that pg_promote was requested).
   */
  async function withClientsPaused(
    ctx: StepContext,
    pooler: PoolerSwitch | null,
    work: () => Promise<StepResult>,
  ): Promise<StepResult> {
    if (!pooler) return work();
    let result: StepResult;
    try {
      result = await work();
    } catch (error) {
      const released = await pooler.stopProbes(await pooler.release(readFenceProgress(ctx.step.output)));
      await ctx.saveProgress(progressJson(released)).catch(() => undefined);
      throw error;
    }
    const finished = await pooler.stopProbes(readFenceProgress(result.output ?? {}));
    return { ...result, output: progressJson(finished) };
  }

  /**
   * pg_promote has been requested (now, or by an earlier attempt): promote (again: a signal to a
   * standby already promoting changes nothing), let clients in, and prove a commit completes.
   */
  async function promoted(
    ctx: StepContext,
    servers: Servers,
    progress: FenceProgress,
    fence: FenceMode,
    pooler: PoolerSwitch | null,
    previousTimeline: number | null = null,
  ): Promise<StepResult> {
    const postgres = settingsOf(ctx.target).postgres!;
    // A first request has just seen the standby in recovery; a later attempt looks again.
    const before =
      previousTimeline === null ? await replication.describe(servers.standby).catch(() => null) : null;
    const alreadyPromoted = before !== null && !before.inRecovery;
    try {
      // Promoted by an earlier attempt of this run (it was recorded as requested): no second call.
      if (!alreadyPromoted) await replication.promote(servers.standby, postgres.promoteTimeout);
    } catch (error) {
      throw needsHuman(
        `the standby did not finish its promotion within ${Math.round(postgres.promoteTimeout / 1000)} s (${(error as Error).message}). ` +
          `The old primary stays fenced whatever happens next. ${await bothServers(servers)} ` +
          'Retry to wait for the promotion again; abort leaves the old primary fenced.',
        { detail: { decision: 'promote_timeout' } },
      );
    }
    // Out of recovery (promote waited for that); that it takes commits is proved by the canary below.
    const leftBehind = await fence.afterPromotion(servers, progress);
    try {
      await replication.commitCanary(servers.standby, ctx.run.id, CANARY_TIMEOUT_MS);
    } catch (error) {
      throw needsHuman(
        `the new primary is promoted but a commit on it did not complete (${(error as Error).message}): clients cannot write. ` +
          'Check its synchronous_standby_names and synchronous_commit, then retry. The old primary stays fenced.',
        { detail: { decision: 'commit_failed' } },
      );
    }
    const writableAtMs = clock.now().getTime();
    // Traffic to the new primary, inside the window: the route hook, then PgBouncer reloaded and resumed.
    const routed = await route(ctx);
    const switched = pooler ? await pooler.switchOver(progress) : progress;
    const routedAtMs = clock.now().getTime();
    // Its new timeline, for the report: read once clients write, not inside the window.
    const after = await replication.describe(servers.standby);
    const retired = await fence.retireOld(servers, switched);
    return {
      type: 'done',
      output: {
        ...progressJson(switched),
        phase: 'promoted',
        routedAtMs,
        ...(routed ? { routeReport: routed.report } : {}),
        ...leftBehind,
        ...retired,
        bytesOutstanding: 0,
        timeline: after.timeline,
        previousTimeline,
        writableAtMs,
        alreadyPromoted,
      },
    };
  }

  /** "primary: in recovery false, timeline 1, LSN 0/3000060; standby: ..." for a needs-human gate. */
  async function bothServers({ primary, standby }: Servers): Promise<string> {
    const describe = async (name: string, url: string) => {
      const facts = await replication.describe(url).catch((error: Error) => error);
      return facts instanceof Error
        ? `${name}: does not answer (${facts.message})`
        : `${name}: in recovery ${facts.inRecovery}, timeline ${facts.timeline}, LSN ${facts.lsn}`;
    };
    return `Now: ${(await Promise.all([describe('old primary', primary), describe('standby', standby)])).join('; ')}.`;
  }

  /**
   * The rejoin hook makes the old primary a standby of the new one; done once the old primary is in
   * recovery, streams from the new primary's port, and the new primary shows it streaming.
   */
  const rejoin: StepExecutor = {
    async execute(ctx): Promise<StepResult> {
      const settings = settingsOf(ctx.target);
      if (!settings.rejoin) return { type: 'done', output: { skipped: true } };
      const { primary, standby } = endpointsOf(ctx, env);
      if (rejoinProgress.read(ctx).hookRan !== true) {
        const { hook } = toHookCommand(settings.rejoin, env);
        // {standby.*} is the new primary here, {primary.*} the old one that rejoins.
        const vars = {
          target: ctx.target.name,
          ...endpointVars('standby', standby),
          ...endpointVars('primary', primary),
        };
        const result = await deps.hooks.run(hook, vars);
        if (result.timedOut || result.exitCode !== 0) {
          throw needsHuman(
            `the rejoin hook did not succeed (exit ${String(result.exitCode)}${result.timedOut ? ', timed out' : ''}); ` +
              `the new primary runs without a standby. Fix the old primary by hand, then retry or abort (nothing is undone).\n${result.output.slice(-800)}`,
          );
        }
        await ctx.saveProgress(
          rejoinProgress.json({ hookRan: true, hookOutput: result.output.slice(-1500) }),
        );
      }
      const streaming = await scoped(replication, () => streamsFrom(primary, standby)).catch(
        (error: Error) => `not yet (${error.message})`,
      );
      if (typeof streaming !== 'string') {
        // The SQL fence's read-only default is in the old primary's own configuration (the rejoin
        // keeps it): promoted in a later cutover, it would refuse every write.
        if (settings.postgres?.fence.mode === 'sql') {
          await scoped(replication, () => replication.releaseFenceOnStandby(primary)).catch(
            (error: Error) => {
              throw retryable(
                `the old primary streams, but its fence setting could not be removed (${error.message})`,
              );
            },
          );
        }
        return {
          type: 'done',
          output: {
            redundancyRestored: true,
            applicationName: streaming.applicationName,
            report: `:link: Redundancy restored: the old primary streams from the new one as \`${streaming.applicationName}\`.`,
          },
        };
      }
      const startedAt = ctx.step.startedAt ? Date.parse(ctx.step.startedAt) : ctx.clock.now().getTime();
      if (ctx.clock.now().getTime() - startedAt > settings.rejoinTimeout) {
        throw needsHuman(
          `the old primary does not stream from the new one ${Math.round(settings.rejoinTimeout / 1000)} s after the rejoin hook (${streaming}). ` +
            'The new primary runs without a standby. Check the old one, then retry to check again, or abort (nothing is undone).',
        );
      }
      return {
        type: 'wait',
        delayMs: 500,
        output: { ...ctx.step.output, hookRan: true, waitingFor: streaming },
      };
    },
  };

  /** The old primary as a streaming standby of the new one, or why not (a sentence). */
  async function streamsFrom(
    oldPrimary: string,
    newPrimary: string,
  ): Promise<{ applicationName: string } | string> {
    const facts = await replication.describe(oldPrimary);
    if (!facts.inRecovery) return 'it is not in recovery';
    const receiver = await replication.walReceiver(oldPrimary);
    if (receiver?.status !== 'streaming') return `its WAL receiver is ${receiver?.status ?? 'not running'}`;
    const target = await replication.settings(newPrimary);
    if (
      receiver.senderPort !== null &&
      target.serverPort !== null &&
      receiver.senderPort !== target.serverPort
    )
      return `it streams from port ${receiver.senderPort}, not from the new primary's ${target.serverPort}`;
    if (!target.followers.includes(receiver.applicationName))
      return `the new primary shows no WAL sender streaming to ${receiver.applicationName}`;
    return { applicationName: receiver.applicationName };
  }

  const report: StepExecutor = {
    async execute(ctx) {
      const promoted = promotionOf(ctx.run, FENCE_AND_PROMOTE_STEP);
      const windowMs = writeUnavailableMs(promoted);
      const stopped = promoted.mode === 'stop';
      const lines = [
        ':white_check_mark: *Promotion complete.*',
        `• Write-unavailable window (${stopped ? 'stop' : 'fence'} → first commit on the new primary): ${windowMs === null ? 'unknown' : `${windowMs} ms`}${phasesText(promoted.phasesMs)}`,
        stopped
          ? '• Bytes lost: 0 (the old primary shut down cleanly and the standby replayed past its shutdown checkpoint before promotion)'
          : '• Bytes lost: 0 (no session was left on the fenced primary and none could log in; the standby replayed everything it wrote before promotion)',
        `• New timeline: ${promoted.timeline ?? 'unknown'}; a commit on the new primary completed`,
        ...sharedLines(promoted, outputOf(ctx.run, 'prepare'), {
          oldPrimary: 'the old primary',
          newPrimary: 'the new primary',
          sessions: 'client',
        }),
      ];
      const redundancyRestored =
        rejoinProgress.parse(outputOf(ctx.run, 'rejoin')).redundancyRestored === true;
      if (redundancyRestored) {
        lines.push('• Redundancy restored: the old primary streams from the new one.');
      } else
        lines.push(
          stopped
            ? '• The old primary is stopped. To re-attach it as a standby, give it a `standby.signal` and a `primary_conninfo` pointing at the new primary and start it (a clean shutdown needs no pg_rewind).'
            : promoted.oldPrimarySealed === false
              ? '• :warning: The old primary could not be reached after the promotion to lock out the roles the fence had kept: check that nothing writes to it.'
              : '• The old primary is fenced: no role may log in to it any more. To re-attach it as a standby, stop it and run ' +
                '`pg_rewind --target-pgdata=<its data dir> --source-server=<new primary conninfo>`, then start it with a ' +
                '`standby.signal` and `primary_conninfo` pointing at the new primary.',
        );
      // The bot's canary row (and its schema, once empty) is not left behind on the new primary.
      await dropCanaryOrSay(replication, endpointsOf(ctx, env).standby, ctx.run.id, lines);
      return {
        type: 'done',
        output: {
          writeUnavailableMs: windowMs,
          bytesLost: 0,
          timeline: promoted.timeline ?? null,
          ...clientFigures(promoted),
          redundancyRestored,
          report: lines.join('\n'),
        },
      };
    },
  };

  return {
    'pg-preflight': preflight,
    'pg-wait-lag': waitLag,
    'pg-recheck-lag': recheckLag,
    'pg-prepare': prepare,
    'pg-unprepare': unprepare,
    'pg-unfence': unfence,
    'pg-fence-and-promote': fenceAndPromote,
    'pg-rejoin': rejoin,
    'pg-report': report,
  };
}

export type PreflightResult = PreflightCheck;

/** True when a WAL sender's host names the server the bot reaches (the host in its URL or its address). */
function sameHost(senderHost: string | null, url: string, serverAddr: string | null): boolean {
  if (senderHost === null) return false;
  let urlHost = '';
  try {
    urlHost = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    // not a URL: compared by address only
  }
  return senderHost === urlHost || senderHost === serverAddr;
}

/** Read-only checks shared by the preflight step and `/cutover plan`; warnings are shown at the gate. */
export async function preflightChecks(
  replication: ReplicationPort,
  primaryUrl: string,
  standbyUrl: string,
  fence: FenceSettings = { mode: 'sql' },
): Promise<PreflightResult[]> {
  const checks: PreflightResult[] = [];
  const primary = await replication.describe(primaryUrl).catch((error: Error) => error);
  const standby = await replication.describe(standbyUrl).catch((error: Error) => error);
  checks.push(
    primary instanceof Error
      ? {
          name: 'primary reachable',
          ok: false,
          transient: true,
          detail: `primary does not answer: ${primary.message}`,
        }
      : {
          name: 'primary reachable',
          ok: !primary.inRecovery,
          detail: primary.inRecovery
            ? 'the "primary" is in recovery (it is a standby)'
            : `PostgreSQL ${primary.serverVersion}, timeline ${primary.timeline}`,
        },
  );
  checks.push(
    standby instanceof Error
      ? {
          name: 'standby reachable',
          ok: false,
          transient: true,
          detail: `standby does not answer: ${standby.message}`,
        }
      : {
          name: 'standby in recovery',
          ok: standby.inRecovery,
          detail: standby.inRecovery
            ? `replaying at ${standby.lsn}`
            : 'the standby is not in recovery (already promoted?)',
        },
  );
  if (primary instanceof Error || standby instanceof Error) return checks;

  const same = primary.systemIdentifier === standby.systemIdentifier;
  checks.push({
    name: 'same system identifier',
    ok: same,
    detail: same
      ? primary.systemIdentifier
      : `primary ${primary.systemIdentifier} ≠ standby ${standby.systemIdentifier}`,
  });
  checks.push({
    name: 'same timeline',
    ok: primary.timeline === standby.timeline,
    detail:
      primary.timeline === standby.timeline
        ? `timeline ${primary.timeline}`
        : `primary on timeline ${primary.timeline}, standby on ${standby.timeline}: it does not follow this primary`,
  });
  const [receiver, senders, primarySettings, standbySettings] = await Promise.all([
    replication.walReceiver(standbyUrl).catch(() => null),
    replication.standbys(primaryUrl).catch(() => []),
    replication.settings(primaryUrl),
    replication.settings(standbyUrl),
  ]);
  checks.push(streamsFromThisPrimary(receiver, senders, primaryUrl, primarySettings));
  const streaming = senders.filter((row) => row.state === 'streaming');
  if (streaming.length > 1) {
    checks.push({
      name: 'other standbys',
      ok: true,
      warning: true,
      detail: `${streaming.length - 1} other standby(s) stream from this primary and will be orphaned by the promotion: re-point them at the new primary`,
    });
  }
  const rewind = primarySettings.walLogHints || primarySettings.dataChecksums;
  checks.push({
    name: 'pg_rewind possible later',
    ok: true,
    ...(rewind ? {} : { warning: true }),
    detail: rewind
      ? `yes (${primarySettings.walLogHints ? 'wal_log_hints' : 'data checksums'})`
      : 'no: neither wal_log_hints nor data checksums are on, so the old primary must be rebuilt from a base backup to rejoin',
  });
  if (primarySettings.logicalSlots.length > 0) {
    checks.push({
      name: 'logical replication slots',
      ok: true,
      warning: true,
      detail: `${primarySettings.logicalSlots.join(', ')} exist only on the primary (before PostgreSQL 17 a standby has no logical slots): their subscribers must be re-synced after the cutover`,
    });
  }
  let sync: ReturnType<typeof parseSyncStandbys> = null;
  try {
    sync = parseSyncStandbys(standbySettings.synchronousStandbyNames);
  } catch (error) {
    checks.push({ name: 'synchronous standbys', ok: false, detail: (error as Error).message });
  }
  if (sync !== null && !satisfiedBy(sync, standbySettings.followers)) {
    checks.push({
      name: 'synchronous standbys',
      ok: true,
      warning: true,
      detail: `the standby has synchronous_standby_names = '${standbySettings.synchronousStandbyNames}', naming servers that do not stream from it: it is cleared before the promotion, or every commit would wait`,
    });
  }
  const survey = await replication.surveyFence(primaryUrl);
  if (survey.preparedXacts.length > 0) {
    checks.push({
      name: 'prepared transactions',
      ok: true,
      warning: true,
      detail: `${survey.preparedXacts.length} on the primary (${survey.preparedXacts
        .map((xact) => xact.gid)
        .slice(0, 5)
        .join(', ')}): the run stops for a decision before fencing`,
    });
  }
  if (fence.mode === 'stop') {
    checks.push({
      name: 'fence',
      ok: true,
      detail:
        'stop: the stop hook shuts the primary down cleanly; clients get connection errors until traffic is routed',
    });
  } else {
    checks.push({
      name: 'fence',
      ok: survey.botIsSuperuser,
      detail: survey.botIsSuperuser
        ? `sql: ${survey.rolesToLock.length} role(s) locked out during the window (${survey.rolesToLock.slice(0, 8).join(', ') || 'none'}); kept: ${survey.rolesKept.join(', ')}`
        : `sql: the bot connects as ${survey.botRole}, not a superuser, so it cannot lock roles out: connect as a superuser or use fence mode stop`,
    });
    const kept = survey.others.filter(
      (backend) => backend.role !== null && survey.rolesKept.includes(backend.role),
    );
    if (kept.length > 0) {
      checks.push({
        name: 'sessions the fence cannot keep out',
        ok: true,
        warning: true,
        detail: `${describeBackends(kept)}: roles the SQL fence keeps (the bot's own, replication) could log in again and write; the run stops before fencing while they are open`,
      });
    }
    const workers = survey.others.filter(
      (backend) => backend.backendType !== 'client backend' && backend.backendType !== 'walsender',
    );
    if (workers.length > 0) {
      checks.push({
        name: 'background workers',
        ok: true,
        warning: true,
        detail: `${describeBackends(workers)} will be terminated by the fence; they cannot come back unless they run as a kept role`,
      });
    }
  }
  return checks;
}

function streamsFromThisPrimary(
  receiver: WalReceiverInfo | null,
  senders: StandbyInfo[],
  primaryUrl: string,
  primary: ServerSettings,
): PreflightResult {
  const name = 'standby streams from this primary';
  if (receiver === null || receiver.status !== 'streaming') {
    return { name, ok: false, detail: `the standby's WAL receiver is ${receiver?.status ?? 'not running'}` };
  }
  const where = `${receiver.senderHost ?? '?'}:${receiver.senderPort ?? '?'}`;
  if (
    receiver.senderPort !== null &&
    primary.serverPort !== null &&
    receiver.senderPort !== primary.serverPort
  ) {
    return {
      name,
      ok: false,
      detail: `the standby streams from ${where}, not from this primary (port ${primary.serverPort}): is it the standby of another server?`,
    };
  }
  const sender = senders.find(
    (row) => row.applicationName === receiver.applicationName && row.state === 'streaming',
  );
  if (!sender) {
    return {
      name,
      ok: false,
      detail: `the standby streams from ${where} as ${receiver.applicationName}, but the primary has no WAL sender streaming to ${receiver.applicationName}`,
    };
  }
  const confirmed = sameHost(receiver.senderHost, primaryUrl, primary.serverAddr);
  return {
    name,
    ok: true,
    ...(confirmed ? {} : { warning: true }),
    detail: confirmed
      ? `${receiver.applicationName} streams from ${where}`
      : `${receiver.applicationName} streams from ${where}, which is not the host the bot reaches; the primary shows a WAL sender to ${receiver.applicationName}`,
  };
}
