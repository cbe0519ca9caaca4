// A loopback TCP proxy whose answers arrive late: a server that is up but slow to reply (a loaded
// Sentinel, a long network path). Requests pass at once; each reply chunk waits `delayMs`, in order.
import { connect, createServer, type Socket } from 'node:net';

export interface SlowTcpProxy {
  port: number;
  /** How long each reply chunk is held from now on. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowTcpProxy(upstreamPort: number): Promise<SlowTcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let releaseAt = 0;
    const held = new Set<NodeJS.Timeout>();
    upstream.on('data', (chunk) => {
      releaseAt = Math.max(releaseAt, Date.now() + proxy.delayMs);
      const timer = setTimeout(() => {
        held.delete(timer);
        if (client.writable) client.write(chunk);
      }, releaseAt - Date.now());
      held.add(timer);
    });
    client.on('data', (chunk) => upstream.write(chunk));
    const end = () => {
      // Replies still held are dropped with the connection, as a slow network would drop them.
      for (const timer of held) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxy: SlowTcpProxy = {
    port: typeof address === 'object' && address ? address.port : 0,
    delayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
