// The targets file: read, parse, validate every target against its strategy, check its secrets.
// Reports every problem at once as one ConfigError; returns a deep-frozen TargetsConfig.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseDocument } from 'yaml';
import { z } from 'zod';

import { ConfigError } from './errors';
import { deepFreeze, isPlainObject } from './freeze';
import { CONFIG_PARSE_OPTIONS, problemsFromIssues, type Problem, unknownKeyProblem } from './issues';
import { formatPath } from './paths';
import { findMissingSecrets } from './secrets';
import {
  COMMON_KEYS,
  commonSchema,
  DEFAULT_KEYS,
  type Defaults,
  defaultsSchema,
  isUserId,
} from './target-schemas';
import type { TargetConfig, TargetsConfig } from './types';
import { TARGET_DEFAULTS } from './target-defaults';

export { ConfigError } from './errors';

/**
 * Validates the strategy-specific keys of a target (the entry minus the common keys); its output
 * becomes TargetConfig.settings. Use strict objects so a mistyped key is an error, not ignored.
 */
export interface StrategyConfigSchema {
  schema: z.ZodType;
}

export interface TargetsOptions {
  env: NodeJS.ProcessEnv;
  strategies: ReadonlyMap<string, StrategyConfigSchema>;
}

const TOP_LEVEL_KEYS = ['defaults', 'targets'];

export function loadTargetsFile(path: string, options: TargetsOptions): TargetsConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'targets file not found — create it (./cutover.yaml by default) or set CUTOVER_CONFIG to its path'
        : code === 'EISDIR'
          ? 'is a directory — set CUTOVER_CONFIG to the targets file inside it'
          : `cannot read the targets file (${(error as Error).message}) — check its permissions or set CUTOVER_CONFIG`;
    throw new ConfigError([`${absolute}: ${problem}`]);
  }
  return parseTargets(text, absolute, options);
}

export function parseTargets(text: string, path: string, options: TargetsOptions): TargetsConfig {
  const problems: Problem[] = [];
  const root = parseYaml(text, path);

  if (!isPlainObject(root)) {
    const problem =
      root === null || root === undefined
        ? 'the file is empty; expected a mapping with a "targets" list'
        : 'expected a mapping with a "targets" list at the top level';
    throw new ConfigError([`${path}: ${problem}`]);
  }
  for (const key of Object.keys(root)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      problems.push(unknownKeyProblem([key], TOP_LEVEL_KEYS));
    }
  }

  let defaults: Defaults | undefined = {};
  if (root.defaults !== undefined) {
    const parsed = defaultsSchema.safeParse(root.defaults, CONFIG_PARSE_OPTIONS);
    if (parsed.success) defaults = parsed.data;
    else {
      // Unusable defaults: skip the "missing after defaults" checks rather than report them twice.
      defaults = undefined;
      problems.push(...problemsFromIssues(parsed.error.issues, ['defaults'], () => DEFAULT_KEYS));
    }
  }

  const entries = root.targets;
  const targets: TargetConfig[] = [];
  if (!Array.isArray(entries)) {
    problems.push({
      path: 'targets',
      message: entries === undefined ? 'is required (a list of targets)' : 'must be a list of targets',
    });
  } else if (entries.length === 0) {
    problems.push({ path: 'targets', message: 'must list at least one target' });
  } else {
    entries.forEach((entry: unknown, index) => {
      const target = parseTarget(entry, index, defaults, options, problems);
      if (target !== undefined) targets.push(target);
    });
    problems.push(...duplicateNames(entries));
  }

  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((p) => (p.path === '' ? `${path}: ${p.message}` : `${path}: ${p.path}: ${p.message}`)),
    );
  }
  return deepFreeze({ path, targets });
}

function missingSecrets(settings: object, index: number, env: NodeJS.ProcessEnv): Problem[] {
  return findMissingSecrets(settings, env, `targets[${index}]`).map(({ path, envName }) => ({
    path,
    message: `environment variable ${envName} ${env[envName] === undefined ? 'is not set' : 'is empty'}`,
  }));
}

function parseYaml(text: string, path: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        // yaml appends " at line L, column C:" and a code excerpt; keep the one-line reason.
        const reason = (error.message.split(/ at line \d+, column \d+:/)[0] ?? error.message).split('\n')[0];
        const at = error.linePos?.[0];
        const where = at === undefined ? '' : `line ${at.line}, column ${at.col}: `;
        return `${path}: ${where}YAML syntax error: ${reason}`;
      }),
    );
  }
  return doc.toJS();
}

