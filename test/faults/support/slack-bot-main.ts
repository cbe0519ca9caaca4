// The bot in Slack mode (the Slack harness: Bolt HTTP receiver, local Web API, test strategy) in its
// own process, so a case can tell whether a request crashes the process rather than the test
// runner. Prints `slack-ready <events url>`; SIGTERM closes it and removes its schema and queue.
import { testTarget } from '../../support/harness';
import { startSlackHarness } from '../../support/slack-harness';

async function main(): Promise<void> {
  const h = await startSlackHarness({
    schema: process.env['FAULT_SCHEMA'] ?? 'missing',
    queueName: process.env['FAULT_QUEUE'] ?? 'missing',
    targets: [testTarget('child-db', { polls: 0 })],
  });
  process.on('SIGTERM', () => {
    void h.close().then(() => process.exit(0));
  });
  process.stdout.write(`slack-ready ${h.eventsUrl}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`slack bot failed: ${String(error)}\n`);
  process.exit(1);
});
