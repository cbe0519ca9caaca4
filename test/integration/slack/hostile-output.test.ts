// What hooks and databases print reaches the channel only escaped: a report that closes its code
// block and then says <!channel> must not ping anyone, nor can a preflight's detail, a progress
// note or an error. Driven through signed requests into the real Bolt receiver.
import { z } from 'zod';
import { fatal } from '../../../src/engine/failures';
import type { Strategy } from '../../../src/strategies/types';
import { testTarget } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import { CHANNEL, requester, startSlackHarness, type SlackHarness } from '../../support/fakes/slack-harness';
import { textOf } from '../../support/fakes/slack-messages';
import { waitFor } from '../../support/wait-for';

/** Output as a hostile or careless hook might print it. */
const HOSTILE = 'ok\n```\n<!channel> <!here> <@U0EVERYONE> <https://evil.example|click here> &lt;!here&gt;';
const PINGS = /<!channel>|<!here>|<@U0EVERYONE>|<https:\/\/evil/;

const echoStrategy: Strategy = {
  name: 'echo',
  planVersion: 1,
  oldestPlanVersion: 1,
  summary: 'prints what a hook printed',
  configSchema: z.object({}).strict(),
  plan: (target) => ({
    strategy: 'echo',
    target: target.name,
    steps: [
      { name: 'settle', kind: 'wait', title: 'Settle', executor: 'settle' },
      { name: 'report', kind: 'check', title: 'Report', executor: 'report' },
      { name: 'break', kind: 'action', title: 'Break', executor: 'break' },
    ],
  }),
  preflight: () => Promise.resolve([{ name: 'hook says', ok: false, detail: HOSTILE }]),
  executors: {
    settle: {
      execute: (ctx) =>
        Promise.resolve(
          ctx.step.output?.['progressNote'] === undefined
            ? { type: 'wait', delayMs: 10, output: { progressNote: HOSTILE } }
            : { type: 'done' },
        ),
    },
    report: { execute: () => Promise.resolve({ type: 'done', output: { report: HOSTILE } }) },
    break: {
      execute: () => {
        throw fatal(HOSTILE);
      },
    },
  },
};

const schema = freshSchemaName('t_hostile');
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({
    schema,
    queueName: freshQueueName('hostile'),
    targets: [{ ...testTarget('echo-db'), strategy: 'echo', settings: {} }],
    strategies: [echoStrategy],
  });
});

afterAll(async () => {
  await h.close();
});

test('a run whose hook output closes a code block and says <!channel> pings nobody', async () => {
  expect((await h.sender.command(requester, CHANNEL, 'plan echo-db')).status).toBe(200);
  expect((await h.sender.command(requester, CHANNEL, 'start echo-db')).status).toBe(200);
  const run = await waitFor('the run', async () => (await h.runtime.store.listRecentRuns(10))[0]);
  expect((await untilRunState(h.runtime.store, run.id, ['failed'])).state).toBe('failed');

  const messages = await waitFor('the report, the note and the failure in the thread', async () => {
    const all = h.slack.messages(CHANNEL);
    const threaded = all.filter((message) => message.thread_ts !== undefined).map(textOf);
    return threaded.filter((text) => text.includes('&lt;!channel&gt;')).length >= 3 ? all : undefined;
  });
  const plan = messages.find((message) => textOf(message).includes('hook says'));
  expect(plan && textOf(plan)).toContain('&lt;!channel&gt;');
  for (const message of messages) expect(textOf(message)).not.toMatch(PINGS);
  // A report is mrkdwn: it keeps its code block, and what arrived escaped is not escaped twice.
  const report = messages.find(
    (message) => message.thread_ts !== undefined && message.text.startsWith('ok\n```'),
  );
  expect(report?.text).toBe(
    'ok\n```\n&lt;!channel&gt; &lt;!here&gt; &lt;@U0EVERYONE&gt; &lt;https://evil.example|click here&gt; &lt;!here&gt;',
  );
});
