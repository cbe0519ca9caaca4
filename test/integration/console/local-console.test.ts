// The local console end to end: the real runtime without Slack settings (console mode), driven over
// HTTP the way the page drives it. Commands, clicks and modal submissions go through the console's
// signer into the bot's POST /slack/events; what the bot posts comes back through the console's Web API.
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { request as httpRequest } from 'node:http';
import type { TargetConfig } from '../../../src/config/types';
import { LOCAL_USER_ID } from '../../../src/console/console-directory';
import type { PageMessage, PageView } from '../../../src/console/console-state';
import type { Run, RunState } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_console');
const CHANNEL = 'C0TEST0001';
const APPROVER = 'U0APPROVER';
const GROUP_MEMBER = 'U0DBAONCALLM1';
// One target per scenario, so that a scenario left half-way does not block the next (one active run per target).
const approvers = [APPROVER, 'S0DBAONCALL'];
const targets: TargetConfig[] = ['orders-db', 'billing-db', 'search-db'].map((name) => ({
  ...testTarget(name),
  approvers,
}));

let runtime: Runtime;
let world: TestWorld;
let base: string;

beforeAll(async () => {
  world = new TestWorld(testDatabaseUrl, `${schema}_world`);
  await world.setUp();
  runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets },
    schema,
    queueName: freshQueueName('console'),
    config: { localConsole: true },
    httpPort: 0,
    reconcileIntervalMs: null,
    lagSampleIntervalMs: null,
  });
  base = `http://127.0.0.1:${runtime.http!.port}`;
});

afterAll(async () => {
  await runtime.worker?.close();
  await runtime.queue.queue.obliterate({ force: true });
  await runtime.close();
  await world.tearDown();
  await dropSchema(schema);
});

interface State {
  user: string;
  channel: string;
  users: { id: string; name: string; role: string }[];
  groups: { id: string; members: string[] }[];
  channels: { id: string; name: string }[];
  messages: PageMessage[];
  openViews: PageView[];
}

interface Block {
  type: string;
  block_id?: string;
  text?: { text?: string };
  fields?: { text?: string }[];
  elements?: { type: string; action_id?: string; value?: string; text?: string | { text?: string } }[];
}

