// The two ways to keep the old primary from taking writes while the standby is promoted, behind one
// shape so that the fence-and-promote step reads the same for both: fence (once), prove the fence
// holds and name the WAL position the standby must reach, and after the promotion, what is left to
// do on either server. Each method looks at the world before acting: every attempt may be a repeat.
import { z } from 'zod';
import { toHookCommand } from '../../config/hook-schema';
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { JsonObject } from '../../engine/types';
import { systemClock, type Clock } from '../../ports/clock';
import type { HookRunner } from '../../ports/hooks';
import type { BackendInfo, FenceScope, FenceSurvey, ReplicationPort } from '../../ports/replication';
import { progressCodec } from '../progress';
import { endpointVars } from '../shared/route-hook';
import type { StepContext } from '../types';
import type { FenceSettings } from './config';

/** What a client writing through PgBouncer saw during the switch. */
const clientFiguresSchema = z.object({
  writes: z.number(),
  errors: z.number(),
  longestStallMs: z.number(),
  errorKinds: z.record(z.string(), z.number()),
});

const poolerRecordSchema = z
  .object({
    paused: z.boolean(),
    pausedAtMs: z.number(),
    resumedAtMs: z.number(),
    figures: clientFiguresSchema,
    resumeFailures: z.array(z.string()),
    /** A commit through every instance completed after the RESUME. */
    verifiedAtMs: z.number(),
  })
  .partial();

export type PoolerRecord = z.infer<typeof poolerRecordSchema>;

/** What a fence mode leaves behind after the promotion, on either server (`afterPromotion`, `retireOld`). */
const leftBehindShape = {
  /** SQL fence: how many roles may log in to the new primary again. */
  loginsRestored: z.number(),
  /** SQL fence: the bot's own role was locked out of the old primary (false: it could not be reached). */
  oldPrimarySealed: z.boolean(),
  /** Client sessions still on the old primary after the switch (null: it could not be asked). */
  oldPrimarySessions: z.number().nullable(),
  oldPrimaryStopped: z.boolean(),
};

export type LeftBehind = Partial<z.infer<z.ZodObject<typeof leftBehindShape>>>;

/** What the fence-and-promote step has recorded so far (its output); every field optional. */
export const fenceProgressSchema = z
  .object({
    mode: z.enum(['sql', 'stop']),
    /** SQL fence: the roles made NOLOGIN, recorded before they were. */
    lockedRoles: z.array(z.string()),
    /** SQL fence: the roles it had to keep (the bot's own, replication), and the bot's role. */
    keptRoles: z.array(z.string()),
    botRole: z.string(),
    /** SQL fence, once promotion is requested: the kept roles but the bot's, locked too (then restored on the new primary). */
    sealedRoles: z.array(z.string()),
    /** The seal ran (true), or the old primary could not be reached for it (false). */
    sealed: z.boolean(),
    /** The position the standby must reach after the seal before pg_promote. */
    sealLsn: z.string(),
    /** Stop fence: the stop hook was started (recorded before it ran). */
    stopRequested: z.boolean(),
    fencedAtMs: z.number(),
    /** The fence is complete; a later attempt only checks that it holds. */
    fenced: z.boolean(),
    fenceMs: z.number(),
    /** SQL: the WAL position written after the fence; stop: the shutdown checkpoint's location. */
    finalLsn: z.string(),
    phase: z.string(),
    /** Recorded before pg_promote is called: from then on the old primary is never unfenced. */
    promoteRequested: z.boolean(),
    promoteRequestedAtMs: z.number(),
    /** RDS: when the replica had replayed the source's final LSN (the end of the catch-up). */
    caughtUpAtMs: z.number(),
    /** RDS: PromoteReadReplica was sent (recorded once the call returned). */
    promoteSentAtMs: z.number(),
    /** PgBouncer in front of the primary: its PAUSE, RESUME and what a client writing through it saw. */
    pgbouncer: poolerRecordSchema,
    // Once promoted: what the report reads.
    writableAtMs: z.number(),
    routedAtMs: z.number(),
    /** The route hook's report (null: it printed nothing). */
    routeReport: z.string().nullable(),
    timeline: z.number(),
    /** The standby's timeline before this attempt promoted it (null: promoted by an earlier attempt). */
    previousTimeline: z.number().nullable(),
    alreadyPromoted: z.boolean(),
    bytesOutstanding: z.number(),
    phasesMs: z.object({ fence: z.number(), catchUp: z.number(), promote: z.number() }),
    ...leftBehindShape,
    /** RDS: the replica's status when it took the canary commit. */
    rdsStatusAtCommit: z.string().nullable(),
  })
  .partial()
  .passthrough();

