/**
 * A small in-memory Slack workspace: channels, users, user groups, messages (with threads and
 * ephemerals) and modal views, plus the Web API methods the bot calls, answering the way Slack does.
 * It knows nothing about HTTP: `SlackApiServer` puts it on a port; the local console reads it directly.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../ports/clock';
import { validateBlocks, validateModalView, withBlockIds, BLOCK_KIT_LIMITS } from './block-kit';

export interface ConsoleMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  /** Author: the bot's user id for bot messages, the person's id for messages typed in the console. */
  user?: string;
  bot: boolean;
  /** A thread reply also sent to the channel (`reply_broadcast`). */
  broadcast?: boolean;
  /** Set for chat.postEphemeral: the only user who sees the message. */
  ephemeralTo?: string;
  /** When the last chat.update came (ms, by the workspace's clock). */
  updatedAt?: number;
  /** Times updated. */
  history: number;
}

export interface ConsoleView {
  id: string;
  /** The view as Slack returns it (id, hash, blocks with block ids, state, ...). */
  view: Record<string, unknown>;
  user: string;
  trigger_id?: string;
}

export type ViewAction = 'open' | 'update' | 'push' | 'close';

export interface ViewEvent extends ConsoleView {
  action: ViewAction;
}

export interface SlackUser {
  id: string;
  name: string;
  realName?: string;
}

export interface SlackChannel {
  id: string;
  name: string;
}

export interface WorkspaceOptions {
  botToken?: string;
  botUserId?: string;
  botId?: string;
  botName?: string;
  appId?: string;
  teamId?: string;
  /** Enterprise Grid: the organization the workspace belongs to (auth.test's enterprise_id). */
  enterpriseId?: string;
  teamName?: string;
  /** Known users. Omitted: every well-formed user id (U…/W…) exists. */
  users?: SlackUser[];
  /** Known channels. Omitted: every well-formed channel id (C…/G…/D…) exists. */
  channels?: SlackChannel[];
  /** User-group id (S…) → member user ids. */
  userGroups?: Record<string, string[]>;
  /** Reject trigger ids this workspace did not issue (issued ones are always checked). */
  strictTriggers?: boolean;
  /** Slack's time: message timestamps and trigger-id expiry (default: the system clock). */
  clock?: Clock;
}

export const WORKSPACE_DEFAULTS = {
  botUserId: 'U0CUTOVERBOT',
  botId: 'B0CUTOVERBOT',
  botName: 'cutover',
  appId: 'A0CUTOVERAPP',
  teamId: 'T0CUTOVER00',
  teamName: 'Cutover Console',
} as const;

/** How long a trigger id can be exchanged for a view (Slack: 3 seconds). */
export const TRIGGER_TTL_MS = 3000;
/** Slack's cap on a message's `text`. */
export const MAX_TEXT = 40_000;
/** Modals stacked at once (root + 2 pushes). */
export const MAX_VIEW_STACK = 3;

export type Args = Record<string, unknown>;
export type ApiBody = Record<string, unknown>;

/** A Slack `ok: false` answer thrown by a method handler. */
export class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly messages: string[] = [],
  ) {
    super(error);
    this.name = 'SlackApiError';
  }

  toBody(): ApiBody {
    const body: ApiBody = { ok: false, error: this.error };
    if (this.messages.length > 0) {
      body.errors = [...this.messages];
      body.response_metadata = { messages: [...this.messages] };
    }
    return body;
  }
}

interface CallContext {
  /** Origin of the server that took the call, e.g. 'http://127.0.0.1:4000/'. */
  origin: string;
}

type Handler = (args: Args, ctx: CallContext) => ApiBody;

interface StoredView extends ConsoleView {
  hash: string;
  externalId?: string;
  rootId: string;
  previousId?: string;
}

