// The local console: what the bot talks to when SLACK_BOT_TOKEN is not set. An in-process Slack Web API
// (SlackApiServer, on its own loopback port) that the bot calls through SLACK_API_URL, and a web page on
// the bot's own HTTP server that looks and behaves like a Slack channel. Commands, button clicks and modal
// submissions from the page are signed and sent to the bot's POST /slack/events exactly as Slack sends
// them, so the bot runs its production code path; only the other side of the wire is local.
//
// Endpoints (same origin as the page, JSON, loopback clients only):
//   GET  /                     the page
//   GET  /console/state        ?channel=C…&user=U…: directory, messages (threads, ephemerals), open modals
//   GET  /console/events       Server-Sent Events: 'changed' whenever the workspace changes
//   GET  /console/runs         active runs and the 20 most recent, with lag thresholds when known
//   GET  /console/lag          ?run=<uuid>: the run's recent lag samples
//   POST /console/command      { user, channel, text }: a /cutover slash command
//   POST /console/action       { user, channel, messageTs, actionId, value, blockId }: a button click
//   POST /console/view         { user, viewId, values: { blockId: { actionId: value } } }: a modal submission
//   POST /console/view/close   { user, viewId }: the person closed a modal
//   POST /console/message      { user, channel, text, threadTs? }: a message typed in the channel
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SlackSettings, TargetConfig } from '../config/types';
import { ACTIVE_RUN_STATES, type Run } from '../engine/types';
import type { Logger } from '../ports/logger';
import type { RunStore } from '../ports/run-store';
import {
  buildConsoleDirectory,
  LOCAL_USER_ID,
  type ConsoleChannel,
  type ConsoleDirectory,
  type ConsoleUser,
} from './console-directory';
import { channelMessages, openViewsOf } from './console-state';
import { pageCsp, renderConsolePage } from './page-html';
import { SlackRequestSender, type Actor, type SlackResponse } from './signed-requests';
import { SlackApiServer } from './slack-api-server';
import type { ApiBody } from './slack-workspace';

export interface LocalConsole {
  /** What the bot uses instead of SLACK_* settings: a random signing secret, the workspace's bot token, apiUrl = the in-process Web API's url. */
  slackSettings: SlackSettings;
  api: SlackApiServer;
  /** Who is in the console's workspace and which channels it has. */
  directory: ConsoleDirectory;
  /** Serves GET / (the page) and /console/* (its endpoints); returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Where the bot receives Slack requests (called once the bot's HTTP server listens). */
  connect(eventsUrl: string): void;
  close(): Promise<void>;
}

export interface LocalConsoleOptions {
  targets: readonly TargetConfig[];
  store: RunStore;
  log: Logger;
}

/** Slack gives an app 3 seconds to acknowledge a request. */
export const ACK_TIMEOUT_MS = 3000;
/** Lag samples one chart draws. */
export const CHART_SAMPLES = 120;
/** Recent runs listed besides the active ones. */
export const RECENT_RUNS = 20;
const MAX_JSON_BYTES = 256 * 1024;
const MAX_COMMAND_TEXT = 4000;
const SSE_HEARTBEAT_MS = 15_000;
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(body: Json, key: string, options: { max?: number; optional?: boolean } = {}): string {
  const value = body[key];
  if (value === undefined || value === null) {
    if (options.optional) return '';
    throw new HttpError(400, `missing ${key}`);
  }
  if (typeof value !== 'string') throw new HttpError(400, `${key} must be a string`);
  if (value.length > (options.max ?? 4000)) throw new HttpError(400, `${key} is too long`);
  return value;
}

function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** A Host header naming this machine (so a DNS-rebound name cannot reach the console). */
function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  return (
    name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name)
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_JSON_BYTES) throw new HttpError(413, 'request too large');
    chunks.push(buf);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  if (!isObject(parsed)) throw new HttpError(400, 'the body must be a JSON object');
  return parsed;
}

/** `promise`, or 'timeout' once `ms` passed (the request itself goes on, as it would from Slack). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parseAck(body: string): Json | null {
  if (body.trim() === '') return null;
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed)) return parsed;
    if (typeof parsed === 'string') return { text: parsed };
  } catch {
    // Slack shows a plain-text answer as is.
  }
  return { text: body };
}

/** Whether the message carries this button (Slack only sends clicks on what it shows). */
function hasButton(blocks: unknown[] | undefined, blockId: string, actionId: string, value: string): boolean {
  for (const block of blocks ?? []) {
    if (!isObject(block) || block.block_id !== blockId) continue;
    const elements = [
      ...(Array.isArray(block.elements) ? (block.elements as unknown[]) : []),
      ...(block.accessory !== undefined ? [block.accessory] : []),
    ];
    for (const element of elements) {
      if (
        isObject(element) &&
        element.type === 'button' &&
        element.action_id === actionId &&
        (typeof element.value === 'string' ? element.value : '') === value
      ) {
        return true;
      }
    }
  }
  return false;
}

