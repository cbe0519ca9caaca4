// Process entry point: validate everything at the edge, then start the runtime for this ROLE.
import { createLogger } from '../adapters/log';
import { readEnv } from '../config/env';
import { ConfigError } from '../config/errors';
import { loadTargetsFile } from '../config/targets';
import { builtinStrategies, configSchemasOf } from '../strategies';
import { startRuntime } from './runtime';

async function main(): Promise<void> {
  // Configuration is read and validated before anything connects: a broken file changes nothing.
  const config = readEnv(process.env);
  const strategies = builtinStrategies();
  const targets = loadTargetsFile(config.configPath, { env: process.env, strategies: configSchemasOf(strategies) });
  const log = createLogger(config.logLevel, { role: config.role });
  const runtime = await startRuntime({ config, targets, strategies, log });
  log.info({ role: config.role, targets: targets.targets.length, port: runtime.http?.port }, 'cutover-bot started');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing running steps');
    runtime.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`cutover-bot: configuration error, not starting:\n${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`cutover-bot: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