interface Trigger {
  user: string;
  issuedAt: number;
  used: boolean;
}

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A scalar argument as Slack reads it (form fields are strings; JSON may carry numbers). */
function str(args: Args, key: string): string | undefined {
  const v = args[key];
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function missing(field: string): SlackApiError {
  return new SlackApiError('invalid_arguments', [`[ERROR] missing required field: ${field}`]);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class SlackWorkspace {
  readonly botToken: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly botName: string;
  readonly appId: string;
  readonly teamId: string;
  /** Slack's time, for timestamps and trigger expiry. */
  readonly clock: Clock;
  readonly enterpriseId: string | undefined;
  readonly teamName: string;

  /** Emits 'message' (ConsoleMessage), 'update' (ConsoleMessage) and 'view' (ViewEvent). */
  readonly events = new EventEmitter();
  readonly views = new Map<string, ConsoleView>();

  private readonly openUsers: boolean;
  private readonly openChannels: boolean;
  private readonly users = new Map<string, SlackUser>();
  private readonly channels = new Map<string, SlackChannel>();
  private readonly userGroups = new Map<string, string[]>();
  private readonly strictTriggers: boolean;

  private readonly log: ConsoleMessage[] = [];
  private readonly byKey = new Map<string, ConsoleMessage>();
  private readonly triggers = new Map<string, Trigger>();
  private lastTsMicros = 0;
  private viewSeq = 0;

  private readonly handlers: Record<string, Handler> = {
    'auth.test': (_args, ctx) => this.authTest(ctx),
    'chat.postMessage': (args) => this.chatPostMessage(args),
    'chat.update': (args) => this.chatUpdate(args),
    'chat.postEphemeral': (args) => this.chatPostEphemeral(args),
    'views.open': (args) => this.viewsOpen(args),
    'views.update': (args) => this.viewsUpdate(args),
    'views.push': (args) => this.viewsPush(args),
    'usergroups.users.list': (args) => this.usergroupsUsersList(args),
    'users.info': (args) => this.usersInfo(args),
    'conversations.info': (args) => this.conversationsInfo(args),
    'conversations.history': (args) => this.conversationsHistory(args),
    'conversations.replies': (args) => this.conversationsReplies(args),
  };

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  constructor(options: WorkspaceOptions = {}) {
    // A fresh secret per workspace unless a test fixes one: nothing outside this process knows it.
    this.botToken = options.botToken ?? `xoxb-local-${randomBytes(24).toString('hex')}`;
    this.botUserId = options.botUserId ?? WORKSPACE_DEFAULTS.botUserId;
    this.botId = options.botId ?? WORKSPACE_DEFAULTS.botId;
    this.botName = options.botName ?? WORKSPACE_DEFAULTS.botName;
    this.appId = options.appId ?? WORKSPACE_DEFAULTS.appId;
    this.teamId = options.teamId ?? WORKSPACE_DEFAULTS.teamId;
    this.teamName = options.teamName ?? WORKSPACE_DEFAULTS.teamName;
    this.enterpriseId = options.enterpriseId;
    this.openUsers = options.users === undefined;
    this.openChannels = options.channels === undefined;
    this.strictTriggers = options.strictTriggers ?? false;
    this.clock = options.clock ?? systemClock;
    for (const u of options.users ?? []) this.users.set(u.id, { ...u });
    this.users.set(this.botUserId, { id: this.botUserId, name: this.botName });
    for (const c of options.channels ?? []) this.channels.set(c.id, { ...c });
    for (const [id, members] of Object.entries(options.userGroups ?? {}))
      this.userGroups.set(id, [...members]);
  }

  /** The Web API methods this workspace answers. */
  get methods(): string[] {
    return Object.keys(this.handlers);
  }

  hasMethod(method: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.handlers, method);
  }

  /** `undefined` when the token is the bot's; otherwise the Slack error (`not_authed` / `invalid_auth`). */
  authError(token: string | undefined): string | undefined {
    if (token === undefined || token === '') return 'not_authed';
    return token === this.botToken ? undefined : 'invalid_auth';
  }

  /** Runs one method; always returns a Slack answer body (`ok: true` or `ok: false`). */
  invoke(method: string, args: Args, ctx: CallContext): ApiBody {
    if (!this.hasMethod(method)) return { ok: false, error: 'unknown_method', req_method: method };
    try {
      const handler = this.handlers[method] as Handler;
      return { ok: true, ...handler(args, ctx) };
    } catch (err) {
      if (err instanceof SlackApiError) return err.toBody();
      throw err;
    }
  }

  // ---- reading state (copies, safe to keep) ----

  messages(channel?: string): ConsoleMessage[] {
    return this.log.filter((m) => channel === undefined || m.channel === channel).map(clone);
  }

  message(channel: string, ts: string): ConsoleMessage | undefined {
    const m = this.byKey.get(`${channel}:${ts}`);
    return m && clone(m);
  }

  // ---- the console's side: what a person does in the channel ----

  /** A message typed by a person (not the bot), top-level or in a thread. */
  postAsUser(channel: string, user: string, text: string, threadTs?: string): ConsoleMessage {
    const ch = this.resolveChannel(channel);
    const thread = threadTs === undefined ? undefined : this.threadRoot(ch.id, threadTs);
    const msg: ConsoleMessage = { channel: ch.id, ts: this.nextTs(), text, user, bot: false, history: 0 };
    if (thread !== undefined) msg.thread_ts = thread;
    return this.store(msg);
  }

  /** A trigger id as Slack puts in a slash command or interaction payload; exchangeable once, for 3 s. */
  issueTriggerId(user: string): string {
    const id = `${Math.floor(this.nowMs() / 1000)}.${this.teamId.replace(/\D/g, '') || '0'}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { user, issuedAt: this.nowMs(), used: false });
    return id;
  }

  /** The person closed (or submitted and cleared) a modal: it and the views pushed on it go away. */
  closeView(viewId: string): boolean {
    const view = this.views.get(viewId) as StoredView | undefined;
    if (view === undefined) return false;
    for (const [id, v] of this.views) {
      if ((v as StoredView).rootId === view.rootId) {
        this.views.delete(id);
        this.events.emit('view', {
          ...this.publicView(v as StoredView),
          action: 'close',
        } satisfies ViewEvent);
      }
    }
    return true;
  }

  /** Forgets every message, view and trigger (users, channels and groups stay). */
  reset(): void {
    this.log.length = 0;
    this.byKey.clear();
    this.views.clear();
    this.triggers.clear();
  }

  // ---- directory ----

  private resolveChannel(value: unknown): SlackChannel {
    const raw = typeof value === 'string' ? value.trim() : '';
    if (raw === '') throw new SlackApiError('channel_not_found');
    const known = this.channels.get(raw);
    if (known) return known;
    const name = raw.replace(/^#/, '');
    for (const c of this.channels.values()) if (c.name === name) return c;
    if (this.openChannels && CHANNEL_ID.test(raw)) {
      const created = { id: raw, name: raw.toLowerCase() };
      this.channels.set(raw, created);
      return created;
    }
    throw new SlackApiError('channel_not_found');
  }

  private findUser(id: string | undefined): SlackUser | undefined {
    if (id === undefined) return undefined;
    const known = this.users.get(id);
    if (known) return known;
    if (this.openUsers && USER_ID.test(id)) return { id, name: id.toLowerCase() };
    return undefined;
  }

  // ---- messages ----

  private nextTs(): string {
    const micros = Math.max(this.nowMs() * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    const seconds = Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  private store(msg: ConsoleMessage): ConsoleMessage {
    this.log.push(msg);
    this.byKey.set(`${msg.channel}:${msg.ts}`, msg);
    this.events.emit('message', clone(msg));
    return clone(msg);
  }

  /** The ts of the thread a reply to `ts` belongs to (a reply to a reply joins the parent's thread). */
  private threadRoot(channel: string, ts: string): string {
    const parent = this.byKey.get(`${channel}:${ts}`);
    if (parent === undefined || parent.ephemeralTo !== undefined) throw new SlackApiError('thread_not_found');
    return parent.thread_ts ?? parent.ts;
  }

  private replies(channel: string, ts: string): ConsoleMessage[] {
    return this.log.filter((m) => m.channel === channel && m.thread_ts === ts && m.ephemeralTo === undefined);
  }

  /** A message as the Web API returns it. */
  private wire(m: ConsoleMessage): ApiBody {
    const out: ApiBody = { type: 'message', text: m.text, user: m.user, ts: m.ts, team: this.teamId };
    if (m.bot) {
      out.bot_id = this.botId;
      out.app_id = this.appId;
      out.bot_profile = {
        id: this.botId,
        app_id: this.appId,
        name: this.botName,
        team_id: this.teamId,
        deleted: false,
      };
    }
    if (m.blocks !== undefined) out.blocks = clone(m.blocks);
    if (m.attachments !== undefined) out.attachments = clone(m.attachments);
    if (m.metadata !== undefined) out.metadata = clone(m.metadata);
    if (m.broadcast === true) out.subtype = 'thread_broadcast';
    if (m.thread_ts !== undefined) {
      out.thread_ts = m.thread_ts;
      out.parent_user_id = this.byKey.get(`${m.channel}:${m.thread_ts}`)?.user;
    } else {
      const replies = this.replies(m.channel, m.ts);
      if (replies.length > 0) {
        out.thread_ts = m.ts;
        out.reply_count = replies.length;
        out.reply_users = [...new Set(replies.map((r) => r.user))];
        out.reply_users_count = (out.reply_users as unknown[]).length;
        out.latest_reply = replies[replies.length - 1]?.ts;
      }
    }
    if (m.updatedAt !== undefined) out.edited = { user: m.user, ts: m.ts };
    return out;
  }

  /**
   * The content arguments of chat.postMessage / chat.update / chat.postEphemeral, checked the way
   * Slack checks them. `undefined` fields were not given (chat.update keeps what the message had).
   */
  private content(args: Args): {
    text?: string;
    blocks?: unknown[];
    attachments?: unknown[];
    metadata?: unknown;
  } {
    const out: { text?: string; blocks?: unknown[]; attachments?: unknown[]; metadata?: unknown } = {};
    const rawText = args.text;
    const text =
      typeof rawText === 'string' ? rawText : typeof rawText === 'number' ? String(rawText) : undefined;
    if (rawText !== undefined && rawText !== null && text === undefined)
      throw new SlackApiError('invalid_arguments');
    const markdown = str(args, 'markdown_text');
    if (markdown !== undefined) {
      if (text !== undefined || args.blocks !== undefined) throw new SlackApiError('markdown_text_conflict');
      if (markdown.length > BLOCK_KIT_LIMITS.markdownBlockText) throw new SlackApiError('msg_too_long');
      out.text = markdown;
    }
    if (text !== undefined) {
      if (text.length > MAX_TEXT) throw new SlackApiError('msg_too_long');
      out.text = text;
    }
    if (args.blocks !== undefined && args.blocks !== null) {
      // A string here is a form field that was not valid JSON.
      if (!Array.isArray(args.blocks)) throw new SlackApiError('invalid_blocks_format');
      const problems = validateBlocks(args.blocks, 'message');
      if (problems.length > 0) throw new SlackApiError('invalid_blocks', problems);
      out.blocks = args.blocks;
    }
    if (args.attachments !== undefined && args.attachments !== null) {
      if (!Array.isArray(args.attachments) || !args.attachments.every(isObject)) {
        throw new SlackApiError('invalid_attachments');
      }
      if (args.attachments.length > 100) throw new SlackApiError('too_many_attachments');
      out.attachments = args.attachments;
    }
    if (args.metadata !== undefined && args.metadata !== null) {
      if (!isObject(args.metadata) || typeof args.metadata.event_type !== 'string') {
        throw new SlackApiError('invalid_metadata_format');
      }
      out.metadata = args.metadata;
    }
    return out;
  }

  private static hasContent(c: { text?: string; blocks?: unknown[]; attachments?: unknown[] }): boolean {
    return (c.text ?? '') !== '' || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;
  }

  private authTest(ctx: CallContext): ApiBody {
    return {
      url: ctx.origin,
      team: this.teamName,
      user: this.botName,
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      ...(this.enterpriseId !== undefined ? { enterprise_id: this.enterpriseId } : {}),
      is_enterprise_install: false,
    };
  }

  /** A new message from the bot with the call's content (text, blocks, attachments), not stored yet. */
  private botMessage(
    channelId: string,
    args: Args,
    c: ReturnType<SlackWorkspace['content']>,
  ): ConsoleMessage {
    if (!SlackWorkspace.hasContent(c)) throw new SlackApiError('no_text');
    const threadTs = str(args, 'thread_ts');
    const msg: ConsoleMessage = {
      channel: channelId,
      ts: this.nextTs(),
      text: c.text ?? '',
      bot: true,
      history: 0,
      user: this.botUserId,
    };
    if (threadTs !== undefined) msg.thread_ts = this.threadRoot(channelId, threadTs);
    if (c.blocks !== undefined && c.blocks.length > 0) msg.blocks = withBlockIds(c.blocks);
    if (c.attachments !== undefined) msg.attachments = clone(c.attachments);
    return msg;
  }

  private chatPostMessage(args: Args): ApiBody {
    const channel = this.resolveChannel(args.channel);
    const c = this.content(args);
    const msg = this.botMessage(channel.id, args, c);
    if (msg.thread_ts !== undefined && str(args, 'reply_broadcast') === 'true') msg.broadcast = true;
    if (c.metadata !== undefined) msg.metadata = clone(c.metadata);
    this.store(msg);
    return { channel: channel.id, ts: msg.ts, message: this.wire(msg) };
  }

  private chatUpdate(args: Args): ApiBody {
    const channel = this.resolveChannel(args.channel);
    const ts = str(args, 'ts');
    if (ts === undefined) throw new SlackApiError('message_not_found');
    const msg = this.byKey.get(`${channel.id}:${ts}`);
    if (msg === undefined || msg.ephemeralTo !== undefined) throw new SlackApiError('message_not_found');
    if (!msg.bot) throw new SlackApiError('cant_update_message');
    const c = this.content(args);
    if (!SlackWorkspace.hasContent(c)) throw new SlackApiError('no_text');
    if (c.text !== undefined) msg.text = c.text;
    // As in Slack: blocks not given are kept; an empty array removes them.
    if (c.blocks !== undefined) {
      if (c.blocks.length > 0) msg.blocks = withBlockIds(c.blocks);
      else delete msg.blocks;
    }
    if (c.attachments !== undefined) msg.attachments = clone(c.attachments);
    if (c.metadata !== undefined) msg.metadata = clone(c.metadata);
    msg.history += 1;
    msg.updatedAt = this.nowMs();
    this.events.emit('update', clone(msg));
    return { channel: channel.id, ts: msg.ts, text: msg.text, message: this.wire(msg) };
  }

  private chatPostEphemeral(args: Args): ApiBody {
    const channel = this.resolveChannel(args.channel);
    const userId = str(args, 'user');
    if (userId === undefined) throw missing('user');
    if (this.findUser(userId) === undefined) throw new SlackApiError('user_not_in_channel');
    const msg = this.botMessage(channel.id, args, this.content(args));
    msg.ephemeralTo = userId;
    this.store(msg);
    return { message_ts: msg.ts };
  }

  // ---- views ----

  /** Exchanges a trigger id; returns the user it was issued for ('' for one this workspace did not issue). */
  private exchangeTrigger(args: Args): { triggerId: string; user: string } {
    const triggerId = str(args, 'trigger_id');
    if (triggerId === undefined) throw missing('trigger_id');
    const trigger = this.triggers.get(triggerId);
    if (trigger === undefined) {
      if (this.strictTriggers) throw new SlackApiError('invalid_arguments', ['invalid `trigger_id`']);
      return { triggerId, user: '' };
    }
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id');
    if (this.nowMs() - trigger.issuedAt > TRIGGER_TTL_MS) throw new SlackApiError('expired_trigger_id');
    trigger.used = true;
    return { triggerId, user: trigger.user };
  }

  private checkedView(args: Args): Record<string, unknown> {
    const view = args.view;
    if (view === undefined || view === null) throw missing('view');
    if (typeof view === 'string')
      throw new SlackApiError('invalid_arguments', ['[ERROR] failed to parse json [json-pointer:/view]']);
    if (JSON.stringify(view).length > BLOCK_KIT_LIMITS.viewBytes) throw new SlackApiError('view_too_large');
    const problems = validateModalView(view);
    if (problems.length > 0) throw new SlackApiError('invalid_arguments', problems);
    return view as Record<string, unknown>;
  }

  private findByExternalId(externalId: string): StoredView | undefined {
    for (const v of this.views.values())
      if ((v as StoredView).externalId === externalId) return v as StoredView;
    return undefined;
  }

  private newHash(): string {
    return `${Math.floor(this.nowMs() / 1000)}.${randomBytes(4).toString('hex')}`;
  }

  private buildView(
    id: string,
    payload: Record<string, unknown>,
    hash: string,
    rootId: string,
    previousId: string | undefined,
    externalId: string | undefined,
  ): Record<string, unknown> {
    const blocks = withBlockIds(payload.blocks as unknown[]);
    return {
      id,
      team_id: this.teamId,
      type: 'modal',
      title: clone(payload.title),
      submit: payload.submit === undefined ? null : clone(payload.submit),
      close: payload.close === undefined ? null : clone(payload.close),
      blocks,
      private_metadata: typeof payload.private_metadata === 'string' ? payload.private_metadata : '',
      callback_id: typeof payload.callback_id === 'string' ? payload.callback_id : '',
      external_id: externalId ?? '',
      state: { values: {} },
      hash,
      clear_on_close: payload.clear_on_close === true,
      notify_on_close: payload.notify_on_close === true,
      submit_disabled: payload.submit_disabled === true,
      root_view_id: rootId,
      previous_view_id: previousId ?? null,
      app_id: this.appId,
      app_installed_team_id: this.teamId,
      bot_id: this.botId,
    };
  }

  private publicView(v: StoredView): ConsoleView {
    const out: ConsoleView = { id: v.id, view: clone(v.view), user: v.user };
    if (v.trigger_id !== undefined) out.trigger_id = v.trigger_id;
    return out;
  }

  private saveView(v: StoredView, action: ViewAction): ApiBody {
    this.views.set(v.id, v);
    this.events.emit('view', { ...this.publicView(v), action } satisfies ViewEvent);
    return { view: clone(v.view) };
  }

  private createView(args: Args, action: 'open' | 'push'): ApiBody {
    const { triggerId, user } = this.exchangeTrigger(args);
    const payload = this.checkedView(args);
    const externalId =
      typeof payload.external_id === 'string' && payload.external_id !== '' ? payload.external_id : undefined;
    if (externalId !== undefined && this.findByExternalId(externalId))
      throw new SlackApiError('duplicate_external_id');
    let rootId: string | undefined;
    let previousId: string | undefined;
    if (action === 'push') {
      const stack = [...this.views.values()].filter((v) => user === '' || v.user === user) as StoredView[];
      const top = stack[stack.length - 1];
      if (top === undefined)
        throw new SlackApiError('invalid_arguments', ['[ERROR] no open view to push onto']);
      if (stack.filter((v) => v.rootId === top.rootId).length >= MAX_VIEW_STACK) {
        throw new SlackApiError('push_limit_reached');
      }
      rootId = top.rootId;
      previousId = top.id;
    }
    this.viewSeq += 1;
    const id = `V${this.viewSeq.toString(36).toUpperCase().padStart(10, '0')}`;
    const hash = this.newHash();
    const stored: StoredView = {
      id,
      view: this.buildView(id, payload, hash, rootId ?? id, previousId, externalId),
      user,
      trigger_id: triggerId,
      hash,
      rootId: rootId ?? id,
    };
    if (externalId !== undefined) stored.externalId = externalId;
    if (previousId !== undefined) stored.previousId = previousId;
    return this.saveView(stored, action);
  }

  private viewsOpen(args: Args): ApiBody {
    return this.createView(args, 'open');
  }

  private viewsPush(args: Args): ApiBody {
    return this.createView(args, 'push');
  }

  private viewsUpdate(args: Args): ApiBody {
    const viewId = str(args, 'view_id');
    const externalId = str(args, 'external_id');
    if (viewId === undefined && externalId === undefined) {
      throw new SlackApiError('invalid_arguments', ['[ERROR] either view_id or external_id is required']);
    }
    const current =
      viewId !== undefined
        ? (this.views.get(viewId) as StoredView | undefined)
        : this.findByExternalId(externalId as string);
    if (current === undefined) throw new SlackApiError('not_found');
    const hash = str(args, 'hash');
    if (hash !== undefined && hash !== current.hash) throw new SlackApiError('hash_conflict');
    const payload = this.checkedView(args);
    let nextExternal = current.externalId;
    if (typeof payload.external_id === 'string' && payload.external_id !== '') {
      const other = this.findByExternalId(payload.external_id);
      if (other !== undefined && other.id !== current.id) throw new SlackApiError('duplicate_external_id');
      nextExternal = payload.external_id;
    }
    const newHash = this.newHash();
    const updated: StoredView = {
      ...current,
      view: this.buildView(current.id, payload, newHash, current.rootId, current.previousId, nextExternal),
      hash: newHash,
    };
    if (nextExternal !== undefined) updated.externalId = nextExternal;
    return this.saveView(updated, 'update');
  }

  // ---- directory methods ----

  private usergroupsUsersList(args: Args): ApiBody {
    const group = str(args, 'usergroup');
    if (group === undefined) throw missing('usergroup');
    const members = this.userGroups.get(group);
    if (members === undefined) throw new SlackApiError('no_such_subteam');
    return { users: [...members] };
  }

  private usersInfo(args: Args): ApiBody {
    const user = this.findUser(str(args, 'user'));
    if (user === undefined) throw new SlackApiError('user_not_found');
    const realName = user.realName ?? user.name;
    return {
      user: {
        id: user.id,
        team_id: this.teamId,
        name: user.name,
        real_name: realName,
        deleted: false,
        is_bot: user.id === this.botUserId,
        is_admin: false,
        tz: 'UTC',
        profile: { real_name: realName, display_name: user.name, team: this.teamId },
      },
    };
  }

  private channelInfo(c: SlackChannel): ApiBody {
    return {
      id: c.id,
      name: c.name,
      is_channel: c.id.startsWith('C'),
      is_group: c.id.startsWith('G'),
      is_im: c.id.startsWith('D'),
      is_private: !c.id.startsWith('C'),
      is_archived: false,
      is_member: true,
      context_team_id: this.teamId,
    };
  }

  private conversationsInfo(args: Args): ApiBody {
    return { channel: this.channelInfo(this.resolveChannel(args.channel)) };
  }

  private limit(args: Args): number {
    const n = Number(str(args, 'limit') ?? 100);
    return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), 1000) : 100;
  }

  /** Top-level messages, newest first (no paging cursor: has_more says whether `limit` cut it). */
  private conversationsHistory(args: Args): ApiBody {
    const channel = this.resolveChannel(args.channel);
    const all = this.log
      .filter((m) => m.channel === channel.id && m.thread_ts === undefined && m.ephemeralTo === undefined)
      .reverse();
    const limit = this.limit(args);
    return { messages: all.slice(0, limit).map((m) => this.wire(m)), has_more: all.length > limit };
  }

  /** The thread's parent and its replies, oldest first. */
  private conversationsReplies(args: Args): ApiBody {
    const channel = this.resolveChannel(args.channel);
    const ts = str(args, 'ts');
    if (ts === undefined) throw missing('ts');
    const parent = this.byKey.get(`${channel.id}:${ts}`);
    if (parent === undefined || parent.ephemeralTo !== undefined) throw new SlackApiError('thread_not_found');
    const root = parent.thread_ts ?? parent.ts;
    const rootMsg = this.byKey.get(`${channel.id}:${root}`) as ConsoleMessage;
    const all = [rootMsg, ...this.replies(channel.id, root)];
    const limit = this.limit(args);
    return { messages: all.slice(0, limit).map((m) => this.wire(m)), has_more: all.length > limit };
  }
}
