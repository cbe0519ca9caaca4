// Loopback ports for the demo's local services.
import { createServer, type Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('no port'));
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `count` distinct ports nobody listens on right now: binds port 0 on the loopback address that many
 * times at once (so the answers differ), then releases them all.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(servers.map((server) => listen(server, 0, LOOPBACK)));
  } finally {
    await Promise.all(servers.map((server) => (server.listening ? close(server) : Promise.resolve())));
  }
}

/** Whether `port` can be bound right now on 0.0.0.0 (where the bot's HTTP server listens). */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    await listen(server, port, '0.0.0.0');
    return true;
  } catch {
    return false;
  } finally {
    if (server.listening) await close(server);
  }
}