export type FenceProgress = z.infer<typeof fenceProgressSchema>;

const fenceProgress = progressCodec(fenceProgressSchema);

export const readFenceProgress = fenceProgress.parse;

/** The progress as a step output. */
export const progressJson = fenceProgress.json;

export interface Servers {
  primary: string;
  standby: string;
}

/** The position the standby must have replayed: up to it (SQL), or past it (a shutdown checkpoint). */
export interface FenceProof {
  lsn: string;
  past: boolean;
}

export interface FenceMode {
  /**
   * Fences the old primary; what it returns is merged into the progress (fenced: true added by the
   * caller), with `fencedAtMs`: when it began to affect clients (kept from an earlier attempt).
   */
  fence(ctx: StepContext, servers: Servers, progress: FenceProgress): Promise<FenceProgress>;
  /** Proves the fence holds right now and names the position to reach; needs-human when it does not. */
  proof(servers: Servers, progress: FenceProgress): Promise<FenceProof>;
  /**
   * Right before pg_promote is requested: nobody but the bot may log in to the old primary any more
   * and no other session is left (SQL: `sealLsn` names what the standby must then have), or it is
   * still down (stop). Needs-human when that does not hold; the undo can still give everything back.
   */
  seal(servers: Servers, progress: FenceProgress): Promise<FenceProgress>;
  /** After the promotion, before clients are let in: the SQL fence restores the roles' logins. */
  afterPromotion(servers: Servers, progress: FenceProgress): Promise<LeftBehind>;
  /** Once clients write to the new primary (outside the window): what keeps the old one from ever taking writes again. */
  retireOld(servers: Servers, progress: FenceProgress): Promise<LeftBehind>;
  /** The undo before any promotion was requested. */
  undo(ctx: StepContext, servers: Servers, progress: FenceProgress): Promise<JsonObject>;
}

