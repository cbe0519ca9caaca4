// Correctly signed requests that are not what this app answers, into the real Bolt HTTP receiver:
// whatever the body and content type, the answer is a 2xx or a 4xx, never a 5xx, and nothing
// changes. The bodies are the ones Bolt classifies by a single key (`name` as a flat form was an
// HTTP 500 in CI) and the content types it reads differently from their names.
import fc from 'fast-check';
import { signRequest } from '../../../src/console/signed-requests';
import { testTarget } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import {
  bystander,
  CHANNEL,
  SIGNING_SECRET,
  startSlackHarness,
  type SlackHarness,
} from '../../support/fakes/slack-harness';

const schema = freshSchemaName('t_malformed');
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({
    schema,
    queueName: freshQueueName('malformed'),
    targets: [testTarget('orders-db', { polls: 0 })],
  });
});

afterAll(async () => {
  await h.close();
});

async function post(body: string, contentType: string): Promise<number> {
  const signed = signRequest(SIGNING_SECRET, body, contentType);
  const response = await fetch(h.eventsUrl, { method: 'POST', headers: signed.headers, body: signed.body });
  await response.text();
  return response.status;
}

async function rowCounts(): Promise<string> {
  const result = await h.runtime.store.pool.query<{ counts: string }>(
    `SELECT concat_ws(',', (SELECT count(*) FROM ${schema}.runs), (SELECT count(*) FROM ${schema}.approvals),
                      (SELECT count(*) FROM ${schema}.audit_events)) AS counts`,
  );
  return result.rows[0]!.counts;
}

const FORM = 'application/x-www-form-urlencoded';
const payload = (value: unknown) => new URLSearchParams({ payload: JSON.stringify(value) }).toString();
const user = { id: bystander.userId, team_id: bystander.teamId };

/** [what, body, content type, expected status] */
const cases: [string, string, string, number][] = [
  ['flat form `name`', 'name', FORM, 400],
  ['flat form `name=x`', 'name=x', FORM, 400],
  ['flat form `event=x`', 'event=x', FORM, 400],
  ['flat form `actions=x`', 'actions=x', FORM, 400],
  ['flat form `type=shortcut`', 'type=shortcut', FORM, 400],
  ['flat form `type=view_submission`', 'type=view_submission', FORM, 400],
  ['command with an `event` field', 'command=%2Fcutover&text=help&event=x', FORM, 400],
  ['command with a repeated field', 'command=%2Fcutover&text=help&text=list', FORM, 400],
  ['command as JSON', JSON.stringify({ command: '/cutover', text: 5 }), 'application/json', 400],
  ['command inside payload', payload({ command: '/cutover', text: 'help' }), FORM, 400],
  ['`name` as plain text', 'name', 'text/plain', 400],
  ['a form under a charset (Bolt reads JSON)', 'command=%2Fcutover&text=help', `${FORM}; charset=utf-8`, 400],
  ['JSON null', 'null', 'application/json', 400],
  ['JSON `{"name":1}`', '{"name":1}', 'application/json', 400],
  ['JSON event_callback', JSON.stringify({ type: 'event_callback', event: 'x' }), 'application/json', 400],
  ['payload with `name`', payload({ type: 'block_actions', user, actions: [], name: 'x' }), FORM, 400],
  ['payload block_suggestion', payload({ type: 'block_suggestion', user, value: 'x' }), FORM, 400],
  ['payload dialog_submission', payload({ type: 'dialog_submission', user }), FORM, 400],
  ['payload view_submission without a view', payload({ type: 'view_submission', user }), FORM, 400],
  ['payload block_actions without a user', payload({ type: 'block_actions', actions: [] }), FORM, 400],
  ['ssl_check', 'ssl_check=1&token=x', FORM, 200],
  ['url_verification', JSON.stringify({ type: 'url_verification', challenge: 'c' }), 'application/json', 200],
];

test.each(cases.map(([what, ...rest]) => [`${what} → ${rest[2]}`, ...rest] as const))(
  '%s, nothing changed',
  async (_what, body, contentType, expected) => {
    const before = await rowCounts();
    expect(await post(body, contentType)).toBe(expected);
    expect(await rowCounts()).toBe(before);
  },
);

test('property: any flat form or text under any content type gets a 2xx or 4xx and changes nothing', async () => {
  const before = await rowCounts();
  const key = fc.oneof(
    fc.constantFrom('event', 'command', 'name', 'actions', 'type', 'payload', 'ssl_check', 'text', 'user_id'),
    fc.string({ maxLength: 6 }),
  );
  const value = fc.oneof(
    fc.constantFrom('', 'x', '/cutover', 'null', '{}', '[]', 'block_actions', 'view_submission', 'help'),
    fc.string({ maxLength: 12 }),
  );
  const flatForm = fc
    .array(fc.tuple(key, value), { maxLength: 4 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  // Mostly the content type Bolt reads as a form, where a single key decides what Bolt dispatches.
  const contentType = fc.oneof(
    { arbitrary: fc.constant(FORM), weight: 3 },
    fc.constantFrom(`${FORM}; charset=utf-8`, 'application/json', 'text/plain', ''),
  );
  const body = fc.oneof(
    { arbitrary: flatForm, weight: 3 },
    fc.string({ maxLength: 40 }),
    fc.json({ maxDepth: 2 }),
  );
  const statuses: number[] = [];
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(body, contentType), { minLength: 20, maxLength: 20 }),
      async (batch) => {
        // A command for a real target with `start` or `abort` text would act; those are not malformed.
        fc.pre(batch.every(([text]) => !/start|abort/i.test(text)));
        // Sent at once: a well-formed request that no listener takes is answered 404 by Bolt after 3 s.
        const answers = await Promise.all(batch.map(([body, type]) => post(body, type)));
        statuses.push(...answers);
        const described = batch.map(
          ([text, type], i) => `${answers[i]} for ${JSON.stringify(text)} as ${type}`,
        );
        expect(described.filter((line) => !/^[24]\d\d /.test(line))).toEqual([]);
      },
    ),
    // No shrinking: a batch that Bolt leaves unanswered takes 3 s; the message lists the bad requests.
    { numRuns: 5, endOnFailure: true },
  );
  expect(statuses.length).toBeGreaterThanOrEqual(80);
  expect(await rowCounts()).toBe(before);
  expect((await h.sender.command(bystander, CHANNEL, 'help')).status).toBe(200);
});
