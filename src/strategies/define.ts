// The typed side of the strategy contract. A strategy is written against its own settings type and
// its own executor keys; defineStrategy erases both into the Strategy the orchestrator runs.
import type { z } from 'zod';
import { CONFIG_PARSE_OPTIONS } from '../config/issues';
import type { TargetConfig } from '../config/types';
import type { Plan, StepSpec } from '../engine/types';
import { describeUnknownPlaceholders, placeholdersIn } from '../hooks/placeholders';
import type { LagReading, PreflightCheck, StepExecutor, Strategy } from './types';

/** A step whose executor (and undo's executor) is one of the strategy's keys. */
export type PlannedStep<Key extends string> = Omit<StepSpec, 'executor' | 'compensation'> & {
  executor?: Key;
  compensation?: { executor: Key; title: string };
};

export type PlanOf<Key extends string> = Omit<Plan, 'steps' | 'version'> & { steps: PlannedStep<Key>[] };

/** A hook of a target, where it is in the targets file, and the placeholders its step provides. */
export interface HookUse {
  /** Path of the hook in the strategy's settings, e.g. ['postgres', 'fence', 'stop']. */
  path: readonly (string | number)[];
  command: readonly string[];
  placeholders: readonly string[];
}

export interface StrategyDefinition<Settings, Key extends string> {
  name: string;
  /** One line for `/cutover help` and `targets`. */
  summary: string;
  /**
   * Bumped whenever a change would make a run planned before it go wrong: an executor renamed or
   * removed, a step's progress read differently. Runs record the version that planned them.
   */
  planVersion: number;
  /** The oldest plan version this build still finishes (default: planVersion). */
  oldestPlanVersion?: number;
  /** The strategy's own keys of a targets-file entry. */
  configSchema: z.ZodType<Settings>;
  /** Pure: the steps this strategy would take for the target. */
  plan(target: TargetConfig, settings: Settings): PlanOf<Key>;
  /** Every key a plan may name (those of older plan versions still finished included). */
  executors: Readonly<Record<Key, StepExecutor>>;
  preflight(target: TargetConfig, settings: Settings): Promise<PreflightCheck[]>;
  sampleLag?: (target: TargetConfig, settings: Settings) => Promise<LagReading>;
  lagLimit?: (
    target: TargetConfig,
    settings: Settings,
  ) => { maxBytes?: number; maxSeconds?: number } | undefined;
  close?: () => Promise<void>;
  /**
   * The target's hooks and the placeholders each one's step fills in: a placeholder the step does
   * not provide is refused when the targets file loads, not met by the step mid-cutover.
   */
  hooks?: (settings: Settings) => HookUse[];
}

/** The schema, refusing hooks whose commands name a placeholder their step does not provide. */
function withHookPlaceholders<Settings>(
  schema: z.ZodType<Settings>,
  hooks: (settings: Settings) => HookUse[],
): z.ZodType<Settings> {
  return schema.superRefine((settings, ctx) => {
    let unknownPlaceholders: { path: (string | number)[]; message: string }[];
    try {
      unknownPlaceholders = hooks(settings).flatMap((hook) =>
        hook.command.flatMap((argument, index) => {
          const unknown = placeholdersIn([argument]).filter((name) => !hook.placeholders.includes(name));
          if (unknown.length === 0) return [];
          return [
            {
              path: [...hook.path, 'command', index],
              message: `has ${describeUnknownPlaceholders(unknown, hook.placeholders)}`,
            },
          ];
        }),
      );
    } catch {
      // zod refines what it could parse even when other keys failed: those issues say what is wrong.
      return;
    }
    for (const { path, message } of unknownPlaceholders) ctx.addIssue({ code: 'custom', path, message });
  });
}

/**
 * The strategy's settings of a target, parsed once into their type. A target of this strategy was
 * parsed by this schema when the targets file was loaded (the loader keeps the output, untyped, in
 * `settings`); a target of another strategy run with `--strategy` is parsed here, once per target.
 */
export function settingsReader<Settings>(
  strategy: string,
  schema: z.ZodType<Settings>,
): (target: Pick<TargetConfig, 'strategy' | 'settings'>) => Settings {
  const parsed = new WeakMap<object, Settings>();
  return (target) => {
    const known = parsed.get(target);
    if (known !== undefined) return known;
    const settings =
      target.strategy === strategy
        ? // The loader's output of this very schema (see src/config/targets.ts).
          (target.settings as Settings)
        : schema.parse(target.settings, CONFIG_PARSE_OPTIONS);
    parsed.set(target, settings);
    return settings;
  };
}

export function defineStrategy<Settings, Key extends string>(
  definition: StrategyDefinition<Settings, Key>,
): Strategy {
  const settingsOf = settingsReader(definition.name, definition.configSchema);
  const { sampleLag, lagLimit, close, hooks } = definition;
  return {
    name: definition.name,
    summary: definition.summary,
    planVersion: definition.planVersion,
    oldestPlanVersion: definition.oldestPlanVersion ?? definition.planVersion,
    configSchema: hooks ? withHookPlaceholders(definition.configSchema, hooks) : definition.configSchema,
    plan: (target) => ({ ...definition.plan(target, settingsOf(target)), version: definition.planVersion }),
    executors: definition.executors,
    preflight: (target) => definition.preflight(target, settingsOf(target)),
    ...(sampleLag ? { sampleLag: (target: TargetConfig) => sampleLag(target, settingsOf(target)) } : {}),
    ...(lagLimit ? { lagLimit: (target: TargetConfig) => lagLimit(target, settingsOf(target)) } : {}),
    ...(close ? { close } : {}),
  };
}
