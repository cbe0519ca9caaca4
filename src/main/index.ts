// Process entry point: boot for this ROLE, stop gracefully on SIGTERM/SIGINT.
import { ConfigError } from '../config/errors';
import { boot } from './boot';

async function main(): Promise<void> {
  const runtime = await boot(process.env);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    // Stop taking jobs and let running steps finish; an unfinished step is resumed by the next worker.
    runtime.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`cutover-bot: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`cutover-bot: configuration error, not starting:\n${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `cutover-bot: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
