// ProbeHealthChecker against real services on 127.0.0.1: the test PostgreSQL, closed ports, a local
// HTTP server answering 200 then 503, and a TCP server that accepts but never answers. Besides
// healthy or not: how each attempt ended (`reach`, classified as PgReplication.reach classifies it)
// and, for PostgreSQL, the cluster's system identifier.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';

import { Client } from 'pg';

import { ProbeHealthChecker } from '../../../src/adapters/health/probe-health-checker';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { healthSchema, toHealthTarget } from '../../../src/config/health-schema';

const LOOPBACK = '127.0.0.1';
const POSTGRES_URL = process.env['TEST_HEALTH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'hunter2-s3cret-pa55';

function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('no port'));
    });
  });
}

function close(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await close(server);
  return port;
}

async function systemIdentifier(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      'SELECT system_identifier::text AS id FROM pg_control_system()',
    );
    return rows[0]!.id;
  } finally {
    await client.end();
  }
}

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

describe('ProbeHealthChecker', () => {
  const checker = new ProbeHealthChecker();

  describe('postgres', () => {
    it('is healthy when the real PostgreSQL answers SELECT 1, and names its system identifier', async () => {
      const result = await checker.check({ kind: 'postgres', url: POSTGRES_URL }, 5000);
      const identity = await systemIdentifier(POSTGRES_URL);
      expect(result).toEqual({
        healthy: true,
        reach: 'answers',
        identity,
        detail: expect.stringMatching(/^accepts connections( \(in recovery\))?, system identifier \d+$/),
        latencyMs: expect.any(Number),
      });
      expect(result.detail).toContain(identity);
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    });

    it('still answers healthy without the identity where pg_control_system() is not allowed', async () => {
      // In a database of its own: the revoke must not reach other suites sharing the server.
      const suffix = Math.random().toString(16).slice(2, 10);
      const database = `health_no_control_${suffix}`;
      const role = `health_no_control_${suffix}`;
      const admin = new Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN`);
        await admin.query(`CREATE DATABASE ${database}`);
        const url = new URL(POSTGRES_URL);
        url.pathname = `/${database}`;
        const owner = new Client({ connectionString: url.toString() });
        await owner.connect();
        await owner.query('REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC');
        await owner.end();
        url.username = role;
        const result = await checker.check({ kind: 'postgres', url: url.toString() }, 5000);
        expect(result).toMatchObject({ healthy: true, reach: 'answers', identity: null });
        expect(result.detail).toContain('system identifier unreadable');
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    });

    it('is healthy through an env: reference resolved at use', async () => {
      const config = healthSchema.parse('env:HEALTH_DB_URL');
      const target = toHealthTarget(config, { HEALTH_DB_URL: POSTGRES_URL });
      expect(target).toEqual({ kind: 'postgres', url: POSTGRES_URL });
      expect((await checker.check(target, 5000)).healthy).toBe(true);
    });

    it('is unhealthy with ECONNREFUSED on a port nobody listens on, without the password', async () => {
      const port = await freePort();
      const url = `postgres://admin:${PASSWORD}@127.0.0.1:${port}/postgres`;
      const result = await checker.check({ kind: 'postgres', url }, 3000);
      expect(result).toMatchObject({ healthy: false, reach: 'refused', identity: null });
      expect(result.detail).toContain('ECONNREFUSED');
      expect(result.detail).not.toContain(PASSWORD);
      expect(result.detail).not.toContain(url);
    });

    it('is unhealthy (timeout) when the port accepts but never speaks PostgreSQL', async () => {
      const sockets = new Set<Socket>();
      const silent = createTcpServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      const port = await listen(silent);
      try {
        const url = `postgres://admin:${PASSWORD}@127.0.0.1:${port}/postgres`;
        const started = Date.now();
        const result = await checker.check({ kind: 'postgres', url }, 400);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(result).toMatchObject({ healthy: false, reach: 'timeout' });
        expect(result.detail).toMatch(/timeout/i);
        expect(result.detail).not.toContain(PASSWORD);
      } finally {
        for (const socket of sockets) socket.destroy();
        await close(silent);
      }
    });

    it('never puts the password in the detail, whatever the server says', async () => {
      // The test server trusts loopback or refuses the user; either way the password stays out.
      const url = withPassword(POSTGRES_URL.replace('//postgres@', '//no_such_user_health@'), PASSWORD);
      const result = await checker.check({ kind: 'postgres', url }, 5000);
      expect(result.detail).not.toContain(PASSWORD);
      expect(result.detail).not.toContain(url);
      // A server that turns the login away runs: never proof that it is down.
      expect(result).toMatchObject({ healthy: false, reach: 'rejected' });
    });

    it('classifies every ending as PgReplication.reach does (one classification)', async () => {
      const replication = new PgReplication({ connectTimeoutMs: 1000 });
      const port = await freePort();
      const sockets = new Set<Socket>();
      const silent = createTcpServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      const silentPort = await listen(silent);
      const urls = [
        POSTGRES_URL,
        `postgres://postgres@127.0.0.1:${port}/postgres`,
        POSTGRES_URL.replace('//postgres@', '//no_such_user_health@'),
        `postgres://postgres@127.0.0.1:${silentPort}/postgres`,
      ];
      try {
        const seen: string[] = [];
        for (const url of urls) {
          const [health, reach] = await Promise.all([
            checker.check({ kind: 'postgres', url }, 1000),
            replication.reach(url),
          ]);
          expect(health.reach).toBe(reach);
          seen.push(reach);
        }
        expect(seen).toEqual(['answers', 'refused', 'rejected', 'timeout']);
      } finally {
        for (const socket of sockets) socket.destroy();
        await close(silent);
      }
    });

    it('reports a malformed URL as unhealthy instead of throwing', async () => {
      const result = await checker.check({ kind: 'postgres', url: `postgres://u:${PASSWORD}@[bad/x` }, 1000);
      expect(result.healthy).toBe(false);
      expect(result.detail).not.toContain(PASSWORD);
    });
  });

  describe('tcp', () => {
    it('is healthy when something accepts the connection', async () => {
      const server = createTcpServer((socket) => socket.end());
      const port = await listen(server);
      try {
        const result = await checker.check({ kind: 'tcp', host: LOOPBACK, port }, 2000);
        expect(result).toEqual({
          healthy: true,
          reach: 'answers',
          identity: null,
          detail: 'accepted a connection',
          latencyMs: expect.any(Number),
        });
      } finally {
        await close(server);
      }
    });

    it('is healthy on the real PostgreSQL port', async () => {
      const { hostname, port } = new URL(POSTGRES_URL);
      const result = await checker.check({ kind: 'tcp', host: hostname, port: Number(port || 5432) }, 2000);
      expect(result.healthy).toBe(true);
    });

    it('is unhealthy with ECONNREFUSED on a port nobody listens on', async () => {
      const port = await freePort();
      const result = await checker.check({ kind: 'tcp', host: LOOPBACK, port }, 2000);
      expect(result).toMatchObject({ healthy: false, reach: 'refused' });
      expect(result.detail).toContain('ECONNREFUSED');
    });
  });

  describe('http', () => {
    let server: HttpServer;
    let port: number;
    let status = 200;
    let lastRequest: IncomingMessage | undefined;

    beforeAll(async () => {
      server = createHttpServer((request, response) => {
        lastRequest = request;
        response.writeHead(status, { 'content-type': 'text/plain' });
        response.end(status === 200 ? 'ok' : 'unavailable');
      });
      port = await listen(server);
    });

    afterAll(async () => {
      server.closeAllConnections();
      await close(server);
    });

    it('is healthy on 200, then unhealthy with HTTP 503', async () => {
      const url = `http://127.0.0.1:${port}/healthz`;
      status = 200;
      const up = await checker.check({ kind: 'http', url }, 2000);
      expect(up).toEqual({
        healthy: true,
        reach: 'answers',
        identity: null,
        detail: 'HTTP 200 OK',
        latencyMs: expect.any(Number),
      });
      expect(lastRequest?.url).toBe('/healthz');

      status = 503;
      const down = await checker.check({ kind: 'http', url }, 2000);
      // Unhealthy, but something answered there: not proof that the database is down.
      expect(down).toMatchObject({ healthy: false, reach: 'answers' });
      expect(down.detail).toContain('HTTP 503');
    });

    it('sends credentials of an env: URL as Basic authorization, never in the detail', async () => {
      status = 503;
      const url = `http://monitor:${PASSWORD}@127.0.0.1:${port}/status`;
      const target = toHealthTarget(healthSchema.parse('env:HEALTH_HTTP_URL'), { HEALTH_HTTP_URL: url });
      expect(target).toEqual({ kind: 'http', url });
      const result = await checker.check(target, 2000);
      expect(result.healthy).toBe(false);
      expect(result.detail).toBe('HTTP 503 Service Unavailable');
      expect(lastRequest?.headers.authorization).toBe(
        `Basic ${Buffer.from(`monitor:${PASSWORD}`).toString('base64')}`,
      );
    });

    it('is unhealthy with ECONNREFUSED on a port nobody listens on', async () => {
      const free = await freePort();
      const result = await checker.check({ kind: 'http', url: `http://127.0.0.1:${free}/` }, 2000);
      // fetch wraps the socket's error: the code under it decides.
      expect(result).toMatchObject({ healthy: false, reach: 'refused' });
      expect(result.detail).toContain('ECONNREFUSED');
    });

    it('times out, unhealthy, within the timeout when the server accepts but never answers', async () => {
      const sockets = new Set<Socket>();
      const silent = createTcpServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      const silentPort = await listen(silent);
      try {
        const started = Date.now();
        const result = await checker.check({ kind: 'http', url: `http://127.0.0.1:${silentPort}/` }, 300);
        const elapsed = Date.now() - started;
        expect(result).toMatchObject({ healthy: false, reach: 'timeout' });
        expect(result.detail).toBe('timeout after 300 ms');
        expect(elapsed).toBeGreaterThanOrEqual(250);
        expect(elapsed).toBeLessThan(1500);
      } finally {
        for (const socket of sockets) socket.destroy();
        await close(silent);
      }
    });
  });
});
