// The strategies this build ships. Each later strategy registers here.
import type { Strategy, StrategyRegistry } from './types';
import { registryOf } from './types';

export function builtinStrategies(extra: readonly Strategy[] = []): StrategyRegistry {
  return registryOf([...extra]);
}

/** What the targets-file loader needs from each strategy: the schema of its own keys. */
export function configSchemasOf(
  strategies: StrategyRegistry,
): ReadonlyMap<string, { schema: Strategy['configSchema'] }> {
  return new Map([...strategies].map(([name, strategy]) => [name, { schema: strategy.configSchema }]));
}