/** One target entry to a TargetConfig, or undefined after adding its problems. */
function parseTarget(
  entry: unknown,
  index: number,
  defaults: Defaults | undefined,
  { strategies, env }: TargetsOptions,
  problems: Problem[],
): TargetConfig | undefined {
  const base = ['targets', index];
  const at = (key?: string) => formatPath(key === undefined ? base : [...base, key]);
  if (!isPlainObject(entry)) {
    problems.push({ path: at(), message: 'must be a mapping with at least "name" and "strategy"' });
    return undefined;
  }
  const common: Record<string, unknown> = {};
  const specific: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    (COMMON_KEYS.includes(key) ? common : specific)[key] = value;
  }

  const before = problems.length;
  const parsed = commonSchema.safeParse(common, CONFIG_PARSE_OPTIONS);
  if (!parsed.success) problems.push(...problemsFromIssues(parsed.error.issues, base));

  // The strategy's own keys are checked even when the common part failed, to report everything.
  let settings: Record<string, unknown> | undefined;
  const strategyName = typeof common.strategy === 'string' ? common.strategy : undefined;
  const strategy = strategyName === undefined ? undefined : strategies.get(strategyName);
  if (strategyName !== undefined && strategy === undefined) {
    const known = [...strategies.keys()].sort().join(', ');
    problems.push({
      path: at('strategy'),
      message: `unknown strategy ${JSON.stringify(strategyName)} (known: ${known})`,
    });
  } else if (strategy !== undefined) {
    const result = strategy.schema.safeParse(specific, CONFIG_PARSE_OPTIONS);
    if (result.success) {
      settings = asSettings(result.data, strategyName ?? '');
      problems.push(...missingSecrets(settings, index, env));
    } else {
      const shape = strategy.schema instanceof z.ZodObject ? Object.keys(strategy.schema.shape) : [];
      const knownKeys = (path: readonly PropertyKey[]) =>
        path.length === base.length ? [...COMMON_KEYS, ...shape] : [];
      problems.push(...problemsFromIssues(result.error.issues, base, knownKeys));
    }
  }

  if (!parsed.success || defaults === undefined) return undefined;
  const target = parsed.data;
  const channel = target.channel ?? defaults.channel;
  const approvers = target.approvers ?? defaults.approvers;
  const operators = target.operators ?? defaults.operators;
  const requiredApprovals =
    target.requiredApprovals ?? defaults.requiredApprovals ?? TARGET_DEFAULTS.requiredApprovals;
  if (channel === undefined) {
    problems.push({
      path: at('channel'),
      message: 'is required (set it on the target or in defaults.channel)',
    });
  }
  if (approvers === undefined) {
    problems.push({
      path: at('approvers'),
      message: 'is required (set it on the target or in defaults.approvers)',
    });
  } else if (approvers.every(isUserId) && requiredApprovals > approvers.length) {
    // With user groups the number of people is only known at approval time.
    problems.push({
      path: at('requiredApprovals'),
      message: `requires ${requiredApprovals} approvals but only ${approvers.length} approver(s) are listed`,
    });
  }
  const windows = target.windows ?? [];
  const requireWindow = target.requireWindow ?? defaults.requireWindow ?? TARGET_DEFAULTS.requireWindow;
  if (requireWindow && windows.length === 0) {
    problems.push(
      target.requireWindow === true
        ? { path: at('requireWindow'), message: 'is true, so the target needs at least one entry in windows' }
        : { path: at('windows'), message: 'must list at least one window: defaults.requireWindow is true' },
    );
  }
  if (
    problems.length > before ||
    channel === undefined ||
    approvers === undefined ||
    settings === undefined
  ) {
    return undefined;
  }
  return {
    name: target.name,
    strategy: target.strategy,
    channel,
    approvers,
    ...(operators !== undefined ? { operators } : {}),
    approvalTimeoutMs:
      target.approvalTimeout ?? defaults.approvalTimeout ?? TARGET_DEFAULTS.approvalTimeoutMs,
    requiredApprovals,
    allowSelfApproval:
      target.allowSelfApproval ?? defaults.allowSelfApproval ?? TARGET_DEFAULTS.allowSelfApproval,
    windows,
    requireWindow,
    cooldownMs: target.cooldown ?? defaults.cooldown ?? TARGET_DEFAULTS.cooldownMs,
    reminderMs: target.reminder ?? defaults.reminder ?? TARGET_DEFAULTS.reminderMs,
    settings,
  };
}

/**
 * Why a target's settings cannot drive `strategy` (a `--strategy` override): its schema's problems
 * with the settings as loaded, which are what that strategy's steps would get. None for the
 * target's own strategy, checked when the file was loaded.
 */
export function strategySettingsProblems(
  target: TargetConfig,
  strategy: string,
  schema: z.ZodType,
): string[] {
  if (strategy === target.strategy) return [];
  const result = schema.safeParse(target.settings, CONFIG_PARSE_OPTIONS);
  if (result.success) return [];
  return problemsFromIssues(result.error.issues).map((p) =>
    p.path === '' ? p.message : `${p.path}: ${p.message}`,
  );
}

function asSettings(output: unknown, strategy: string): Record<string, unknown> {
  // A programming error in the strategy, not a config problem: settings are always keyed.
  if (typeof output !== 'object' || output === null || Array.isArray(output)) {
    throw new TypeError(`strategy ${JSON.stringify(strategy)}: config schema must produce an object`);
  }
  return output as Record<string, unknown>;
}

function duplicateNames(entries: readonly unknown[]): Problem[] {
  const firstIndex = new Map<string, number>();
  const problems: Problem[] = [];
  entries.forEach((entry, index) => {
    const name = isPlainObject(entry) ? entry.name : undefined;
    if (typeof name !== 'string') return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else
      problems.push({
        path: `targets[${index}].name`,
        message: `duplicate target name "${name}" (also targets[${first}])`,
      });
  });
  return problems;
}