export interface FenceModeDeps {
  replication: ReplicationPort;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time: when the fence starts to affect clients (the window's start). */
  clock: Clock;
}

/** A person approved the needs-human gate that this decision raised (and no other). */
export function approvedDecision(
  ctx: Pick<StepContext, 'humanOverride' | 'step'>,
  decision: string,
): boolean {
  return ctx.humanOverride && ctx.step.error?.detail?.['decision'] === decision;
}

/**
 * The fence's proof; when the old primary cannot be asked, a person may vouch that it is down ("Retry
 * anyway" on `primary_unreachable`): the standby is then promoted with what it replayed of the fenced
 * primary (its final position, read right after the fence).
 */
export async function proofOrVouched(
  ctx: Pick<StepContext, 'humanOverride' | 'step'>,
  fence: FenceMode,
  servers: Servers,
  progress: FenceProgress,
): Promise<FenceProof> {
  try {
    return await fence.proof(servers, progress);
  } catch (error) {
    if (approvedDecision(ctx, 'primary_unreachable') && progress.finalLsn !== undefined) {
      return { lsn: progress.finalLsn, past: progress.mode === 'stop' };
    }
    throw error;
  }
}

/** Whether the standby has replayed up to the proof's position (or past it, for a shutdown checkpoint). */
export async function replayedTo(
  replication: ReplicationPort,
  standby: string,
  proof: FenceProof,
): Promise<boolean> {
  return proof.past
    ? replication.replayedPast(standby, proof.lsn)
    : (await replication.bytesBehind(standby, proof.lsn)) === 0;
}

/** Runs a step's port calls on one session per endpoint, when the port can. */
export function scoped<T>(replication: ReplicationPort, work: () => Promise<T>): Promise<T> {
  return replication.withSessions ? replication.withSessions(work) : work();
}

/**
 * `replayedTo`, polled every millisecond for up to `budgetMs` inside the step: a catch-up of a few
 * ms stays inside the window; a longer one becomes a delayed job (the caller's `wait`). The budget is
 * real time (the sleeps between looks are): `clock` must move with it.
 */
export async function replayedWithin(
  replication: ReplicationPort,
  standby: string,
  proof: FenceProof,
  budgetMs = 1_000,
  clock: Clock = systemClock,
): Promise<boolean> {
  const deadline = clock.now().getTime() + budgetMs;
  for (;;) {
    if (await replayedTo(replication, standby, proof)) return true;
    if (clock.now().getTime() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * The last proof, right before the irreversible call: sealed, nobody else may log in to the old
 * primary, so what it wrote up to now is all it ever will; the standby must have it. (Unless a
 * person vouched that the old primary is down: it cannot be sealed then.) `caughtUp` false: the
 * standby has not replayed the seal yet; the caller waits and tries again.
 */
export async function sealAndCatchUp(
  ctx: Pick<StepContext, 'humanOverride' | 'step'>,
  deps: { fence: FenceMode; replication: ReplicationPort },
  servers: Servers,
  progress: FenceProgress,
): Promise<{ progress: FenceProgress; caughtUp: boolean }> {
  const sealed = approvedDecision(ctx, 'primary_unreachable')
    ? { ...progress, sealed: false }
    : await deps.fence.seal(servers, progress);
  if (sealed.sealLsn === undefined) return { progress: sealed, caughtUp: true };
  const proof = { lsn: sealed.sealLsn, past: false };
  return { progress: sealed, caughtUp: await replayedWithin(deps.replication, servers.standby, proof) };
}

/** Removes the run's canary row (and the bot's schema, once empty) from the new primary; a failure is a report line. */
export async function dropCanaryOrSay(
  replication: ReplicationPort,
  newPrimary: string,
  runId: string,
  lines: string[],
): Promise<void> {
  await scoped(replication, () => replication.dropCanary(newPrimary, runId)).catch((error: Error) => {
    lines.push(`• The bot's canary table \`cutover_bot.canary\` could not be cleaned up (${error.message}).`);
  });
}

/**
 * The fence, once: a later attempt (progress says `fenced`) only goes on from it. `fenceMs` is the
 * first fence's duration, the window's fence part.
 */
export async function fencedOnce(
  ctx: StepContext,
  fence: FenceMode,
  servers: Servers,
  progress: FenceProgress,
  clock: Clock,
): Promise<FenceProgress> {
  if (progress.fenced === true) return progress;
  const fenced = { ...progress, ...(await fence.fence(ctx, servers, progress)) };
  const now = clock.now().getTime();
  return { ...fenced, fenced: true, fenceMs: now - (fenced.fencedAtMs ?? now) };
}

/** "pid 4711 (role app, client backend, ...)" for a needs-human message. */
export function describeBackends(backends: readonly BackendInfo[]): string {
  const shown = backends.slice(0, 8).map((backend) => {
    const parts = [
      `role ${backend.role ?? '?'}`,
      backend.backendType,
      ...(backend.applicationName ? [`app ${backend.applicationName}`] : []),
      ...(backend.clientAddr ? [backend.clientAddr] : []),
    ];
    return `pid ${backend.pid} (${parts.join(', ')})`;
  });
  const more = backends.length > shown.length ? ` and ${backends.length - shown.length} more` : '';
  return shown.join('; ') + more;
}

export function fenceModeFor(settings: FenceSettings, deps: FenceModeDeps): FenceMode {
  return settings.mode === 'stop' ? stopFence(settings, deps) : sqlFence(deps);
}

/**
 * The SQL fence where there is no superuser and no ALTER SYSTEM (RDS, where the bot's role is an
 * `rds_superuser`): the same fence (NOLOGIN for the application roles, their sessions ended, the
 * seal, the logins restored on the new primary), without the read-only default, leaving alone the
 * roles the provider logs in as itself (`spareRoles`). It needs CREATEROLE and pg_signal_backend.
 */
export function managedSqlFence(deps: FenceModeDeps, spareRoles: readonly string[]): FenceMode {
  return sqlFence(deps, { spareRoles, readOnlyDefault: false });
}

/**
 * Why the managed SQL fence cannot work with the bot's role on this server (null: it can): it must
 * create and alter roles, end other roles' sessions, and be able to lock every role that may log in.
 */
export function managedFenceProblem(survey: FenceSurvey): string | null {
  if (survey.botIsSuperuser) return null;
  const missing = [
    ...(survey.botCanCreateRoles === true ? [] : ['CREATEROLE (to make the application roles NOLOGIN)']),
    ...(survey.botCanSignal === true ? [] : ['membership in pg_signal_backend (to end their sessions)']),
  ];
  if (missing.length > 0) {
    return (
      `the fence needs ${missing.join(' and ')}, and the bot's role ${survey.botRole} lacks it. ` +
      'On RDS, grant rds_superuser to the bot’s own role (it has both)'
    );
  }
  const unlockable = survey.unlockable ?? [];
  if (unlockable.length > 0) {
    const listed = unlockable
      .slice(0, 8)
      .map(({ role, reason }) => `${role} (${reason})`)
      .join(', ');
    return (
      `roles that may log in cannot be locked out by the bot's role ${survey.botRole}: ${listed}. ` +
      'Take their LOGIN away, or list them in managedRoles if the provider alone logs in as them'
    );
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// SQL fence

/** The roles the seal locks: the ones the fence kept, but the bot's own. */
function sealRolesOf(progress: FenceProgress): string[] {
  return (progress.keptRoles ?? []).filter((role) => role !== progress.botRole);
}

function sessionsBack(others: readonly BackendInfo[], managed: boolean): Error {
  return needsHuman(
    `sessions are back on the fenced primary: ${describeBackends(others)}. They log in as a role the SQL fence cannot ` +
      'lock out (the bot’s own, or a replication role until the seal), so it cannot keep them from writing; not promoting. ' +
      `Give them a role of their own${managed ? '' : ' (or use `fence: { mode: stop }`)'}, then retry, or abort (abort unfences the primary).`,
    { detail: { decision: 'sessions_back' } },
  );
}

/** `scope` given: the managed variant (see managedSqlFence); absent: a superuser's fence. */
function sqlFence({ replication, clock }: FenceModeDeps, scope?: FenceScope): FenceMode {
  const managed = scope !== undefined;
  return {
    async fence(ctx, { primary }, progress) {
      let lockedRoles = progress.lockedRoles;
      if (lockedRoles === undefined) {
        const survey = await replication.surveyFence(primary, scope).catch((error: Error) => {
          throw retryable(`the primary does not answer (${error.message}); nothing is fenced`);
        });
        const problem = managed ? managedFenceProblem(survey) : null;
        if (problem !== null) throw needsHuman(`${problem}; nothing is fenced. Then retry or abort.`);
        if (!managed && !survey.botIsSuperuser) {
          throw needsHuman(
            `the SQL fence needs a superuser, and the bot connects to the primary as ${survey.botRole}, which is not one; nothing is fenced. ` +
              'Connect as a superuser, or use `fence: { mode: stop }`, then retry or abort.',
          );
        }
        lockedRoles = survey.rolesToLock;
        progress = {
          ...progress,
          mode: 'sql',
          lockedRoles,
          keptRoles: survey.rolesKept,
          botRole: survey.botRole,
        };
        // Durable before any role is locked: an undo after a crash knows exactly what to give back.
        await ctx.saveProgress(progressJson(progress));
      }
      // The window starts here: the survey and the record above do not keep any client from writing.
      const fencedAtMs = progress.fencedAtMs ?? clock.now().getTime();
      try {
        const { finalLsn } = await replication.fence(primary, lockedRoles, scope);
        return { ...progress, mode: 'sql', lockedRoles, finalLsn, fencedAtMs };
      } catch (error) {
        throw needsHuman(
          `could not fence the primary (${(error as Error).message}). The standby will not be promoted over a ` +
            'primary that may still take writes. Check the primary, then retry or abort (abort unfences it).',
          { detail: { decision: 'fence_failed' } },
        );
      }
    },

    async proof({ primary }) {
      let check: { others: BackendInfo[]; lsn: string };
      try {
        check = await replication.fenceCheck(primary, scope);
      } catch (error) {
        throw needsHuman(
          `could not check the fence on the primary (${(error as Error).message}). Not promoting while it may still take writes. ` +
            'Retry anyway only if you are sure the old primary is down: the standby is then promoted with what it has replayed of the fenced primary.',
          { detail: { decision: 'primary_unreachable' } },
        );
      }
      if (check.others.length > 0) throw sessionsBack(check.others, managed);
      return { lsn: check.lsn, past: false };
    },

    async seal({ primary }, progress) {
      // The replication roles go too: the standby's WAL receiver keeps its session to the end, and
      // then no session of any role but the bot's can start. The bot's own role is locked out only
      // after the promotion: the standby gets this through WAL, and the bot must still reach it.
      const sealedRoles = sealRolesOf(progress);
      let check: { others: BackendInfo[]; lsn: string };
      try {
        await replication.lockOut(primary, sealedRoles, scope);
        check = await replication.fenceCheck(primary, scope);
      } catch (error) {
        throw needsHuman(
          `could not seal the fenced primary (${(error as Error).message}). Not promoting while it may still take writes. ` +
            'Check it, then retry or abort (abort unfences it).',
          { detail: { decision: 'primary_unreachable' } },
        );
      }
      if (check.others.length > 0) throw sessionsBack(check.others, managed);
      return { ...progress, sealedRoles, sealed: true, sealLsn: check.lsn };
    },

    async afterPromotion({ standby }, progress) {
      const roles = [...(progress.lockedRoles ?? []), ...(progress.sealedRoles ?? [])];
      // The NOLOGINs reached the standby through WAL: clients may log in to the new primary again.
      try {
        await replication.restoreLogins(standby, roles);
      } catch (error) {
        throw retryable(`could not restore the logins on the new primary (${(error as Error).message})`);
      }
      return { loginsRestored: roles.length };
    },

    async retireOld({ primary }, progress) {
      // Now the bot's own role too: the old primary is on another timeline, nothing of it reaches the
      // new primary any more, and it must never take another write.
      // Post-cutover check: no client session is left on the old primary.
      const check = await replication.fenceCheck(primary, scope).catch(() => null);
      let botLocked = false;
      if (progress.botRole !== undefined) {
        botLocked = await replication.lockOut(primary, [progress.botRole], scope).then(
          () => true,
          () => false,
        );
      }
      return { oldPrimarySealed: botLocked, oldPrimarySessions: check ? check.others.length : null };
    },

    async undo(_ctx, { primary }, progress) {
      try {
        // Every role the fence or its seal may have locked, whether or not the seal ran.
        await replication.unfence(
          primary,
          [...(progress.lockedRoles ?? []), ...sealRolesOf(progress)],
          scope,
        );
      } catch (error) {
        throw retryable(`could not unfence the primary (${(error as Error).message})`);
      }
      return { report: ':unlock: The old primary accepts writes again.' };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stop fence

/**
 * How many refused connections in a row prove nothing listens any more. Back to back, inside the
 * window: what is spread over time is the checks after it (before the catch-up proof, and right
 * before pg_promote), which would see a server that something started again.
 */
const REFUSALS_NEEDED = 3;

/** The two lines of `pg_controldata` the stop hook must print. */
export function readControlData(output: string): { state: string | null; checkpoint: string | null } {
  const state = /^Database cluster state:\s*(.+?)\s*$/m.exec(output)?.[1] ?? null;
  const checkpoint =
    /^Latest checkpoint location:\s*([0-9A-Fa-f]+\/[0-9A-Fa-f]+)\s*$/m.exec(output)?.[1] ?? null;
  return { state, checkpoint };
}

function hookVars(ctx: StepContext, { primary, standby }: Servers): Record<string, string> {
  return {
    target: ctx.target.name,
    ...endpointVars('primary', primary),
    ...endpointVars('standby', standby),
  };
}

function stopFence(settings: Extract<FenceSettings, { mode: 'stop' }>, deps: FenceModeDeps): FenceMode {
  const { replication, hooks, env, clock } = deps;

  /**
   * Positive proof that the old primary is down: refused (never a timeout), `times` in a row. The
   * proof right after the stop asks several times; the checks after it (before the catch-up proof and
   * right before pg_promote) ask once: they only confirm that nothing started it since.
   */
  const provenDown = async (primary: string, times = REFUSALS_NEEDED): Promise<string | null> => {
    for (let i = 0; i < times; i++) {
      const reach = await replication.reach(primary);
      if (reach !== 'refused') return reach;
    }
    return null;
  };

  return {
    async fence(ctx, servers, progress) {
      if (progress.stopRequested !== true) {
        // Durable before the hook runs: an undo after a crash knows the primary may be stopped.
        await ctx.saveProgress(progressJson({ ...progress, mode: 'stop', stopRequested: true }));
      }
      // Rerun on a repeated attempt: a stop hook must be safe on a stopped database, and it prints the
      // control data again. The window starts with the stop.
      const fencedAtMs = progress.fencedAtMs ?? clock.now().getTime();
      const { hook } = toHookCommand(settings.stop, env);
      const result = await hooks.run(hook, hookVars(ctx, servers));
      if (result.timedOut || result.exitCode !== 0) {
        throw needsHuman(
          `the stop hook did not succeed (exit ${String(result.exitCode)}${result.timedOut ? ', timed out' : ''}); the primary may still be running. ` +
            `Not promoting. Check it, then retry or abort (abort runs the start hook).\n${result.output.slice(-800)}`,
          { detail: { decision: 'stop_failed' } },
        );
      }
      const control = readControlData(result.output);
      if (control.state === null || control.checkpoint === null) {
        throw needsHuman(
          'the stop hook succeeded but did not print the stopped server’s `pg_controldata` (its "Database cluster state" and ' +
            '"Latest checkpoint location" lines), so nothing shows that the standby has everything. Fix the hook, then retry or abort.',
          { detail: { decision: 'stop_no_control_data' } },
        );
      }
      if (control.state !== 'shut down') {
        throw needsHuman(
          `the old primary did not shut down cleanly (cluster state: ${control.state}): its last WAL may not have reached the standby. ` +
            'Not promoting. Start it and stop it cleanly, then retry, or abort (abort runs the start hook).',
          { detail: { decision: 'stop_unclean' } },
        );
      }
      const reach = await provenDown(servers.primary);
      if (reach !== null) {
        throw needsHuman(
          `the stop hook reported a clean shutdown, but a connection to the primary was not refused (${reach}): it may still run. Not promoting. Check it, then retry or abort.`,
          { detail: { decision: 'stop_not_down' } },
        );
      }
      return { mode: 'stop', stopRequested: true, finalLsn: control.checkpoint, fencedAtMs };
    },

    async proof({ primary }, progress) {
      // The stop was proved by the fence (several refusals after a clean shutdown, recorded with its
      // checkpoint); here, and on a resumed attempt, one refusal confirms nothing started it since.
      const reach = await provenDown(primary, 1);
      if (reach !== null) {
        throw needsHuman(
          `the stopped primary answers again (${reach}): something started it. Not promoting. Stop it, then retry, or abort.`,
          { detail: { decision: 'stop_not_down' } },
        );
      }
      if (progress.finalLsn === undefined) throw fatal('the stop fence recorded no checkpoint location');
      // The shutdown checkpoint record starts at this location: the standby must have replayed past it.
      return { lsn: progress.finalLsn, past: true };
    },

    async seal({ primary }, progress) {
      return { ...progress, sealed: (await provenDown(primary, 1)) === null };
    },

    afterPromotion() {
      return Promise.resolve({});
    },

    retireOld() {
      return Promise.resolve({ oldPrimaryStopped: true, oldPrimarySessions: 0 });
    },

    async undo(ctx, servers, progress) {
      if (progress.stopRequested !== true) return { report: 'The old primary was never stopped.' };
      if ((await replication.reach(servers.primary)) === 'answers') {
        const facts = await replication.describe(servers.primary).catch(() => null);
        if (facts && !facts.inRecovery)
          return { report: ':unlock: The old primary runs and accepts writes again.' };
      }
      const { hook } = toHookCommand(settings.start, env);
      const result = await hooks.run(hook, hookVars(ctx, servers));
      if (result.timedOut || result.exitCode !== 0) {
        throw needsHuman(
          `the start hook did not succeed (exit ${String(result.exitCode)}${result.timedOut ? ', timed out' : ''}); the old primary is still stopped. ` +
            `Start it by hand, then retry.\n${result.output.slice(-800)}`,
        );
      }
      const facts = await replication.describe(servers.primary).catch((error: Error) => {
        throw retryable(`the start hook succeeded but the primary does not answer yet (${error.message})`);
      });
      if (facts.inRecovery)
        throw needsHuman('the old primary started in recovery (as a standby); check it by hand');
      return { report: ':unlock: The old primary was started again and accepts writes.' };
    },
  };
}