async function state(user = LOCAL_USER_ID): Promise<State> {
  const response = await fetch(`${base}/console/state?channel=${CHANNEL}&user=${user}`);
  expect(response.status).toBe(200);
  return (await response.json()) as State;
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function command(text: string, user = LOCAL_USER_ID) {
  return post('/console/command', { user, channel: CHANNEL, text });
}

/** Everything a person reads in a message. */
function textOf(message: PageMessage): string {
  const parts = [message.text];
  for (const block of (message.blocks ?? []) as Block[]) {
    if (block.text?.text) parts.push(block.text.text);
    for (const f of block.fields ?? []) if (f.text) parts.push(f.text);
    for (const e of block.elements ?? []) {
      if (typeof e.text === 'string') parts.push(e.text);
      else if (e.text?.text) parts.push(e.text.text);
    }
  }
  return parts.join('\n');
}

function ephemeralWith(user: string, needle: string, since = 0): Promise<PageMessage> {
  return waitFor(`an ephemeral to ${user} with "${needle}"`, async () =>
    (await state(user)).messages.find(
      (m) => m.ephemeral && Number(m.ts) > since && textOf(m).includes(needle),
    ),
  );
}

function progressOf(run: Run, s: State): PageMessage | undefined {
  return s.messages.find((m) => !m.ephemeral && m.bot && textOf(m).includes(`\`${run.id.slice(0, 8)}\``));
}

function buttonIn(s: State, actionId: string) {
  for (const message of [...s.messages].reverse()) {
    if (message.ephemeral) continue;
    for (const block of (message.blocks ?? []) as Block[]) {
      for (const e of block.elements ?? []) {
        if (block.type === 'actions' && e.action_id === actionId) {
          return { messageTs: message.ts, actionId, value: e.value ?? '', blockId: block.block_id ?? '' };
        }
      }
    }
  }
  return undefined;
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(runtime.store, runId, states);
}

async function startRun(target: string): Promise<Run> {
  const before = Date.now() / 1000;
  const response = await command(`start ${target}`);
  expect(response.json.ok).toBe(true);
  await ephemeralWith(LOCAL_USER_ID, 'Started cutover', before);
  const run = (await runtime.store.listActiveRuns()).find((candidate) => candidate.target === target);
  expect(run).toBeDefined();
  return run!;
}

/** The Approve button of the run's open gate, once it is shown. */
function approveButton(run: Run) {
  return waitFor('the Approve button', async () => {
    const found = buttonIn(await state(), 'cutover_approve');
    return found && (JSON.parse(found.value) as { runId: string }).runId === run.id ? found : undefined;
  });
}

/** An approver clicks Approve; the typed-confirmation modal opens for them. */
async function openModal(run: Run, user: string): Promise<PageView> {
  const approve = await approveButton(run);
  expect((await post('/console/action', { user, channel: CHANNEL, ...approve })).json).toEqual({ ok: true });
  return waitFor('the modal', async () => (await state(user)).openViews[0]);
}

function submit(user: string, viewId: string, typed: string) {
  return post('/console/view', { user, viewId, values: { confirm_target: { typed_target: typed } } });
}

function rawRequest(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('local console', () => {
  it('serves the page with the composer, and its workspace is the one the bot uses', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);
    const html = await response.text();
    expect(html).toContain('id="composer"');
    expect(html).toContain('value="/cutover "');

    const local = runtime.localConsole!;
    expect(runtime.slack).not.toBeNull();
    expect(local.slackSettings.apiUrl).toBe(local.api.url);
    expect(local.api.callsTo('auth.test').length).toBeGreaterThan(0);

    const s = await state();
    expect(s.user).toBe(LOCAL_USER_ID);
    expect(s.channels).toEqual([
      { id: CHANNEL, name: 'orders-db-cutovers', targets: ['orders-db', 'billing-db', 'search-db'] },
    ]);
    expect(s.users.map((u) => u.name)).toEqual(['you', 'approver-1', 'dbaoncall-1', 'dbaoncall-2']);
    expect(s.groups[0]?.members).toEqual([GROUP_MEMBER, 'U0DBAONCALLM2']);
  });

  it('listens on loopback only; its Web API has a token of its own', async () => {
    expect(runtime.http!.server.address()).toMatchObject({ address: '127.0.0.1' });
    // Another address of this machine gets no answer at all.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address?.family === 'IPv4' && !address.internal)?.address;
    if (external !== undefined) {
      const reached = await new Promise<string>((resolve) => {
        const socket = connect({ host: external, port: runtime.http!.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(reached).toBe('ECONNREFUSED');
    }
    expect(runtime.localConsole!.slackSettings.botToken).toMatch(/^xoxb-local-[0-9a-f]{48}$/);
  });

  it('answers /cutover help with the grammar, to the one who asked', async () => {
    const response = await command('help');
    expect(response).toMatchObject({ status: 200, json: { ok: true, status: 200 } });
    const help = await ephemeralWith(LOCAL_USER_ID, '/cutover start &lt;target&gt;');
    expect(help.replies).toEqual([]);
    expect((await state(APPROVER)).messages.filter((m) => m.ephemeral)).toEqual([]);
  });

  it('shows a malformed command its usage, from the acknowledgement itself', async () => {
    const response = await command('frobnicate orders-db');
    expect(response.json.ok).toBe(true);
    expect(String(response.json.body)).toContain('Usage');
    const usage = await ephemeralWith(LOCAL_USER_ID, 'Usage:');
    expect(textOf(usage)).toContain('frobnicate');
  });

  it('pushes a changed event when the workspace changes', async () => {
    const abort = new AbortController();
    const response = await fetch(`${base}/console/events`, { signal: abort.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    await reader.read(); // the stream is open: what follows is caused by the command
    await command('help');
    while (!seen.includes('event: changed')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      seen += decoder.decode(chunk.value as Uint8Array, { stream: true });
    }
    abort.abort();
    expect(seen).toMatch(/event: changed\ndata: \{"kind":"message","channel":"C0TEST0001"\}/);
  });

  it('runs a cutover with four-eyes approval through buttons and the typed-confirmation modal', async () => {
    const run = await startRun('orders-db');
    const progress = await waitFor('the progress message', async () => progressOf(run, await state()));
    expect(textOf(progress)).toContain('Cutover orders-db');
    const approve = await approveButton(run);

    // Slack only sends clicks on buttons it shows.
    const forged = await post('/console/action', {
      user: APPROVER,
      channel: CHANNEL,
      ...approve,
      value: JSON.stringify({ runId: run.id, step: 0, round: 1 }),
    });
    expect(forged.status).toBe(400);

    // The requester may not approve their own run.
    const since = Date.now() / 1000;
    const own = await post('/console/action', { user: LOCAL_USER_ID, channel: CHANNEL, ...approve });
    expect(own.json).toEqual({ ok: true });
    await ephemeralWith(LOCAL_USER_ID, 'you requested this run', since);
    expect((await state()).openViews).toEqual([]);

    // An approver gets the modal, and only they see it.
    const modal = await openModal(run, APPROVER);
    expect(modal.view['callback_id']).toBe('cutover_confirm');
    expect((await state()).openViews).toEqual([]);

    // A wrong name: the modal stays open with the error under the input; nothing is approved.
    expect((await submit(APPROVER, modal.id, 'orders')).json).toEqual({
      ok: true,
      errors: { confirm_target: "Type the target's name exactly: orders-db" },
    });
    expect((await runtime.store.getRun(run.id))?.state).toBe('awaiting_approval');
    expect((await state(APPROVER)).openViews.map((v) => v.id)).toEqual([modal.id]);
    expect((await submit(LOCAL_USER_ID, modal.id, 'orders-db')).status).toBe(403);

    // Cancel, press Approve again, type the right name.
    expect((await post('/console/view/close', { user: APPROVER, viewId: modal.id })).json).toEqual({
      ok: true,
      closed: true,
    });
    expect((await runtime.store.getRun(run.id))?.state).toBe('awaiting_approval');
    const again = await openModal(run, APPROVER);
    expect(again.id).not.toBe(modal.id);
    expect((await submit(APPROVER, again.id, 'orders-db')).json).toEqual({ ok: true, closed: true });
    expect((await state(APPROVER)).openViews).toEqual([]);

    const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
    expect(done.state).toBe('succeeded');
    expect(done.steps.find((s) => s.spec.kind === 'gate')?.gate?.approvedBy).toEqual([APPROVER]);
    const finished = await waitFor('the progress message to show the outcome', async () => {
      const m = progressOf(run, await state());
      return m && textOf(m).includes('Cutover complete') ? m : undefined;
    });
    expect(finished.edited).toBe(true);
    expect(finished.replyCount).toBeGreaterThan(0);
  });

  // The same modal submitted again after a wrong name carries the same view id and hash (Slack changes
  // the hash only when the view is updated); each submission has its own trigger_id.
  it('takes the right name typed into the same modal after a wrong one', async () => {
    const run = await startRun('billing-db');
    const modal = await openModal(run, APPROVER);
    expect((await submit(APPROVER, modal.id, 'billing')).json).toMatchObject({ errors: {} });
    expect((await submit(APPROVER, modal.id, 'billing-db')).json).toEqual({ ok: true, closed: true });
    const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
    expect(done.state).toBe('succeeded');
  });

  it('lets a member of an approver group approve, and lists runs and lag samples', async () => {
    const run = await startRun('search-db');
    const modal = await openModal(run, GROUP_MEMBER);
    expect(modal.view['callback_id']).toBe('cutover_confirm');
    // Closing it changes nothing.
    expect((await post('/console/view/close', { user: GROUP_MEMBER, viewId: modal.id })).json).toEqual({
      ok: true,
      closed: true,
    });
    expect((await state(GROUP_MEMBER)).openViews).toEqual([]);
    expect((await runtime.store.getRun(run.id))?.state).toBe('awaiting_approval');

    const runs = (await (await fetch(`${base}/console/runs`)).json()) as {
      runs: { id: string; active: boolean; state: string; shortId: string; target: string }[];
    };
    expect(runs.runs.find((r) => r.id === run.id)).toMatchObject({
      active: true,
      state: 'awaiting_approval',
      shortId: run.id.slice(0, 8),
      target: 'search-db',
    });
    expect(runs.runs.find((r) => r.target === 'orders-db')).toMatchObject({
      active: false,
      state: 'succeeded',
    });

    await runtime.store.recordLagSample({
      runId: run.id,
      at: new Date().toISOString(),
      bytes: 2048,
      seconds: 0.5,
    });
    const lag = (await (await fetch(`${base}/console/lag?run=${run.id}`)).json()) as {
      samples: { bytes: number | null }[];
      limits: object;
    };
    expect(lag.samples.map((s) => s.bytes)).toEqual([2048]);
    expect(lag.limits).toEqual({});
    expect((await fetch(`${base}/console/lag?run=nope`)).status).toBe(400);

    const since = Date.now() / 1000;
    await command(`abort ${run.id.slice(0, 8)} done testing`);
    await ephemeralWith(LOCAL_USER_ID, 'Aborting', since);
    expect((await untilState(run.id, 'aborted', 'failed')).state).toBe('aborted');
  });

  it('answers only this machine, by a local name, and only JSON posts from its own origin', async () => {
    expect(await rawRequest('/console/state', { headers: { host: 'evil.example:3000' } })).toBe(403);
    expect(await rawRequest('/', { headers: { host: 'localhost' } })).toBe(200);
    expect(
      await rawRequest('/console/command', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ user: LOCAL_USER_ID, channel: CHANNEL, text: 'help' }),
      }),
    ).toBe(415);
    expect(
      await rawRequest('/console/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
        body: JSON.stringify({ user: LOCAL_USER_ID, channel: CHANNEL, text: 'help' }),
      }),
    ).toBe(403);
    expect((await command('help', 'U0NOBODY')).status).toBe(400);
    expect((await fetch(`${base}/console/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/metrics-or-whatever`)).status).toBe(404);
  });
});
