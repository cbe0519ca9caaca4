// Start-up: validate the environment and the targets file first, then connect. A broken
// configuration throws ConfigError before any connection is opened, so it changes nothing.
import { createLogger } from '../adapters/log';
import { readEnv } from '../config/env';
import { loadTargetsFile } from '../config/targets';
import type { Logger } from '../ports/logger';
import { builtinStrategies, configSchemasOf } from '../strategies';
import type { StrategyRegistry } from '../strategies/types';
import type { TargetsConfig } from '../config/types';
import { productionPorts } from './adapters';
import { startRuntime, type Runtime, type RuntimeOptions } from './runtime';

export interface BootOptions {
  strategies?: StrategyRegistry;
  log?: Logger;
  /** Test seams passed through to the runtime. */
  runtime?: Partial<Pick<RuntimeOptions, 'storeSchema' | 'queueName' | 'clock' | 'httpPort'>>;
}

export async function boot(env: NodeJS.ProcessEnv, options: BootOptions = {}): Promise<Runtime> {
  const config = readEnv(env);
  let loaded: TargetsConfig | null = null;
  const strategies = options.strategies ?? builtinStrategies(productionPorts(env, () => loaded));
  const targets = loadTargetsFile(config.configPath, { env, strategies: configSchemasOf(strategies) });
  loaded = targets;
  const log = options.log ?? createLogger(config.logLevel, { role: config.role });
  const runtime = await startRuntime({ config, targets, strategies, log, ...options.runtime });
  log.info(
    { role: config.role, targets: targets.targets.length, port: runtime.http?.port },
    'cutover-bot started',
  );
  return runtime;
}
