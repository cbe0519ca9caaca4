import { request as httpRequest } from 'node:http';
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebClient,
  type Logger,
} from '@slack/web-api';
import {
  SlackApiServer,
  TRIGGER_TTL_MS,
  type ConsoleMessage,
  type ViewEvent,
} from '../../../src/console/slack-api-server';
import { ManualClock } from '../../support/fakes/manual-clock';

const TOKEN = 'xoxb-test-token';
const BOT_USER = 'U0BOT00001';
const BOT_ID = 'B0BOT00001';
const TEAM = 'T0TEAM0001';
const CHANNEL = 'C0123456789';

/** The WebClient logs Slack's `[ERROR]` response messages; keep test output clean. */
const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

let server: SlackApiServer;
let client: WebClient;

/** A POST with headers fetch would not send (Host, Origin), as a browser or a proxy might. */
function rawPost(
  port: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: Number(port), path, method: 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function webClient(token: string | undefined, options: Record<string, unknown> = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: server.url,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: silent,
    ...options,
  });
}

async function platformError(promise: Promise<unknown>): Promise<WebAPIPlatformError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WebAPIPlatformError)) throw new Error(`expected a platform error, got ${String(err)}`);
  return err;
}

const section = (text: string) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text } });

beforeAll(async () => {
  server = await SlackApiServer.start({
    botToken: TOKEN,
    botUserId: BOT_USER,
    botId: BOT_ID,
    teamId: TEAM,
    users: [
      { id: 'U0AAAAAAA', name: 'alice' },
      { id: 'U0BBBBBBB', name: 'bob' },
    ],
    userGroups: { S0DBAONCALL: ['U0AAAAAAA', 'U0BBBBBBB'] },
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.reset();
  client = webClient(TOKEN);
});

describe('SlackApiServer', () => {
  it('serves on loopback with a slackApiUrl', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it('auth.test names the bot', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: BOT_USER, bot_id: BOT_ID, team_id: TEAM });
    expect(res.url).toBe(server.url.replace(/api\/$/, ''));
  });

  describe('chat.postMessage', () => {
    it('stores the message and answers with channel, ts and message', async () => {
      const seen: ConsoleMessage[] = [];
      server.on('message', (m) => seen.push(m));
      const blocks = [section('*Run 42* started'), { type: 'divider' }];
      const res = await client.chat.postMessage({ channel: CHANNEL, text: 'Run 42 started', blocks });

      expect(res.ok).toBe(true);
      expect(res.channel).toBe(CHANNEL);
      expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
      expect(res.message).toMatchObject({
        text: 'Run 42 started',
        user: BOT_USER,
        bot_id: BOT_ID,
        ts: res.ts,
      });
      // Slack gives every block a block_id.
      for (const b of res.message?.blocks ?? []) expect(typeof b.block_id).toBe('string');

      const stored = server.message(CHANNEL, res.ts as string);
      expect(stored).toMatchObject({
        channel: CHANNEL,
        text: 'Run 42 started',
        bot: true,
        user: BOT_USER,
        history: 0,
      });
      expect(stored?.blocks).toHaveLength(2);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.ts).toBe(res.ts);
    });

    it('hands out strictly increasing ts values', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.chat.postMessage({ channel: CHANNEL, text: `m${i}` })),
      );
      const ts = server.messages(CHANNEL).map((m) => m.ts);
      expect(ts).toHaveLength(20);
      expect(new Set(results.map((r) => r.ts)).size).toBe(20);
      for (let i = 1; i < ts.length; i++) expect(Number(ts[i])).toBeGreaterThan(Number(ts[i - 1]));
    });

    it('requires text or blocks (no_text) and a channel (channel_not_found)', async () => {
      expect((await platformError(client.chat.postMessage({ channel: CHANNEL, text: '' }))).data.error).toBe(
        'no_text',
      );
      expect((await platformError(client.apiCall('chat.postMessage', { text: 'x' }))).data.error).toBe(
        'channel_not_found',
      );
      expect(
        (await platformError(client.chat.postMessage({ channel: 'not-a-channel', text: 'x' }))).data.error,
      ).toBe('channel_not_found');
    });

    it('validates Block Kit like Slack does', async () => {
      const tooMany = Array.from({ length: 51 }, (_, i) => section(`b${i}`));
      const e1 = await platformError(
        client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: tooMany }),
      );
      expect(e1.data.error).toBe('invalid_blocks');
      expect(e1.data.response_metadata?.messages).toEqual([
        '[ERROR] no more than 50 items allowed [json-pointer:/blocks]',
      ]);

      const long = [section('a'.repeat(3001))];
      const e2 = await platformError(client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: long }));
      expect(e2.data.error).toBe('invalid_blocks');
      expect(e2.data.response_metadata?.messages?.[0]).toContain('[json-pointer:/blocks/0/text/text]');

      // exactly at the limits is fine
      const fifty = Array.from({ length: 50 }, (_, i) => section(i === 0 ? 'a'.repeat(3000) : `b${i}`));
      await expect(
        client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: fifty }),
      ).resolves.toMatchObject({
        ok: true,
      });

      const buttons = {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'mrkdwn', text: 'Approve' }, action_id: 'cutover_approve' },
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Abort' },
            action_id: 'cutover_approve',
            style: 'red',
          },
        ],
      };
      const e3 = await platformError(
        client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [buttons] }),
      );
      expect(e3.data.response_metadata?.messages).toEqual(
        expect.arrayContaining([
          expect.stringContaining('[json-pointer:/blocks/0/elements/0/text/type]'),
          expect.stringContaining('duplicate action_id'),
          expect.stringContaining('[json-pointer:/blocks/0/elements/1/style]'),
        ]),
      );

      const e4 = await platformError(
        client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [{ type: 'nonsense' }] }),
      );
      expect(e4.data.error).toBe('invalid_blocks');
      const e5 = await platformError(client.chat.postMessage({ channel: CHANNEL, text: 'x'.repeat(40_001) }));
      expect(e5.data.error).toBe('msg_too_long');
      expect(server.messages()).toHaveLength(1);
    });
  });

  describe('chat.update', () => {
    it('updates text in place, keeps blocks unless given, counts updates', async () => {
      const posted = await client.chat.postMessage({
        channel: CHANNEL,
        text: 'v1',
        blocks: [section('one')],
      });
      const updates: ConsoleMessage[] = [];
      server.on('update', (m) => updates.push(m));

      const res = await client.chat.update({ channel: CHANNEL, ts: posted.ts as string, text: 'v2' });
      expect(res).toMatchObject({ ok: true, channel: CHANNEL, ts: posted.ts, text: 'v2' });
      let stored = server.message(CHANNEL, posted.ts as string);
      expect(stored).toMatchObject({ text: 'v2', history: 1 });
      expect(stored?.blocks).toHaveLength(1);
      expect(stored?.updatedAt).toEqual(expect.any(Number));

      await client.chat.update({ channel: CHANNEL, ts: posted.ts as string, text: 'v3', blocks: [] });
      stored = server.message(CHANNEL, posted.ts as string);
      expect(stored).toMatchObject({ text: 'v3', history: 2 });
      expect(stored?.blocks).toBeUndefined();
      expect(updates.map((u) => u.text)).toEqual(['v2', 'v3']);
      expect(server.messages(CHANNEL)).toHaveLength(1);
    });

    it('answers message_not_found for an unknown ts and cant_update_message for a person', async () => {
      const e = await platformError(
        client.chat.update({ channel: CHANNEL, ts: '1700000000.000100', text: 'x' }),
      );
      expect(e.data.error).toBe('message_not_found');
      const human = server.postAsUser(CHANNEL, 'U0AAAAAAA', '/cutover start orders-db');
      const e2 = await platformError(client.chat.update({ channel: CHANNEL, ts: human.ts, text: 'x' }));
      expect(e2.data.error).toBe('cant_update_message');
    });
  });

  describe('threads', () => {
    it('posts replies into the parent thread and reports them', async () => {
      const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'progress' });
      const r1 = await client.chat.postMessage({
        channel: CHANNEL,
        text: 'step 1 done',
        thread_ts: parent.ts,
      });
      expect(r1.message?.thread_ts).toBe(parent.ts);
      // A reply to a reply lands in the parent's thread, as in Slack.
      const r2 = await client.chat.postMessage({ channel: CHANNEL, text: 'step 2 done', thread_ts: r1.ts });
      expect(server.message(CHANNEL, r2.ts as string)?.thread_ts).toBe(parent.ts);

      const replies = await client.conversations.replies({ channel: CHANNEL, ts: parent.ts as string });
      expect(replies.messages?.map((m) => m.text)).toEqual(['progress', 'step 1 done', 'step 2 done']);
      expect(replies.messages?.[0]).toMatchObject({ reply_count: 2, latest_reply: r2.ts });
      const history = await client.conversations.history({ channel: CHANNEL });
      expect(history.messages?.map((m) => m.text)).toEqual(['progress']);

      const e = await platformError(
        client.chat.postMessage({ channel: CHANNEL, text: 'orphan', thread_ts: '1600000000.000001' }),
      );
      expect(e.data.error).toBe('thread_not_found');
    });
  });

  describe('chat.postEphemeral', () => {
    it('shows a message to one user only', async () => {
      const res = await client.chat.postEphemeral({ channel: CHANNEL, user: 'U0AAAAAAA', text: 'only you' });
      expect(res.ok).toBe(true);
      expect(res.message_ts).toMatch(/^\d{10}\.\d{6}$/);
      expect(server.message(CHANNEL, res.message_ts as string)).toMatchObject({
        ephemeralTo: 'U0AAAAAAA',
        text: 'only you',
        bot: true,
      });
      const e = await platformError(
        client.chat.update({ channel: CHANNEL, ts: res.message_ts as string, text: 'x' }),
      );
      expect(e.data.error).toBe('message_not_found');
      const e2 = await platformError(
        client.chat.postEphemeral({ channel: CHANNEL, user: 'U0NOBODY00', text: 'x' }),
      );
      expect(e2.data.error).toBe('user_not_in_channel');
      const history = await client.conversations.history({ channel: CHANNEL });
      expect(history.messages).toEqual([]);
    });
  });

  describe('views', () => {
    const modal = (title: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      type: 'modal',
      callback_id: 'cutover_abort_reason',
      title: { type: 'plain_text', text: title },
      submit: { type: 'plain_text', text: 'Abort run' },
      blocks: [
        {
          type: 'input',
          block_id: 'reason',
          label: { type: 'plain_text', text: 'Reason' },
          element: { type: 'plain_text_input', action_id: 'reason' },
        },
      ],
      ...extra,
    });

    it('opens, updates and pushes modals', async () => {
      const events: ViewEvent[] = [];
      server.on('view', (v) => events.push(v));
      const trigger = server.issueTriggerId('U0AAAAAAA');
      const opened = await client.views.open({ trigger_id: trigger, view: modal('Abort run 42') as never });
      const id = opened.view?.id as string;
      expect(id).toMatch(/^V[A-Z0-9]+$/);
      expect(opened.view).toMatchObject({
        type: 'modal',
        callback_id: 'cutover_abort_reason',
        root_view_id: id,
      });
      expect(server.views.get(id)).toMatchObject({ id, user: 'U0AAAAAAA', trigger_id: trigger });

      const e = await platformError(
        client.views.open({ trigger_id: trigger, view: modal('again') as never }),
      );
      expect(e.data.error).toBe('exchanged_trigger_id');

      const updated = await client.views.update({
        view_id: id,
        hash: opened.view?.hash as string,
        view: modal('Abort run 42?', { external_id: 'abort-42' }) as never,
      });
      expect(updated.view).toMatchObject({ id, title: { text: 'Abort run 42?' }, external_id: 'abort-42' });
      expect(updated.view?.hash).not.toBe(opened.view?.hash);

      // The old hash is stale now.
      const stale = await platformError(
        client.views.update({ view_id: id, hash: opened.view?.hash as string, view: modal('x') as never }),
      );
      expect(stale.data.error).toBe('hash_conflict');
      const byExternal = await client.views.update({
        external_id: 'abort-42',
        view: modal('By external id') as never,
      });
      expect(byExternal.view?.id).toBe(id);

      const pushed = await client.views.push({
        trigger_id: server.issueTriggerId('U0AAAAAAA'),
        view: modal('Confirm') as never,
      });
      expect(pushed.view).toMatchObject({ root_view_id: id, previous_view_id: id });
      expect(events.map((v) => v.action)).toEqual(['open', 'update', 'update', 'push']);
      expect(server.closeView(id)).toBe(true);
      expect(server.views.size).toBe(0);
      expect(events.slice(4).map((v) => v.action)).toEqual(['close', 'close']);

      const notFound = await platformError(
        client.views.update({ view_id: 'VNOPE', view: modal('x') as never }),
      );
      expect(notFound.data.error).toBe('not_found');
    });

    it('checks the trigger and the view', async () => {
      const noTrigger = await platformError(client.apiCall('views.open', { view: modal('x') }));
      expect(noTrigger.data).toMatchObject({ error: 'invalid_arguments' });
      expect(noTrigger.data.response_metadata?.messages?.[0]).toContain('trigger_id');

      const badView = await platformError(
        client.views.open({
          trigger_id: '1.2.abc',
          view: modal('a title far longer than 24 characters') as never,
        }),
      );
      expect(badView.data.error).toBe('invalid_arguments');
      expect(badView.data.response_metadata?.messages).toEqual([
        '[ERROR] must be less than 25 characters [json-pointer:/view/title/text]',
      ]);
    });

    it('expires a trigger id 3 s after it was issued, by the workspace clock', async () => {
      const clock = new ManualClock();
      const timed = await SlackApiServer.start({ botToken: TOKEN, clock });
      try {
        const timedClient = new WebClient(TOKEN, {
          slackApiUrl: timed.url,
          logger: silent,
          retryConfig: { retries: 0 },
        });
        const early = timed.issueTriggerId('U0AAAAAAA');
        const late = timed.issueTriggerId('U0AAAAAAA');
        clock.advance(TRIGGER_TTL_MS);
        expect((await timedClient.views.open({ trigger_id: early, view: modal('x') as never })).ok).toBe(
          true,
        );
        clock.advance(1);
        const expired = await platformError(
          timedClient.views.open({ trigger_id: late, view: modal('x') as never }),
        );
        expect(expired.data.error).toBe('expired_trigger_id');
      } finally {
        await timed.close();
      }
    });
  });

  describe('directory', () => {
    it('lists user-group members, users and channels', async () => {
      const group = await client.usergroups.users.list({ usergroup: 'S0DBAONCALL' });
      expect(group.users).toEqual(['U0AAAAAAA', 'U0BBBBBBB']);
      const e = await platformError(client.usergroups.users.list({ usergroup: 'S0NOPE' }));
      expect(e.data.error).toBe('no_such_subteam');

      const user = await client.users.info({ user: 'U0AAAAAAA' });
      expect(user.user).toMatchObject({ id: 'U0AAAAAAA', name: 'alice', team_id: TEAM });
      const bot = await client.users.info({ user: BOT_USER });
      expect(bot.user).toMatchObject({ id: BOT_USER, is_bot: true });
      expect((await platformError(client.users.info({ user: 'U0NOBODY00' }))).data.error).toBe(
        'user_not_found',
      );

      const channel = await client.conversations.info({ channel: CHANNEL });
      expect(channel.channel).toMatchObject({ id: CHANNEL, is_channel: true, is_member: true });
    });
  });

  describe('auth', () => {
    it('answers invalid_auth for a wrong token and not_authed for none', async () => {
      const wrong = await platformError(
        webClient('xoxb-wrong').chat.postMessage({ channel: CHANNEL, text: 'x' }),
      );
      expect(wrong.data.error).toBe('invalid_auth');
      const none = await platformError(webClient(undefined).auth.test());
      expect(none.data.error).toBe('not_authed');
      expect(server.messages()).toEqual([]);
      expect(server.calls.map((c) => [c.token, c.error])).toEqual([
        ['xoxb-wrong', 'invalid_auth'],
        [undefined, 'not_authed'],
      ]);
    });

    it('answers unknown_method for a method it does not implement', async () => {
      const e = await platformError(client.apiCall('chat.scheduleMessage', { channel: CHANNEL, text: 'x' }));
      expect(e.data.error).toBe('unknown_method');
    });
  });

  describe('failure injection', () => {
    it('answers 429 with Retry-After; the WebClient surfaces retryAfter', async () => {
      server.rateLimit('chat.update', 7);
      const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'v1' });
      const err = await client.chat.update({ channel: CHANNEL, ts: posted.ts as string, text: 'v2' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WebAPIRateLimitedError);
      expect((err as WebAPIRateLimitedError).retryAfter).toBe(7);
      // The limited call changed nothing; the next one goes through.
      expect(server.message(CHANNEL, posted.ts as string)?.text).toBe('v1');
      await client.chat.update({ channel: CHANNEL, ts: posted.ts as string, text: 'v2' });
      expect(server.callsTo('chat.update').map((c) => c.status)).toEqual([429, 200]);
      expect(server.callsTo('chat.update')[0]).toMatchObject({
        ok: false,
        error: 'ratelimited',
        token: TOKEN,
      });
    });

    it('records call times, so a retry honouring Retry-After can be measured', async () => {
      server.rateLimit('chat.postMessage', 1);
      const retrying = webClient(TOKEN, {
        rejectRateLimitedCalls: false,
        retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
      });
      const res = await retrying.chat.postMessage({ channel: CHANNEL, text: 'after a wait' });
      expect(res.ok).toBe(true);
      const [limited, retried] = server.callsTo('chat.postMessage');
      expect(limited?.status).toBe(429);
      expect(retried?.status).toBe(200);
      expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000);
      expect(server.messages(CHANNEL)).toHaveLength(1);
    });

    it('fails the next calls with the given error and status, in order', async () => {
      server.failNext('chat.postMessage', 'channel_not_found', { count: 2 });
      server.failNext('chat.postMessage', 'internal_error', { httpStatus: 500 });

      for (let i = 0; i < 2; i++) {
        const e = await platformError(client.chat.postMessage({ channel: CHANNEL, text: 'x' }));
        expect(e.data.error).toBe('channel_not_found');
      }
      const http = await client.chat.postMessage({ channel: CHANNEL, text: 'x' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(http).toBeInstanceOf(WebAPIHTTPError);
      expect((http as WebAPIHTTPError).statusCode).toBe(500);
      expect((http as WebAPIHTTPError).body).toEqual({ ok: false, error: 'internal_error' });

      await client.chat.postMessage({ channel: CHANNEL, text: 'finally' });
      expect(server.callsTo('chat.postMessage').map((c) => [c.status, c.error ?? 'ok'])).toEqual([
        [200, 'channel_not_found'],
        [200, 'channel_not_found'],
        [500, 'internal_error'],
        [200, 'ok'],
      ]);
      expect(server.messages(CHANNEL).map((m) => m.text)).toEqual(['finally']);
    });
  });

  describe('recorded calls', () => {
    it('keeps method, time, decoded args, status and token of every call', async () => {
      const before = Date.now();
      const blocks = [section('hello')];
      await client.chat.postMessage({ channel: CHANNEL, text: 'hello', blocks });
      await platformError(client.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' }));
      const [post, update] = server.calls;
      expect(post).toMatchObject({ method: 'chat.postMessage', status: 200, token: TOKEN, ok: true });
      expect(post?.args).toMatchObject({ channel: CHANNEL, text: 'hello', blocks });
      expect(post?.args).not.toHaveProperty('token');
      expect(post?.at).toBeGreaterThanOrEqual(before);
      expect(update).toMatchObject({ method: 'chat.update', ok: false, error: 'message_not_found' });
      expect(server.callsTo('chat.update')).toHaveLength(1);
    });
  });

  describe('raw HTTP', () => {
    it('takes a form-encoded body with the token as a field and JSON-string blocks', async () => {
      const body = new URLSearchParams({
        token: TOKEN,
        channel: CHANNEL,
        text: 'from fetch',
        blocks: JSON.stringify([section('from *fetch*')]),
      });
      const res = await fetch(`${server.url}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      const json = (await res.json()) as { ok: boolean; ts: string };
      expect(json.ok).toBe(true);
      expect(server.message(CHANNEL, json.ts)?.blocks).toEqual([
        expect.objectContaining({ type: 'section', text: { type: 'mrkdwn', text: 'from *fetch*' } }),
      ]);
      expect(server.calls[0]).toMatchObject({ token: TOKEN, args: { channel: CHANNEL } });
    });

    it('rejects blocks that are not JSON, bodies the WebClient never sends, and bodies without a type', async () => {
      const post = async (init: RequestInit): Promise<Record<string, unknown>> =>
        (await (await fetch(`${server.url}chat.postMessage`, { method: 'POST', ...init })).json()) as Record<
          string,
          unknown
        >;
      expect(
        await post({
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: TOKEN, channel: CHANNEL, text: 'x', blocks: '[{' }),
        }),
      ).toMatchObject({ ok: false, error: 'invalid_blocks_format' });
      // The WebClient posts forms (multipart for files) only: JSON and text/plain are refused,
      // with the right token too, and nothing is posted.
      for (const type of ['application/json', 'application/json; charset=utf-8', 'text/plain']) {
        expect(
          await post({
            headers: { 'content-type': type, authorization: `Bearer ${TOKEN}` },
            body:
              type === 'text/plain'
                ? `channel=${CHANNEL}&text=x`
                : JSON.stringify({ channel: CHANNEL, text: 'json', blocks: [section('json')] }),
          }),
        ).toMatchObject({ ok: false, error: 'invalid_post_type' });
      }
      expect(server.messages(CHANNEL)).toEqual([]);
      const noType = await fetch(`${server.url}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: new Uint8Array(Buffer.from('channel=C1&text=x')),
      });
      expect(await noType.json()).toMatchObject({ ok: false, error: 'missing_post_type' });
      expect((await fetch(server.url.replace(/api\/$/, 'elsewhere'))).status).toBe(404);
    });

    it('answers only its own loopback name and port, never a request with an Origin', async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${TOKEN}` };
      const body = `channel=${CHANNEL}&text=from+elsewhere`;
      const port = new URL(server.url).port;
      const cases: [Record<string, string>, number, string?][] = [
        [{ host: `localhost:${port}` }, 200],
        [{ host: `127.0.0.1:${port}` }, 200],
        [{ host: `rebound.example:${port}` }, 403, 'invalid_host'],
        [{ host: '127.0.0.1' }, 403, 'invalid_host'],
        [{ host: `127.0.0.1:${port}`, origin: 'http://evil.example' }, 403, 'cross_origin_request'],
        [{ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }, 403, 'cross_origin_request'],
      ];
      for (const [headers, status, error] of cases) {
        const answer = await rawPost(port, '/api/chat.postMessage', { ...form, ...headers }, body);
        expect(answer.status).toBe(status);
        if (error) expect(JSON.parse(answer.body)).toEqual({ ok: false, error });
      }
      // Only the two addressed properly were posted.
      expect(server.messages(CHANNEL)).toHaveLength(2);
    });

    it('has a random bot token per start unless one is given', async () => {
      const [a, b] = await Promise.all([SlackApiServer.start(), SlackApiServer.start()]);
      try {
        expect(a.botToken).toMatch(/^xoxb-local-[0-9a-f]{48}$/);
        expect(b.botToken).not.toBe(a.botToken);
        const clientOf = (token: string, api: SlackApiServer) =>
          new WebClient(token, { slackApiUrl: api.url, logger: silent, retryConfig: { retries: 0 } });
        expect((await clientOf(b.botToken, b).auth.test()).ok).toBe(true);
        expect((await platformError(clientOf(a.botToken, b).auth.test())).data.error).toBe('invalid_auth');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
});
