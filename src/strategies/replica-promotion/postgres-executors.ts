// Executors of a self-managed PostgreSQL promotion. Each looks at the world before acting, so a
// job that runs twice (a worker died mid-step) does no harm. Read as gh-ost's cut-over does:
// re-check, act, verify.
import { resolveSecret } from '../../config/secrets';
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { JsonObject, Run } from '../../engine/types';
import type { LagReading, ReplicationPort } from '../../ports/replication';
import type { StepContext, StepExecutor, StepResult } from '../types';
import { FENCE_AND_PROMOTE_STEP, settingsOf } from './plan';
import { describeLag, isUnderLimit } from './lag';

export interface PostgresExecutorDeps {
  replication: ReplicationPort;
  env: NodeJS.ProcessEnv;
  /** Wall time in ms, for measured durations (the write-unavailable window). */
  nowMs?: () => number;
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

/** The output an earlier step of this run left, by step name. */
export function outputOf(run: Run, stepName: string): JsonObject | null {
  return run.steps.find((step) => step.spec.name === stepName)?.output ?? null;
}

function lagOutput(lag: LagReading): JsonObject {
  return { bytes: lag.bytes, seconds: lag.seconds };
}

/** Runs an executor's port calls on one session per endpoint, when the port can. */
function scoped<T>(replication: ReplicationPort, work: () => Promise<T>): Promise<T> {
  return replication.withSessions ? replication.withSessions(work) : work();
}

/** Inline polling for sub-second waits; longer waits become delayed jobs. */
async function pollBriefly<T>(
  probe: () => Promise<T | null>,
  budgetMs: number,
  everyMs: number,
): Promise<T | null> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const value = await probe();
    if (value !== null || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function postgresExecutors(deps: PostgresExecutorDeps): Record<string, StepExecutor> {
  const { replication, env } = deps;
  const nowMs = deps.nowMs ?? Date.now;

  const preflight: StepExecutor = {
    async execute(ctx) {
      const { primary, standby } = endpointsOf(ctx, env);
      const checks = await scoped(replication, () => preflightChecks(replication, primary, standby));
      const failed = checks.filter((check) => !check.ok);
      if (failed.length > 0)
        throw fatal(`preflight refused: ${failed.map((check) => check.detail).join('; ')}`);
      return { type: 'done', output: { checks: checks.map((check) => `${check.name}: ${check.detail}`) } };
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

  const unfence: StepExecutor = {
    async execute(ctx) {
      const { primary, standby } = endpointsOf(ctx, env);
      return scoped(replication, async () => {
        let standbyFacts;
        try {
          standbyFacts = await replication.describe(standby);
        } catch (error) {
          throw retryable(`cannot tell whether the standby was promoted (${(error as Error).message})`);
        }
        if (!standbyFacts.inRecovery) {
          throw fatal(
            'the standby has been promoted; the old primary stays fenced so that there are never two primaries',
          );
        }
        try {
          await replication.unfence(primary);
        } catch (error) {
          throw retryable(`could not unfence the primary (${(error as Error).message})`);
        }
        return { type: 'done', output: { report: ':unlock: The old primary accepts writes again.' } };
      });
    },
  };

  /**
   * Fence, catch-up and promotion as one step: the write-unavailable window has no step dispatch in
   * it, and every call shares one session per server. Each attempt looks before it acts, so a
   * resumed or repeated attempt continues where the earlier one stopped:
   * - the standby already promoted by an earlier attempt: verify, do not promote again;
   * - fenced by an earlier attempt that waited for catch-up: fence again (idempotent: it re-reads
   *   the final WAL position) and go on waiting;
   * - a catch-up longer than a second becomes a delayed re-run of this step (`wait`), up to
   *   catchUpTimeout; the output carries the final position and when the fence began.
   */
  const fenceAndPromote: StepExecutor = {
    async execute(ctx): Promise<StepResult> {
      const settings = settingsOf(ctx.target);
      const { primary, standby } = endpointsOf(ctx, env);
      const earlier = ctx.step.output;
      const earlierLsn = typeof earlier?.['finalLsn'] === 'string' ? earlier['finalLsn'] : null;
      const earlierFencedAt = typeof earlier?.['fencedAtMs'] === 'number' ? earlier['fencedAtMs'] : null;
      const earlierFenceMs = typeof earlier?.['fenceMs'] === 'number' ? earlier['fenceMs'] : null;
      // An earlier attempt of this step may have fenced or promoted (a crash, a retry, a wait).
      const repeated = ctx.resumed || ctx.attempt > 1;
      return scoped(replication, async (): Promise<StepResult> => {
        // Both ends are looked at before the clock starts; this also opens the sessions the rest uses.
        const [standbyFacts, primaryFacts] = await Promise.all([
          replication.describe(standby).catch((error: Error) => {
            throw retryable(`the standby does not answer (${error.message}); not fencing`);
          }),
          replication.describe(primary).catch(() => null),
        ]);
        if (!standbyFacts.inRecovery) {
          if (!repeated) {
            throw needsHuman(
              'the standby is already out of recovery (promoted by someone else?); not fencing',
            );
          }
          if (primaryFacts && !primaryFacts.inRecovery && !primaryFacts.readOnly) {
            throw needsHuman(
              'the standby is out of recovery but the old primary accepts writes: there may be two primaries. ' +
                'Fence one of them by hand, then retry or abort.',
            );
          }
          // Promoted by an earlier attempt of this step: verify only.
          return { type: 'done', output: await verifiedPromotion(null, earlierLsn, earlierFencedAt, true) };
        }
        if (primaryFacts?.inRecovery) {
          throw needsHuman(
            'the primary is in recovery (it is a standby now?); not fencing. Check the target, then retry or abort.',
          );
        }

        const fencedAtMs = earlierFencedAt ?? nowMs();
        let finalLsn: string;
        try {
          // Again on a repeated attempt: idempotent, and the final position is read after it (WAL
          // positions only grow, so it is never behind the earlier one).
          ({ finalLsn } = await replication.fence(primary));
        } catch (error) {
          if (earlierLsn === null || !ctx.humanOverride) {
            throw needsHuman(
              `could not fence the primary (${(error as Error).message}). The standby will not be promoted over a ` +
                'primary that may still take writes. Check the primary, then retry or abort.',
            );
          }
          // A person retried anyway: they vouch that the old primary cannot take writes any more.
          finalLsn = earlierLsn;
        }
        if (!(await replication.verifyFenced(primary)) && !ctx.humanOverride) {
          throw needsHuman(
            'the primary was told to refuse writes but a test write was not refused (or it does not answer); ' +
              'the standby will not be promoted. Retrying promotes anyway only if you are sure the old primary ' +
              'cannot take writes; abort unfences it.',
          );
        }
        // How long the first fence took: the window's fence part (a re-fence belongs to the catch-up).
        const fenceMs = earlierFenceMs ?? nowMs() - fencedAtMs;

        // Zero data loss: the standby replays the fenced primary's last WAL before it is promoted.
        const behind = await pollBriefly(
          async () => ((await replication.bytesBehind(standby, finalLsn)) === 0 ? 0 : null),
          1_000,
          1,
        );
        if (behind !== 0) {
          const waitedMs = nowMs() - fencedAtMs;
          if (waitedMs > (settings.postgres?.catchUpTimeout ?? 60_000)) {
            throw needsHuman(
              `the standby has not replayed the fenced primary's WAL up to ${finalLsn} after ${Math.round(waitedMs / 1000)} s; ` +
                'not promoting. Check the standby (is replay paused?), then retry or abort (abort unfences the primary).',
            );
          }
          return {
            type: 'wait',
            delayMs: 50,
            output: { finalLsn, fencedAtMs, fenceMs, phase: 'catching up' },
          };
        }
        const caughtUpMs = nowMs();
        // Re-checked right before the irreversible call: the fence still holds (one round trip on the
        // session that verified it).
        if (!(await replication.verifyFenced(primary)) && !ctx.humanOverride) {
          throw needsHuman(
            'the old primary is no longer verifiably fenced (a write was not refused, or it does not answer); not promoting. ' +
              'Retrying promotes anyway only if you are sure the old primary cannot take writes.',
          );
        }
        await replication.promote(standby, settings.postgres?.promoteTimeout ?? 60_000);
        const output = await verifiedPromotion(standbyFacts.timeline, finalLsn, fencedAtMs, false);
        const phasesMs = {
          fence: fenceMs,
          catchUp: caughtUpMs - fencedAtMs - fenceMs,
          promote: output.writableAtMs - caughtUpMs,
        };
        return { type: 'done', output: { ...output, phasesMs } };
      });

      /** The step's output once the standby is verifiably a writable primary; retryable until then. */
      async function verifiedPromotion(
        previousTimeline: number | null,
        finalLsn: string | null,
        fencedAtMs: number | null,
        alreadyPromoted: boolean,
      ) {
        const after = await replication.verifyPromoted(standby);
        if (after.inRecovery || !after.acceptsWrites) {
          throw retryable(
            `promotion not complete yet (in recovery: ${after.inRecovery}, accepts writes: ${after.acceptsWrites})`,
          );
        }
        return {
          finalLsn,
          fencedAtMs,
          bytesOutstanding: 0,
          timeline: after.timeline,
          previousTimeline,
          writableAtMs: nowMs(),
          alreadyPromoted,
        };
      }
    },
  };

  const report: StepExecutor = {
    execute(ctx) {
      const promoted = outputOf(ctx.run, FENCE_AND_PROMOTE_STEP);
      const fencedAtMs = Number(promoted?.['fencedAtMs']);
      const writableAtMs = Number(promoted?.['writableAtMs']);
      const windowMs =
        Number.isFinite(fencedAtMs) && Number.isFinite(writableAtMs) ? writableAtMs - fencedAtMs : null;
      const timeline = typeof promoted?.['timeline'] === 'number' ? promoted['timeline'] : null;
      const text = [
        ':white_check_mark: *Promotion complete.*',
        `• Write-unavailable window (fence → first write accepted on the new primary): ${windowMs === null ? 'unknown' : `${windowMs} ms`}${phasesText(promoted?.['phasesMs'])}`,
        '• Bytes lost: 0 (the standby replayed the fenced primary up to its final WAL position before promotion)',
        `• New timeline: ${timeline ?? 'unknown'}`,
        '• The old primary is fenced (read-only) and is no longer replicated to. To re-attach it as a standby, stop it and run ' +
          '`pg_rewind --target-pgdata=<its data dir> --source-server=<new primary conninfo>`, then start it with a ' +
          '`standby.signal` and `primary_conninfo` pointing at the new primary. The bot does not do this by itself.',
      ].join('\n');
      return Promise.resolve({
        type: 'done',
        output: {
          writeUnavailableMs: windowMs,
          bytesLost: 0,
          timeline: timeline,
          report: text,
        },
      });
    },
  };

  return {
    'pg-preflight': preflight,
    'pg-wait-lag': waitLag,
    'pg-recheck-lag': recheckLag,
    'pg-unfence': unfence,
    'pg-fence-and-promote': fenceAndPromote,
    'pg-report': report,
  };
}

/** " (fence 20 ms, catch-up 1 ms, promote 24 ms)", or nothing when the parts were not measured. */
function phasesText(phases: unknown): string {
  if (typeof phases !== 'object' || phases === null) return '';
  const { fence, catchUp, promote } = phases as Record<string, unknown>;
  if (![fence, catchUp, promote].every((ms) => typeof ms === 'number')) return '';
  return ` (fence ${String(fence)} ms, catch-up ${String(catchUp)} ms, promote ${String(promote)} ms)`;
}

export interface PreflightResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Read-only checks shared by the preflight step and `/cutover plan`. */
export async function preflightChecks(
  replication: ReplicationPort,
  primaryUrl: string,
  standbyUrl: string,
): Promise<PreflightResult[]> {
  const checks: PreflightResult[] = [];
  const primary = await replication.describe(primaryUrl).catch((error: Error) => error);
  const standby = await replication.describe(standbyUrl).catch((error: Error) => error);
  checks.push(
    primary instanceof Error
      ? { name: 'primary reachable', ok: false, detail: `primary does not answer: ${primary.message}` }
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
      ? { name: 'standby reachable', ok: false, detail: `standby does not answer: ${standby.message}` }
      : {
          name: 'standby in recovery',
          ok: standby.inRecovery,
          detail: standby.inRecovery
            ? `replaying at ${standby.lsn}`
            : 'the standby is not in recovery (already promoted?)',
        },
  );
  if (!(primary instanceof Error) && !(standby instanceof Error)) {
    const same = primary.systemIdentifier === standby.systemIdentifier;
    checks.push({
      name: 'same system identifier',
      ok: same,
      detail: same
        ? primary.systemIdentifier
        : `primary ${primary.systemIdentifier} ≠ standby ${standby.systemIdentifier}`,
    });
    const standbys = await replication.standbys(primaryUrl).catch(() => []);
    const streaming = standbys.filter((row) => row.state === 'streaming');
    checks.push({
      name: 'standby streams from this primary',
      ok: streaming.length > 0,
      detail:
        streaming.length > 0
          ? `streaming: ${streaming.map((row) => row.applicationName).join(', ')}`
          : 'pg_stat_replication on the primary shows no streaming standby',
    });
    if (streaming.length > 1) {
      checks.push({
        name: 'other standbys',
        ok: true,
        detail: `${streaming.length - 1} other standby(s) stream from this primary and will be orphaned by the promotion: re-point them at the new primary`,
      });
    }
  }
  return checks;
}
