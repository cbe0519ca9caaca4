// `npm run demo`: a local PostgreSQL primary + standby, a light write load, and the bot in local-console
// mode; `/cutover start demo` in the browser runs a real replica promotion. Ctrl-C removes everything.
// The logic lives in src/demo/demo.ts.
import { runDemo } from '../src/demo/demo';

runDemo().catch((error: unknown) => {
  process.stderr.write(
    `cutover-demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
