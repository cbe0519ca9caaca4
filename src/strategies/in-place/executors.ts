// Executors of an in-place change that do not depend on where the database runs: the self-managed
// variant (health preflight, snapshot hook, change command), the health check that verifies the
// change, and the report with the write-unavailable window.
import { formatHookResult } from '../../adapters/hooks/format';
import { substitutePlaceholders } from '../../adapters/hooks/placeholders';
import { toHealthTarget } from '../../config/health-schema';
import { toHookCommand, type HookConfig } from '../../config/hook-schema';
import { fatal, needsHuman } from '../../engine/failures';
import type { HealthChecker } from '../../ports/health';
import type { HookRunner } from '../../ports/hooks';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import type { InPlaceConfig } from './config';
import { settingsOf } from './plan';
import { rdsReportLines } from './rds-executors';
import { elapsedMs, outputOf } from './steps';

export interface InPlaceCommonDeps {
  health: HealthChecker;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  nowMs: () => number;
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

export function inPlaceExecutors(deps: InPlaceCommonDeps): Record<string, StepExecutor> {
  const { hooks, env, nowMs } = deps;

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
        const requestedAtMs = nowMs();
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
          const applied = outputOf(ctx, 'wait-applied')?.['appliedAtMs'];
          return {
            type: 'done',
            output: {
              healthyAtMs: typeof applied === 'number' ? applied : nowMs(),
              health: 'no health check configured',
            },
          };
        }
        if (seen.healthy) return { type: 'done', output: { healthyAtMs: nowMs(), health: seen.detail } };
        if (!ctx.humanOverride && elapsedMs(ctx) > inPlace.healthTimeout) {
          const snapshot = outputOf(ctx, 'snapshot')?.['snapshotId'];
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

    'ip-report': {
      execute(ctx) {
        const inPlace = settingsOf(ctx.target);
        const change = ctx.run.steps.find((step) => CHANGE_STEPS.includes(step.spec.name));
        const requested = change?.output?.['requestedAtMs'];
        const healthy = outputOf(ctx, 'verify')?.['healthyAtMs'];
        const windowMs =
          typeof requested === 'number' && typeof healthy === 'number'
            ? Math.max(0, healthy - requested)
            : null;
        const report = [
          ':white_check_mark: *Changed in place.*',
          ...(inPlace.rds
            ? rdsReportLines(ctx, inPlace)
            : [`• The change command ran; ${ctx.target.name} is healthy.`]),
          `• Write-unavailable window (change request → healthy): ${windowMs === null ? 'unknown' : `${(windowMs / 1000).toFixed(1)} s`} (at most: the database may have served for part of it)`,
        ].join('\n');
        return Promise.resolve({ type: 'done', output: { writeUnavailableMs: windowMs, report } });
      },
    },
  };
}
