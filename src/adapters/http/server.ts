// The bot's own HTTP endpoints besides Slack's. Small on purpose: node:http is enough.
import { createServer, type Server } from 'node:http';
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

export async function startHttpServer(options: {
  port: number;
  health: () => Promise<HealthReport>;
}): Promise<HttpServer> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      options.health().then(
        (report) => {
          res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify(report));
        },
        (error: unknown) => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: String(error) }));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '0.0.0.0', () => resolve());
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
