/**
 * The Slack Web API on a local port, backed by the in-memory `SlackWorkspace`.
 *
 * One piece of code for two uses: tests point `@slack/web-api` at it
 * (`new WebClient(token, { slackApiUrl: server.url })`, or Bolt's `clientOptions.slackApiUrl`), and the
 * local console page reads the same workspace and listens to its events.
 *
 * Only what the real WebClient sends is taken: `application/x-www-form-urlencoded` (nested fields
 * such as `blocks` and `view` as JSON strings) or `multipart/form-data` (files); GET query arguments
 * are read too. The token comes from `Authorization: Bearer …`, or a `token` form field. Every call
 * is recorded, failed ones included.
 *
 * It listens on loopback only and answers only requests addressed to that loopback name and port
 * without an `Origin` (the WebClient sends none; a browser always does): a page open in a browser
 * on this machine, or a name rebound to 127.0.0.1, cannot post here. Its bot token is random per
 * start unless a test fixes one.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SlackWorkspace,
  type ApiBody,
  type Args,
  type ConsoleMessage,
  type ConsoleView,
  type ViewEvent,
  type WorkspaceOptions,
} from './slack-workspace';

export type { ConsoleMessage, ConsoleView, ViewEvent, SlackUser, SlackChannel } from './slack-workspace';
export { WORKSPACE_DEFAULTS, TRIGGER_TTL_MS } from './slack-workspace';

export interface RecordedCall {
  method: string;
  /** When the request arrived (ms, by the workspace's clock). */
  at: number;
  /** Arguments as the server read them (JSON fields decoded, `token` left out). */
  args: Record<string, unknown>;
  /** HTTP status answered (200, 429, or an injected one). */
  status: number;
  token?: string;
  ok: boolean;
  /** The `error` of an `ok: false` answer. */
  error?: string;
}

export interface SlackApiServerOptions extends WorkspaceOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: '127.0.0.1';
  /** Answers requests outside `/api/` (the console page, later). Default: 404. */
  fallback?: RequestListener;
}

type Fault =
  | { kind: 'ratelimit'; method: string; retryAfterSeconds: number; remaining: number }
  | { kind: 'fail'; method: string; error: string; httpStatus: number; remaining: number };

export interface SlackApiServerEvents {
  message: (message: ConsoleMessage) => void;
  update: (message: ConsoleMessage) => void;
  view: (view: ViewEvent) => void;
  call: (call: RecordedCall) => void;
}

/** Fields Slack takes as JSON-encoded strings in form bodies. */
const JSON_FIELDS = ['blocks', 'attachments', 'view', 'metadata'] as const;
const MAX_BODY_BYTES = 5 * 1024 * 1024;

class BadRequest extends Error {
  constructor(
    readonly error: string,
    readonly status = 200,
  ) {
    super(error);
  }
}

interface ParsedRequest {
  args: Args;
  token?: string;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('request_too_large', 413);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

async function parseRequest(req: IncomingMessage, url: URL): Promise<ParsedRequest> {
  const args: Args = Object.fromEntries(url.searchParams);
  delete args.token; // tokens in query strings are not accepted
  let bodyToken: string | undefined;
  const body = await readBody(req);
  const contentType = req.headers['content-type'];
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (body.length > 0) {
    if (mediaType === undefined || mediaType === '') throw new BadRequest('missing_post_type');
    if (mediaType === 'application/x-www-form-urlencoded') {
      const form = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
      bodyToken = form.token;
      delete form.token;
      Object.assign(args, form);
    } else if (mediaType === 'multipart/form-data') {
      let form: FormData;
      try {
        form = await new Response(body, { headers: { 'content-type': contentType as string } }).formData();
      } catch {
        throw new BadRequest('invalid_form_data');
      }
      for (const [key, value] of form.entries()) {
        if (key === 'token') bodyToken = typeof value === 'string' ? value : undefined;
        else args[key] = typeof value === 'string' ? value : { file: value.name, size: value.size };
      }
    } else {
      throw new BadRequest('invalid_post_type');
    }
  }
  // Form fields holding JSON: decode them; a field that is not valid JSON stays a string for the
  // method to reject (invalid_blocks_format and the like).
  for (const field of JSON_FIELDS) {
    const v = args[field];
    if (typeof v === 'string') {
      try {
        args[field] = JSON.parse(v);
      } catch {
        // left as is
      }
    }
  }
  const auth = req.headers.authorization;
  const bearer = auth?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  const token = bearer ?? bodyToken;
  return token === undefined ? { args } : { args, token };
}

/** Why a request is not one the bot's WebClient sends to this server, or null. */
function requestProblem(req: IncomingMessage, port: number): string | null {
  if (req.headers.origin !== undefined) return 'cross_origin_request';
  const host = req.headers.host?.toLowerCase();
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return 'invalid_host';
  return null;
}

export class SlackApiServer {
  readonly calls: RecordedCall[] = [];
  readonly workspace: SlackWorkspace;

  private readonly server: Server;
  private readonly faults: Fault[] = [];
  private address = { host: '127.0.0.1', port: 0 };

  private constructor(private readonly options: SlackApiServerOptions) {
    this.workspace = new SlackWorkspace(options);
    this.server = createServer((req, res) => this.handle(req, res));
  }

  static async start(options: SlackApiServerOptions = {}): Promise<SlackApiServer> {
    const self = new SlackApiServer(options);
    await self.listen(options.host ?? '127.0.0.1', options.port ?? 0);
    return self;
  }

