// The bot in Slack mode (the Slack harness: Bolt HTTP receiver, local Web API, test strategy) in its
// own process, so a case can tell whether a request crashes the process rather than the test
// runner. Prints `slack-ready <events url>`; SIGTERM closes it and removes its schema and queue.
// Started again on the same schema and queue, it carries on with what the last one stored.
//
// A request with the header `x-test-sigkill-after-ack: 1` kills the process (SIGKILL) the moment its
// acknowledgement has been handed to the network: the crash right after Slack got the ack.
import { testTarget } from '../../support/runtimes/harness';
import { startSlackHarness } from '../../support/fakes/slack-harness';

const KILL_AFTER_ACK_HEADER = 'x-test-sigkill-after-ack';

async function main(): Promise<void> {
  const h = await startSlackHarness({
    schema: process.env['FAULT_SCHEMA'] ?? 'missing',
    queueName: process.env['FAULT_QUEUE'] ?? 'missing',
    targets: [testTarget('child-db', { polls: 0 })],
    ...(process.env['FAULT_LOCK_MS'] ? { lockDurationMs: Number(process.env['FAULT_LOCK_MS']) } : {}),
  });
  h.runtime.http?.server.prependListener('request', (req, res) => {
    if (req.headers[KILL_AFTER_ACK_HEADER] === '1') {
      res.once('finish', () => process.kill(process.pid, 'SIGKILL'));
    }
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