/** The target's lag thresholds when its settings carry them (replica-promotion's `maxLag`). */
function lagLimitsOf(target: TargetConfig | undefined): { maxBytes?: number; maxSeconds?: number } {
  const maxLag = target?.settings['maxLag'];
  if (!isObject(maxLag)) return {};
  const out: { maxBytes?: number; maxSeconds?: number } = {};
  if (typeof maxLag.bytes === 'number' && Number.isFinite(maxLag.bytes)) out.maxBytes = maxLag.bytes;
  if (typeof maxLag.seconds === 'number' && Number.isFinite(maxLag.seconds)) out.maxSeconds = maxLag.seconds;
  return out;
}

class Console implements LocalConsole {
  readonly slackSettings: SlackSettings;
  private sender: SlackRequestSender | null = null;
  private readonly streams = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly users: Map<string, ConsoleUser>;
  private readonly channels: Map<string, ConsoleChannel>;
  private readonly targetsByName: Map<string, TargetConfig>;
  private readonly onChange = (kind: string) => (event: { channel?: string; id?: string }) =>
    this.broadcast(kind, event.channel ?? null);
  private readonly listeners = {
    message: this.onChange('message'),
    update: this.onChange('update'),
    view: this.onChange('view'),
  };
  private closed = false;

  constructor(
    readonly api: SlackApiServer,
    readonly directory: ConsoleDirectory,
    private readonly options: LocalConsoleOptions,
    signingSecret: string,
  ) {
    this.slackSettings = { signingSecret, botToken: api.botToken, appToken: null, apiUrl: api.url };
    this.users = new Map(directory.users.map((u) => [u.id, u]));
    this.channels = new Map(directory.channels.map((c) => [c.id, c]));
    this.targetsByName = new Map(options.targets.map((t) => [t.name, t]));
    api.on('message', this.listeners.message);
    api.on('update', this.listeners.update);
    api.on('view', this.listeners.view);
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  connect(eventsUrl: string): void {
    this.sender = new SlackRequestSender(
      eventsUrl,
      this.slackSettings.signingSecret,
      this.api.workspace.appId,
      this.api.workspace.clock,
    );
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const path = url.pathname;
    if (path !== '/' && path !== '/console' && !path.startsWith('/console/')) return false;
    this.route(req, res, url).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendJson(res, error.status, { ok: false, error: error.message });
        else res.end();
        return;
      }
      this.options.log.error({ err: error, path }, 'console request failed');
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'the console failed; see the log' });
      else res.end();
    });
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.api.off('message', this.listeners.message);
    this.api.off('update', this.listeners.update);
    this.api.off('view', this.listeners.view);
    for (const res of this.streams) res.end();
    this.streams.clear();
    await this.api.close();
  }

  // ---- routing ----

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // The console acts as anyone in the workspace: only this machine may use it, and only through a
    // name of this machine (a page elsewhere cannot reach it by rebinding its own name to 127.0.0.1).
    if (!isLoopbackAddress(req.socket.remoteAddress) || !isLoopbackHost(req.headers.host)) {
      throw new HttpError(403, 'the local console only answers on localhost');
    }
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const get = method === 'GET' || method === 'HEAD';
    if (path === '/' || path === '/console') {
      if (!get) throw new HttpError(405, 'GET only');
      this.page(res);
      return;
    }
    const gets: Record<string, () => Promise<unknown>> = {
      '/console/state': () => Promise.resolve(this.state(url)),
      '/console/runs': () => this.runs(),
      '/console/lag': () => this.lag(url),
    };
    const posts: Record<string, (body: Json) => Promise<unknown>> = {
      '/console/command': (body) => this.command(body),
      '/console/action': (body) => this.action(body),
      '/console/view': (body) => this.submitView(body),
      '/console/view/close': (body) => Promise.resolve(this.closeView(body)),
      '/console/message': (body) => Promise.resolve(this.message(body)),
    };
    if (path === '/console/events') {
      if (!get) throw new HttpError(405, 'GET only');
      this.events(req, res);
      return;
    }
    const getter = gets[path];
    if (getter) {
      if (!get) throw new HttpError(405, 'GET only');
      sendJson(res, 200, await getter());
      return;
    }
    const poster = posts[path];
    if (poster) {
      if (method !== 'POST') throw new HttpError(405, 'POST only');
      this.checkPost(req);
      sendJson(res, 200, await poster(await readJson(req)));
      return;
    }
    throw new HttpError(404, `no console endpoint ${path}`);
  }

  /** JSON only (a cross-site form cannot send it without a preflight) and from the page's own origin. */
  private checkPost(req: IncomingMessage): void {
    const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, 'send application/json');
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string | null;
      try {
        host = new URL(origin).host;
      } catch {
        host = null;
      }
      if (host !== req.headers.host) throw new HttpError(403, 'cross-origin requests are not taken');
    }
  }

  private page(res: ServerResponse): void {
    const nonce = randomBytes(16).toString('base64');
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': pageCsp(nonce),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(renderConsolePage(nonce));
  }

  // ---- lookups ----

  private user(id: string): ConsoleUser {
    const user = this.users.get(id);
    if (!user) throw new HttpError(400, `no user ${id} in the console's workspace`);
    return user;
  }

  private channel(id: string): ConsoleChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new HttpError(404, `no channel ${id} in the console's workspace`);
    return channel;
  }

  private actor(user: ConsoleUser): Actor {
    return { userId: user.id, teamId: this.api.workspace.teamId, userName: user.name };
  }

  private requireSender(): SlackRequestSender {
    if (!this.sender) throw new HttpError(503, 'the bot is not listening yet');
    return this.sender;
  }

  /** Signs and sends a body to the bot; 'timeout' when it did not answer within Slack's 3 seconds. */
  private async deliver(body: string): Promise<SlackResponse | 'timeout'> {
    const sender = this.requireSender();
    const sent = sender.send(body);
    // A late answer is still read (and dropped), as Slack drops it.
    sent.catch(() => undefined);
    try {
      return await within(sent, ACK_TIMEOUT_MS);
    } catch (error) {
      this.options.log.warn({ err: error }, 'console could not reach the bot');
      throw new HttpError(
        502,
        `the bot could not be reached: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** A message from the bot that only `user` sees, as Slack shows a slash command's answer. */
  private postEphemeral(channel: string, user: string, content: { text: string; blocks?: unknown }): ApiBody {
    const args: Json = { channel, user, text: content.text };
    if (Array.isArray(content.blocks)) args.blocks = content.blocks;
    const reply = this.api.workspace.invoke('chat.postEphemeral', args, { origin: this.api.url });
    if (reply.ok !== true) this.options.log.warn({ error: reply.error }, 'console could not show an answer');
    return reply;
  }

  // ---- endpoints ----

  private state(url: URL): unknown {
    const user = this.user(url.searchParams.get('user') ?? LOCAL_USER_ID);
    const channelId = url.searchParams.get('channel') ?? this.directory.channels[0]?.id ?? '';
    const channel = this.channel(channelId);
    const ws = this.api.workspace;
    return {
      team: { id: ws.teamId, name: ws.teamName },
      bot: { id: ws.botUserId, name: ws.botName },
      user: user.id,
      channel: channel.id,
      users: this.directory.users,
      groups: this.directory.groups,
      channels: this.directory.channels,
      messages: channelMessages(this.api.messages(channel.id), user.id),
      openViews: openViewsOf(this.api.views.values(), user.id),
    };
  }

  private async runs(): Promise<unknown> {
    const { store } = this.options;
    const [active, recent] = await Promise.all([store.listActiveRuns(), store.listRecentRuns(RECENT_RUNS)]);
    const seen = new Set<string>();
    const runs = [...active, ...recent].filter((run) => !seen.has(run.id) && seen.add(run.id));
    return { runs: runs.map((run) => this.describeRun(run)) };
  }

  private describeRun(run: Run): Json {
    return {
      id: run.id,
      shortId: run.id.slice(0, 8),
      target: run.target,
      strategy: run.strategy,
      state: run.state,
      active: ACTIVE_RUN_STATES.includes(run.state),
      channel: run.channel,
      requestedBy: run.requestedBy,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      limits: lagLimitsOf(this.targetsByName.get(run.target)),
    };
  }

  private async lag(url: URL): Promise<unknown> {
    const runId = url.searchParams.get('run') ?? '';
    if (!RUN_ID.test(runId)) throw new HttpError(400, 'run must be a run id (a UUID)');
    const run = await this.options.store.getRun(runId);
    if (!run) throw new HttpError(404, `no run ${runId}`);
    const samples = await this.options.store.recentLagSamples(run.id, CHART_SAMPLES);
    return {
      runId: run.id,
      active: ACTIVE_RUN_STATES.includes(run.state),
      limits: lagLimitsOf(this.targetsByName.get(run.target)),
      samples: samples.map((s) => ({
        at: s.at,
        bytes: s.bytes,
        seconds: s.seconds,
        ...(s.laggingReplicas === undefined ? {} : { laggingReplicas: s.laggingReplicas }),
      })),
    };
  }

  private async command(body: Json): Promise<unknown> {
    const user = this.user(field(body, 'user', { max: 64 }));
    const channel = this.channel(field(body, 'channel', { max: 64 }));
    const text = field(body, 'text', { max: MAX_COMMAND_TEXT, optional: true }).trim();
    const sender = this.requireSender();
    const payload = sender.slashCommandBody(
      this.actor(user),
      channel.id,
      text,
      this.api.issueTriggerId(user.id),
    );
    const reply = await this.deliver(payload);
    if (reply === 'timeout') {
      this.postEphemeral(channel.id, user.id, { text: '/cutover failed with the error "operation_timeout"' });
      return { ok: true, timedOut: true };
    }
    if (reply.status !== 200) {
      this.postEphemeral(channel.id, user.id, {
        text: `/cutover failed with the error "dispatch_failed" (the bot answered HTTP ${reply.status})`,
      });
      return { ok: true, status: reply.status, body: reply.body };
    }
    // The acknowledgement's body is the command's immediate answer (usage errors come this way).
    const ack = parseAck(reply.body);
    if (ack && (typeof ack.text === 'string' || Array.isArray(ack.blocks))) {
      const content = { text: typeof ack.text === 'string' ? ack.text : '', blocks: ack.blocks };
      if (ack.response_type === 'in_channel') {
        const args: Json = { channel: channel.id, text: content.text };
        if (Array.isArray(content.blocks)) args.blocks = content.blocks;
        this.api.workspace.invoke('chat.postMessage', args, { origin: this.api.url });
      } else {
        this.postEphemeral(channel.id, user.id, content);
      }
    }
    return { ok: true, status: reply.status, body: reply.body };
  }

  private async action(body: Json): Promise<unknown> {
    const user = this.user(field(body, 'user', { max: 64 }));
    const channel = this.channel(field(body, 'channel', { max: 64 }));
    const messageTs = field(body, 'messageTs', { max: 64 });
    const actionId = field(body, 'actionId', { max: 255 });
    const blockId = field(body, 'blockId', { max: 255 });
    const value = field(body, 'value', { max: 2000, optional: true });
    const message = this.api.message(channel.id, messageTs);
    if (!message || (message.ephemeralTo !== undefined && message.ephemeralTo !== user.id)) {
      throw new HttpError(404, 'no such message');
    }
    if (!hasButton(message.blocks, blockId, actionId, value)) {
      throw new HttpError(400, 'that message has no such button');
    }
    const sender = this.requireSender();
    let payload = sender.buttonClickBody(this.actor(user), channel.id, {
      actionId,
      value,
      messageTs,
      blockId,
      triggerId: this.api.issueTriggerId(user.id),
    });
    if (message.ephemeralTo !== undefined) payload = markEphemeral(payload);
    const reply = await this.deliver(payload);
    if (reply === 'timeout') {
      return { ok: false, error: 'the bot did not acknowledge the click within 3 seconds' };
    }
    if (reply.status !== 200)
      return { ok: false, error: `the bot answered the click with HTTP ${reply.status}` };
    return { ok: true };
  }

  private openView(viewId: string, user: ConsoleUser) {
    const stored = this.api.views.get(viewId);
    if (!stored) throw new HttpError(404, 'that modal is not open');
    if (stored.user !== user.id) throw new HttpError(403, 'that modal belongs to someone else');
    return stored;
  }

  private async submitView(body: Json): Promise<unknown> {
    const user = this.user(field(body, 'user', { max: 64 }));
    const viewId = field(body, 'viewId', { max: 64 });
    const stored = this.openView(viewId, user);
    const values = readValues(body.values);
    const view = stored.view;
    const sender = this.requireSender();
    const payload = sender.viewSubmissionBody(this.actor(user), {
      id: viewId,
      callbackId: typeof view.callback_id === 'string' ? view.callback_id : '',
      privateMetadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      values,
      ...(typeof view.hash === 'string' ? { hash: view.hash } : {}),
    });
    const reply = await this.deliver(payload);
    if (reply === 'timeout') {
      return { ok: false, error: 'the bot did not acknowledge the submission within 3 seconds' };
    }
    if (reply.status !== 200) {
      return { ok: false, error: `the bot answered the submission with HTTP ${reply.status}` };
    }
    const ack = parseAck(reply.body);
    switch (ack?.response_action) {
      case 'errors':
        return { ok: true, errors: isObject(ack.errors) ? ack.errors : {} };
      case 'update': {
        const updated = this.api.workspace.invoke(
          'views.update',
          { view_id: viewId, view: ack.view },
          { origin: this.api.url },
        );
        return updated.ok === true
          ? { ok: true, updated: true }
          : { ok: false, error: `the bot's view update was refused: ${String(updated.error)}` };
      }
      case 'push': {
        const pushed = this.api.workspace.invoke(
          'views.push',
          { trigger_id: this.api.issueTriggerId(user.id), view: ack.view },
          { origin: this.api.url },
        );
        return pushed.ok === true
          ? { ok: true, pushed: true }
          : { ok: false, error: `the bot's pushed view was refused: ${String(pushed.error)}` };
      }
      default:
        // An empty acknowledgement (or response_action: clear) closes the modal.
        this.api.closeView(viewId);
        return { ok: true, closed: true };
    }
  }

  private closeView(body: Json): unknown {
    const user = this.user(field(body, 'user', { max: 64 }));
    const viewId = field(body, 'viewId', { max: 64 });
    this.openView(viewId, user);
    this.api.closeView(viewId);
    return { ok: true, closed: true };
  }

  private message(body: Json): unknown {
    const user = this.user(field(body, 'user', { max: 64 }));
    const channel = this.channel(field(body, 'channel', { max: 64 }));
    const text = field(body, 'text', { max: MAX_COMMAND_TEXT }).trim();
    if (text === '') throw new HttpError(400, 'an empty message');
    const threadTs = field(body, 'threadTs', { max: 64, optional: true });
    try {
      const posted = this.api.postAsUser(channel.id, user.id, text, threadTs === '' ? undefined : threadTs);
      return { ok: true, ts: posted.ts };
    } catch (error) {
      throw new HttpError(400, error instanceof Error ? error.message : String(error));
    }
  }

  // ---- Server-Sent Events ----

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n: connected\n\n');
    this.streams.add(res);
    const forget = (): void => {
      this.streams.delete(res);
    };
    req.on('close', forget);
    res.on('close', forget);
  }

  private broadcast(kind: string, channel: string | null): void {
    this.write(`event: changed\ndata: ${JSON.stringify({ kind, channel })}\n\n`);
  }

  private write(chunk: string): void {
    for (const res of this.streams) {
      if (res.writableEnded || res.destroyed) this.streams.delete(res);
      else res.write(chunk);
    }
  }
}