  /** The `slackApiUrl`: 'http://127.0.0.1:PORT/api/'. */
  get url(): string {
    return `http://${this.address.host}:${this.address.port}/api/`;
  }

  get port(): number {
    return this.address.port;
  }

  private async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = { host, port: (this.server.address() as AddressInfo).port };
  }

  /** The bot token this server accepts. */
  get botToken(): string {
    return this.workspace.botToken;
  }

  /** Every record of the given method, in the order answered (`at` is the arrival time). */
  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Messages (thread replies and ephemerals included) in posting order, copies. */
  messages(channel?: string): ConsoleMessage[] {
    return this.workspace.messages(channel);
  }

  message(channel: string, ts: string): ConsoleMessage | undefined {
    return this.workspace.message(channel, ts);
  }

  /** Open modal views by id. */
  get views(): Map<string, ConsoleView> {
    return this.workspace.views;
  }

  /** A message a person types in a channel (or thread) of the console. */
  postAsUser(channel: string, user: string, text: string, threadTs?: string): ConsoleMessage {
    return this.workspace.postAsUser(channel, user, text, threadTs);
  }

  /** The person closed a modal (and the views pushed on it). */
  closeView(viewId: string): boolean {
    return this.workspace.closeView(viewId);
  }

  /** A trigger id for a slash command or interaction payload: exchangeable once, within 3 s. */
  issueTriggerId(user: string): string {
    return this.workspace.issueTriggerId(user);
  }

  /** Failure injection: the next `count` calls of `method` answer HTTP 429 with `Retry-After: seconds`. */
  rateLimit(method: string, retryAfterSeconds: number, count = 1): void {
    this.faults.push({ kind: 'ratelimit', method, retryAfterSeconds, remaining: count });
  }

  /**
   * The next `count` calls of `method` answer `{ ok: false, error }` with `httpStatus` (default 200; Slack
   * uses 500/503 for internal_error / service_unavailable, which the WebClient surfaces as an HTTP error).
   * Injected faults for one method are served in the order they were set up.
   */
  failNext(method: string, error: string, options: { count?: number; httpStatus?: number } = {}): void {
    this.faults.push({
      kind: 'fail',
      method,
      error,
      httpStatus: options.httpStatus ?? 200,
      remaining: options.count ?? 1,
    });
  }

  /** Forgets calls, messages, views and pending faults (not users, channels or groups). */
  reset(): void {
    this.calls.length = 0;
    this.faults.length = 0;
    this.workspace.reset();
  }

  on<E extends keyof SlackApiServerEvents>(event: E, listener: SlackApiServerEvents[E]): this {
    this.workspace.events.on(event, listener);
    return this;
  }

  off<E extends keyof SlackApiServerEvents>(event: E, listener: SlackApiServerEvents[E]): this {
    this.workspace.events.off(event, listener);
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private takeFault(method: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.method === method);
    if (index < 0) return undefined;
    const fault = this.faults[index] as Fault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const problem = requestProblem(req, this.address.port);
    if (problem !== null) {
      req.resume();
      res
        .writeHead(403, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify({ ok: false, error: problem }));
      return;
    }
    const fallback = this.options.fallback;
    const at = this.workspace.clock.now().getTime();
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const match = /^\/api\/([A-Za-z0-9_.]+)\/?$/.exec(url.pathname);
    if (match === null) {
      if (fallback) fallback(req, res);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const method = match[1] as string;
    if (req.method !== 'POST' && req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET, POST' }).end();
      return;
    }
    const origin = `${url.protocol}//${url.host}/`;
    parseRequest(req, url).then(
      (parsed) => this.answer(res, this.dispatch(method, parsed, origin, at)),
      (err: unknown) => {
        if (!(err instanceof BadRequest)) {
          res.writeHead(500).end();
          return;
        }
        this.answer(
          res,
          this.record({ method, at, args: {}, status: err.status }, { ok: false, error: err.error }),
        );
      },
    );
  }

  private dispatch(
    method: string,
    { args, token }: ParsedRequest,
    origin: string,
    at: number,
  ): { status: number; body: ApiBody; headers?: Record<string, string> } {
    const base = token === undefined ? { method, at, args } : { method, at, args, token };
    if (!this.workspace.hasMethod(method)) {
      return this.record(
        { ...base, status: 200 },
        { ok: false, error: 'unknown_method', req_method: method },
      );
    }
    const authError = this.workspace.authError(token);
    if (authError !== undefined)
      return this.record({ ...base, status: 200 }, { ok: false, error: authError });
    const fault = this.takeFault(method);
    if (fault?.kind === 'ratelimit') {
      return {
        ...this.record({ ...base, status: 429 }, { ok: false, error: 'ratelimited' }),
        headers: { 'retry-after': String(fault.retryAfterSeconds) },
      };
    }
    if (fault?.kind === 'fail')
      return this.record({ ...base, status: fault.httpStatus }, { ok: false, error: fault.error });
    return this.record({ ...base, status: 200 }, this.workspace.invoke(method, args, { origin }));
  }

  private record(call: Omit<RecordedCall, 'ok' | 'error'>, body: ApiBody): { status: number; body: ApiBody } {
    const recorded: RecordedCall = { ...call, ok: body.ok === true };
    if (typeof body.error === 'string') recorded.error = body.error;
    this.calls.push(recorded);
    this.workspace.events.emit('call', recorded);
    return { status: call.status, body };
  }

  private answer(
    res: ServerResponse,
    reply: { status: number; body: ApiBody; headers?: Record<string, string> },
  ): void {
    res
      .writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers })
      .end(JSON.stringify(reply.body));
  }
}
