// Executors of an in-place change that do not depend on where the database runs: the self-managed
// variant (health preflight, snapshot hook, change command), the health check that verifies the
// change, and the report with the write-unavailable window.
import { formatHookResult } from '../../hooks/format';
import { substitutePlaceholders } from '../../hooks/placeholders';
import { toHealthTarget } from '../../config/health-schema';
import { toHookCommand, type HookConfig } from '../../config/hook-schema';
import { resolveSecret } from '../../config/secrets';
import { fatal, needsHuman } from '../../engine/failures';
import type { Clock } from '../../ports/clock';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import type { ReplicationPort } from '../../ports/replication';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import type { InPlaceConfig, InPlaceVerify } from './config';
import { settingsOf } from './plan';
import { rdsChangeInEffect, rdsReportLines } from './rds-executors';
import { inPlaceProgress, progressOfStep } from './progress';
import { elapsedMs } from './steps';
import type { InPlaceCommandExecutor } from './plan';

export interface InPlaceCommonDeps {
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** Wall time for the measured write-unavailable window. */
  clock: Clock;
  /** Runs the `verify.sql` query (queryValue); without it a target with one fails its verify step. */
  replication?: Pick<ReplicationPort, 'queryValue'>;
}

/** What a verify query expects, in words. */
function expectation(sql: NonNullable<InPlaceVerify['sql']>): string {
  return sql.equals !== undefined ? `\`${sql.equals}\`` : `a value matching /${sql.matches ?? ''}/`;
}

const HEALTH_TIMEOUT_MS = 3_000;

/** The step that made the change: ModifyDBInstance, the maintenance action, or the command. */
const CHANGE_STEPS = ['modify', 'maintenance', 'command'];

async function probe(
  deps: Pick<InPlaceCommonDeps, 'health' | 'env'>,
  inPlace: InPlaceConfig,
): Promise<{ healthy: boolean; detail: string } | null> {
  if (!inPlace.health) return null;
  return deps.health.check(toHealthTarget(inPlace.health, deps.env), HEALTH_TIMEOUT_MS);
}

/** Read-only check of a self-managed target for `/cutover plan`: is it healthy now? */
export async function inPlaceCommandPreflight(
  deps: Pick<InPlaceCommonDeps, 'health' | 'env'>,
  inPlace: InPlaceConfig,
): Promise<PreflightCheck[]> {
  try {
    const seen = await probe(deps, inPlace);
    return [
      {
        name: 'healthy before the change',
        ok: seen?.healthy ?? false,
        detail: seen?.detail ?? 'no health check',
      },
    ];
  } catch (error) {
    return [{ name: 'healthy before the change', ok: false, detail: (error as Error).message }];
  }
}