/** The values of a view submission: { blockId: { actionId: string } }. */
function readValues(raw: unknown): Record<string, Record<string, string>> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new HttpError(400, 'values must be an object');
  const out: Record<string, Record<string, string>> = {};
  for (const [blockId, actions] of Object.entries(raw)) {
    if (!isObject(actions)) throw new HttpError(400, `values.${blockId} must be an object`);
    const block: Record<string, string> = {};
    for (const [actionId, value] of Object.entries(actions)) {
      if (typeof value !== 'string' || value.length > 3000) {
        throw new HttpError(400, `values.${blockId}.${actionId} must be a string`);
      }
      block[actionId] = value;
    }
    out[blockId] = block;
  }
  return out;
}

/** A click on an ephemeral message says so in its container, as Slack's does. */
function markEphemeral(formBody: string): string {
  const form = new URLSearchParams(formBody);
  const payload = JSON.parse(form.get('payload') ?? '{}') as { container?: Json };
  if (payload.container) payload.container.is_ephemeral = true;
  form.set('payload', JSON.stringify(payload));
  return form.toString();
}

export async function startLocalConsole(options: LocalConsoleOptions): Promise<LocalConsole> {
  const directory = buildConsoleDirectory(options.targets);
  const api = await SlackApiServer.start({
    host: '127.0.0.1',
    // Trigger ids are only the ones the console put in a payload, exchangeable once within 3 s.
    strictTriggers: true,
    users: directory.users.map((u) => ({ id: u.id, name: u.name, realName: u.realName })),
    channels: directory.channels.map((c) => ({ id: c.id, name: c.name })),
    userGroups: Object.fromEntries(directory.groups.map((g) => [g.id, [...g.members]])),
  });
  const signingSecret = randomBytes(32).toString('hex');
  options.log.info(
    { api: api.url, users: directory.users.length, channels: directory.channels.map((c) => c.name) },
    'local console: in-process Slack Web API started',
  );
  return new Console(api, directory, options, signingSecret);
}
