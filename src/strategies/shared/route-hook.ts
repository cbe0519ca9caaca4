// The optional `route` hook every strategy shares: once the database has moved, point traffic at it.
import { toHookCommand, type HookConfig } from '../../config/hook-schema';
import { needsHuman } from '../../engine/failures';
import type { HookRunner } from '../../ports/hooks';
import type { StepContext, StepExecutor, StepResult } from '../types';
import { formatHookResult } from '../../hooks/format';
import { substitutePlaceholders } from '../../hooks/placeholders';

/** The placeholders endpointVars fills in for `prefix`, for checking hooks when the file loads. */
export function endpointPlaceholders(prefix: string): string[] {
  return [`${prefix}.host`, `${prefix}.port`, `${prefix}.database`];
}

/** `{standby.host}` style placeholders from the target's connection strings (never their passwords). */
export function endpointVars(prefix: string, connectionString: string): Record<string, string> {
  try {
    const url = new URL(connectionString);
    const [host, port, database] = endpointPlaceholders(prefix) as [string, string, string];
    return {
      [host]: url.hostname,
      [port]: url.port || '5432',
      [database]: url.pathname.replace(/^\//, ''),
    };
  } catch {
    return {};
  }
}

/** What the route hook did: its exit code, how long it took, and its summary for the thread. */
export interface RouteOutcome {
  exitCode: number;
  durationMs: number;
  report: string;
}

/**
 * Runs the target's route hook (null: it has none); needs-human when it fails. The promotions run it
 * inside their window, the other strategies as a step of its own (routeExecutor).
 */
export function routeHook(
  hooks: HookRunner,
  env: NodeJS.ProcessEnv,
  vars: (ctx: StepContext) => Record<string, string>,
  routeOf: (ctx: StepContext) => HookConfig | undefined,
): (ctx: StepContext) => Promise<RouteOutcome | null> {
  return async (ctx) => {
    const route = routeOf(ctx);
    if (!route) return null;
    const { hook, secrets } = toHookCommand(route, env);
    const values = { target: ctx.target.name, ...vars(ctx) };
    const result = await hooks.run(hook, values);
    // Show the command as it ran (placeholders filled), with every secret redacted.
    const summary = formatHookResult(result, substitutePlaceholders(hook.command, values), { secrets });
    if (result.timedOut || result.exitCode !== 0) {
      // The database has moved already; traffic has not. A person decides: retry or fix by hand.
      throw needsHuman(
        `the route hook did not succeed; traffic may still point at the old place.\n${summary}`,
      );
    }
    return { exitCode: result.exitCode, durationMs: result.durationMs, report: summary };
  };
}

/** The route hook as a step: skipped when the target has none. */
export function routeExecutor(...args: Parameters<typeof routeHook>): StepExecutor {
  const run = routeHook(...args);
  return {
    async execute(ctx): Promise<StepResult> {
      const outcome = await run(ctx);
      return { type: 'done', output: outcome ? { ...outcome } : { skipped: true } };
    },
  };
}
