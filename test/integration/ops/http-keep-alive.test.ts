// The bot's HTTP server keeps idle connections longer than its peers do (load balancers: 60 s), and
// says so, so that it is never the side closing a connection a client is just reusing: with Node's
// default of 5 s, the fault suite's requests under load died with "other side closed".
import { Agent, request } from 'node:http';
import { startHttpServer, type HttpServer } from '../../../src/adapters/http/server';

let http: HttpServer;

beforeAll(async () => {
  http = await startHttpServer({ port: 0, health: () => Promise.resolve({ ok: true, checks: {} }) });
});

afterAll(async () => {
  await http.close();
});

test('announces a 65 s keep-alive and serves a second request on the same connection', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<{ keepAlive: string | undefined; socket: unknown }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: http.port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ keepAlive: String(res.headers['keep-alive']), socket: req.socket }));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    const first = await get();
    const second = await get();
    expect(first.keepAlive).toBe('timeout=65');
    expect(second.socket).toBe(first.socket);
  } finally {
    agent.destroy();
  }
});