export function inPlaceExecutors(deps: InPlaceCommonDeps): Record<InPlaceCommandExecutor, StepExecutor> {
  const { hooks, env, clock } = deps;

  const runHook = async (ctx: StepContext, config: HookConfig): Promise<{ ok: boolean; summary: string }> => {
    const { hook, secrets } = toHookCommand(config, env);
    const values = { target: ctx.target.name };
    const result = await hooks.run(hook, values);
    const summary = formatHookResult(result, substitutePlaceholders(hook.command, values), { secrets });
    return { ok: !result.timedOut && result.exitCode === 0, summary };
  };

  return {
    'ip-preflight': {
      async execute(ctx) {
        const seen = await probe(deps, settingsOf(ctx.target));
        if (!seen?.healthy) {
          throw fatal(
            `preflight refused: ${ctx.target.name} is not healthy before the change (${seen?.detail ?? 'no health check'})`,
          );
        }
        return { type: 'done', output: { health: seen.detail } };
      },
    },

    'ip-snapshot-hook': {
      async execute(ctx): Promise<StepResult> {
        const snapshot = settingsOf(ctx.target).snapshot;
        if (!snapshot) return { type: 'done', output: { skipped: true } };
        const ran = await runHook(ctx, snapshot);
        if (!ran.ok) throw fatal(`the snapshot hook did not succeed; nothing was changed.\n${ran.summary}`);
        return { type: 'done', output: { report: `:camera: Snapshot hook: ${ran.summary}` } };
      },
    },

    'ip-command': {
      async execute(ctx) {
        const inPlace = settingsOf(ctx.target);
        if (!inPlace.command) throw fatal('target has no inPlace.command');
        // A change command is not assumed to be idempotent: a worker that died while it ran leaves
        // the decision to run it again to a person.
        if (ctx.resumed && !ctx.humanOverride) {
          throw needsHuman(
            `the change command may have run already (the worker stopped while it ran). Check ${ctx.target.name}, then Retry to run it again, or abort.`,
          );
        }
        const requestedAtMs = clock.now().getTime();
        const ran = await runHook(ctx, inPlace.command);
        if (!ran.ok) {
          const snapshot = inPlace.snapshot
            ? ' The snapshot hook ran before it; there is no automatic undo: restore by hand if needed.'
            : ' There is no automatic undo.';
          throw fatal(`the change command did not succeed.${snapshot}\n${ran.summary}`);
        }
        return { type: 'done', output: { requestedAtMs, report: ran.summary } };
      },
    },

    'ip-health': {
      async execute(ctx): Promise<StepResult> {
        const inPlace = settingsOf(ctx.target);
        const seen = await probe(deps, inPlace);
        if (seen === null) {
          // No health check: the change counts as done when RDS showed it applied.
          const applied = progressOfStep(ctx, 'wait-applied').appliedAtMs;
          return {
            type: 'done',
            output: {
              healthyAtMs: applied ?? clock.now().getTime(),
              health: 'no health check configured',
            },
          };
        }
        if (seen.healthy)
          return { type: 'done', output: { healthyAtMs: clock.now().getTime(), health: seen.detail } };
        if (!ctx.humanOverride && elapsedMs(ctx) > inPlace.healthTimeout) {
          const snapshot = progressOfStep(ctx, 'snapshot').snapshotId;
          throw needsHuman(
            `${ctx.target.name} has not become healthy after the change (${seen.detail}). Retry to keep waiting, or check it by hand.` +
              (typeof snapshot === 'string'
                ? ` The DB snapshot ${snapshot} is kept for a manual restore.`
                : ''),
          );
        }
        return { type: 'wait', delayMs: inPlace.pollInterval, output: { notYet: seen.detail } };
      },
    },

    'ip-confirm': {
      async execute(ctx): Promise<StepResult> {
        const verify = settingsOf(ctx.target).verify;
        if (!verify) return { type: 'done', output: { skipped: true } };
        const notInEffect = (seen: string): never => {
          // Not overridable: approving checks again. Abort ends the run (there is no undo to run).
          throw needsHuman(
            `the change did not take effect: ${seen}. There is no automatic undo. Retry to check again, or abort.`,
          );
        };
        if (verify.hook) {
          const ran = await runHook(ctx, verify.hook);
          if (!ran.ok) return notInEffect(`the verify hook did not succeed\n${ran.summary}`);
          return {
            type: 'done',
            output: { verified: true, report: `:white_check_mark: Verified: ${ran.summary}` },
          };
        }
        const sql = verify.sql;
        const queryValue = deps.replication?.queryValue?.bind(deps.replication);
        if (!sql || !queryValue) throw fatal('this worker cannot run the verify query (no PostgreSQL port)');
        let value: string | null;
        try {
          value = await queryValue(resolveSecret(sql.url, env), sql.query);
        } catch (error) {
          throw needsHuman(
            `the verify query \`${sql.query}\` failed (${(error as Error).message}). Retry to run it again, or abort.`,
          );
        }
        const ok =
          sql.equals !== undefined
            ? value === sql.equals
            : value !== null && new RegExp(sql.matches ?? '').test(value);
        if (!ok) {
          return notInEffect(
            `\`${sql.query}\` returned ${value === null ? 'NULL' : `\`${value}\``}, expected ${expectation(sql)}`,
          );
        }
        return {
          type: 'done',
          output: {
            verified: true,
            value,
            report: `:white_check_mark: Verified: \`${sql.query}\` returned \`${value}\`.`,
          },
        };
      },
    },

    'ip-report': {
      execute(ctx) {
        const inPlace = settingsOf(ctx.target);
        const change = ctx.run.steps.find((step) => CHANGE_STEPS.includes(step.spec.name));
        const requested = inPlaceProgress.parse(change?.output).requestedAtMs;
        const healthy = progressOfStep(ctx, 'verify').healthyAtMs;
        const windowMs =
          typeof requested === 'number' && typeof healthy === 'number'
            ? Math.max(0, healthy - requested)
            : null;
        const inEffect = !inPlace.rds || rdsChangeInEffect(ctx);
        const verified = progressOfStep(ctx, 'confirm-change');
        const report = [
          inEffect
            ? ':white_check_mark: *Changed in place.*'
            : ':warning: *Changed in place, not in effect yet.*',
          ...(inPlace.rds
            ? rdsReportLines(ctx, inPlace)
            : [`• The change command ran; ${ctx.target.name} is healthy.`]),
          ...(verified.verified === true
            ? [
                typeof verified.value === 'string'
                  ? `• Verified: the change took effect (\`${verified.value}\`).`
                  : '• Verified: the verify hook confirmed the change.',
              ]
            : []),
          `• Write-unavailable window (change request → healthy): ${windowMs === null ? 'unknown' : `${(windowMs / 1000).toFixed(1)} s`} (at most: the database may have served for part of it)`,
        ].join('\n');
        return Promise.resolve({
          type: 'done',
          output: { writeUnavailableMs: windowMs, inEffect, report },
        });
      },
    },
  };
}
