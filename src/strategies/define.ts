// The typed side of the strategy contract. A strategy is written against its own settings type and
// its own executor keys; defineStrategy erases both into the Strategy the orchestrator runs.
import type { z } from 'zod';
import { CONFIG_PARSE_OPTIONS } from '../config/issues';
import type { TargetConfig } from '../config/types';
import type { Plan, StepSpec } from '../engine/types';
import type { LagReading, PreflightCheck, StepExecutor, Strategy } from './types';

/** A step whose executor (and undo's executor) is one of the strategy's keys. */
export type PlannedStep<Key extends string> = Omit<StepSpec, 'executor' | 'compensation'> & {
  executor?: Key;
  compensation?: { executor: Key; title: string };
};

export type PlanOf<Key extends string> = Omit<Plan, 'steps' | 'version'> & { steps: PlannedStep<Key>[] };

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
  const { sampleLag, lagLimit, close } = definition;
  return {
    name: definition.name,
    summary: definition.summary,
    planVersion: definition.planVersion,
    oldestPlanVersion: definition.oldestPlanVersion ?? definition.planVersion,
    configSchema: definition.configSchema,
    plan: (target) => ({ ...definition.plan(target, settingsOf(target)), version: definition.planVersion }),
    executors: definition.executors,
    preflight: (target) => definition.preflight(target, settingsOf(target)),
    ...(sampleLag ? { sampleLag: (target: TargetConfig) => sampleLag(target, settingsOf(target)) } : {}),
    ...(lagLimit ? { lagLimit: (target: TargetConfig) => lagLimit(target, settingsOf(target)) } : {}),
    ...(close ? { close } : {}),
  };
}
