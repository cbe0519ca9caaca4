// Redis for the demo: the one REDIS_URL names when it answers and never evicts, or a throwaway
// redis-server of our own on a free loopback port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import IORedis from 'ioredis';

import { LOOPBACK } from './net';

export const REDIS_MISSING_MESSAGE =
  'Redis is needed for the bot’s job queue, and `redis-server` was not found on PATH. Install it: ' +
  'Debian/Ubuntu `sudo apt-get install redis-server`, macOS `brew install redis`; ' +
  'or set REDIS_URL to a Redis whose maxmemory-policy is noeviction.';

export class RedisMissingError extends Error {
  constructor(detail?: string) {
    super(detail ? `${REDIS_MISSING_MESSAGE}\n(${detail})` : REDIS_MISSING_MESSAGE);
    this.name = 'RedisMissingError';
  }
}

export interface DemoRedis {
  url: string;
  /** True when this process started the server (and stop() stops it). */
  started: boolean;
  /** What to print: host:port, never a password. */
  describe: string;
  /** Removes the keys of one BullMQ queue (a shared Redis is left as we found it). */
  removeQueue(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** host:port/db of a Redis URL, without credentials. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    const db = parsed.pathname.replace(/^\//, '');
    return `${parsed.hostname}:${parsed.port || '6379'}${db ? `/${db}` : ''}`;
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

function probeConnection(url: string, onError: (error: Error) => void = () => undefined): IORedis {
  const client = new IORedis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', onError);
  return client;
}

/** Null when `url` answers PING and never evicts; otherwise why not. */
export async function unusableReason(url: string): Promise<string | null> {
  // ioredis rejects with "Connection is closed."; the socket's own error says why (ECONNREFUSED...).
  let socketError: Error | undefined;
  const client = probeConnection(url, (error) => (socketError ??= error));
  try {
    await client.connect();
    if ((await client.ping()) !== 'PONG') return 'it does not answer PING';
    let policy: string | undefined;
    try {
      policy = ((await client.call('CONFIG', 'GET', 'maxmemory-policy')) as string[])[1];
    } catch {
      return 'its maxmemory-policy cannot be read (CONFIG GET refused)';
    }
    return policy === 'noeviction' ? null : `its maxmemory-policy is ${String(policy)}, not noeviction`;
  } catch (error) {
    return `it does not answer (${(socketError ?? (error as Error)).message})`;
  } finally {
    client.disconnect();
  }
}

export function redisServerOnPath(): boolean {
  const result = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function removeQueueKeys(url: string, queue: string): Promise<void> {
  const client = probeConnection(url);
  try {
    await client.connect();
    // BullMQ's default key prefix is `bull`; a queue's keys are bull:<queue>:*.
    const pattern = `bull:${queue.replace(/[*?[\]\\]/g, '\\$&')}:*`;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export function useExistingRedis(url: string): DemoRedis {
  return {
    url,
    started: false,
    describe: redisAddress(url),
    removeQueue: (name) => removeQueueKeys(url, name),
    stop: () => Promise.resolve(),
  };
}

const startedServers = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of startedServers) child.kill('SIGKILL');
  });
}

/**
 * Starts `redis-server` on 127.0.0.1:`port` with no persistence, its files in `dir`, and waits until it
 * answers. It runs in its own process group, so a Ctrl-C in the terminal reaches the demo only, and the
 * demo stops it after the bot has let go of it.
 */
export async function startRedisServer(dir: string, port: number): Promise<DemoRedis> {
  if (!redisServerOnPath()) throw new RedisMissingError();
  installExitHook();
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'redis.log');
  const args = [
    '--port',
    String(port),
    '--bind',
    LOOPBACK,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--pidfile',
    join(dir, 'redis.pid'),
    '--logfile',
    log,
  ];
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore', detached: true });
  startedServers.add(child);
  let exited: number | string | null | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? signal;
      startedServers.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      exited = error.message;
      startedServers.delete(child);
      resolve();
    });
  });

  const url = `redis://${LOOPBACK}:${port}`;
  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited !== undefined) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n') : '';
      throw new Error(`redis-server exited at start (${String(exited)})${tail ? `:\n${tail}` : ''}`);
    }
    if ((await unusableReason(url)) === null) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on ${LOOPBACK}:${port} did not answer within 10 s`);
    }
    await sleep(25);
  }
  return {
    url,
    started: true,
    describe: `${LOOPBACK}:${port}`,
    removeQueue: () => Promise.resolve(),
    stop,
  };
}

/** A redis-server a killed demo left behind (its pidfile in `dir`): stop it. Linux only (/proc). */
export function stopLeftoverRedis(dir: string): void {
  try {
    const pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('redis-server')) process.kill(pid, 'SIGTERM');
  } catch {
    // No pidfile, no such process, or no /proc: nothing to do.
  }
}
