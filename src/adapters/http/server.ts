// The bot's HTTP endpoints: Slack's events path (when the HTTP receiver is used), health and metrics.
// Small on purpose: node:http is enough, and Bolt's receiver plugs in as a request handler.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, boolean | null>;
}

export interface HttpServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface MetricsEndpoint {
  scrape: () => Promise<{ contentType: string; body: string }>;
  /** When set, a scrape must send `Authorization: Bearer <token>`; others get 401. */
  token?: string | null;
}

export interface HttpServerOptions {
  port: number;
  /** The address to listen on; default all interfaces. */
  host?: string;
  /** GET /healthz (404 without it: a metrics-only listener). */
  health?: (() => Promise<HealthReport>) | null;
  /** POST /slack/events, when the bot runs the Slack HTTP receiver. */
  slackEvents?: RequestHandler | null;
  /** GET /metrics: the Prometheus text exposition (404 without it). */
  metrics?: MetricsEndpoint | null;
  /** Other routes (the local console's page); returns false for paths it does not serve. */
  fallback?: ((req: IncomingMessage, res: ServerResponse) => boolean) | null;
}

/** Whether the request carries the bearer token; compared in constant time (as digests). */
function hasBearer(req: IncomingMessage, token: string): boolean {
  const sent = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (sent === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(sent), digest(token));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/slack/events' && options.slackEvents) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' });
        res.end();
        return;
      }
      options.slackEvents(req, res);
      return;
    }
    if (req.method === 'GET' && path === '/healthz' && options.health) {
      options.health().then(
        (report) => sendJson(res, report.ok ? 200 : 503, report),
        (error: unknown) => sendJson(res, 503, { ok: false, error: String(error) }),
      );
      return;
    }
    if (req.method === 'GET' && path === '/metrics' && options.metrics) {
      const token = options.metrics.token;
      if (token && !hasBearer(req, token)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' });
        res.end('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
        return;
      }
      options.metrics.scrape().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${String(error)}\n`);
        },
      );
      return;
    }
    if (options.fallback?.(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  // Idle keep-alive connections stay open longer than the peers' own idle timeouts (load balancers
  // keep theirs for 60 s; a client reads `Keep-Alive: timeout=65`), so the server is never the side
  // that closes a connection the peer is just reusing: that race loses the request ("other side
  // closed"), which the fault suite saw under load with Node's default of 5 s.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
