// A real PostgreSQL primary + streaming standby on free loopback ports, for replication tests.
//
// Each pair lives in its own fresh /tmp/cutover-pgpair-XXXXXX folder (data dirs, unix sockets, logs), listens
// on 127.0.0.1 only, and is independent of every other pair, so test files can run pairs side by side.
// As root, the PostgreSQL tools run as the `postgres` user (initdb and pg_ctl refuse root).
import { spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';

const PAIR_PREFIX = 'cutover-pgpair-';
const TMP = '/tmp';
const HOST = '127.0.0.1';

export interface PgPair {
  primaryUrl: string;
  standbyUrl: string;
  primaryPort: number;
  standbyPort: number;
  dataDirs: { root: string; primary: string; standby: string };
  stopPrimary(mode?: 'fast' | 'immediate'): Promise<void>;
  startPrimary(): Promise<void>;
  stopStandby(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the standby and waits until it accepts connections (not until it streams: see waitStreaming). */
  startStandby(): Promise<void>;
  /** Waits until the primary's pg_stat_replication shows `standby1` streaming. */
  waitStreaming(timeoutMs?: number): Promise<void>;
  /** pg_wal_replay_pause() on the standby; resolves once replay is actually paused. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops both clusters (immediate) and removes the folder. Idempotent. */
  destroy(): Promise<void>;
}

export interface StartPgPairOptions {
  /** wal_log_hints (lets pg_rewind re-attach the old primary later); default on. */
  walLogHints?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Processes

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let cachedBinDir: string | undefined;
function binDir(): string {
  if (cachedBinDir !== undefined) return cachedBinDir;
  const fromEnv = process.env['PG_BINDIR'];
  if (fromEnv) return (cachedBinDir = fromEnv);
  const result = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = result.status === 0 ? result.stdout.trim() : '';
  cachedBinDir = dir !== '' && existsSync(join(dir, 'initdb')) ? dir : '/usr/lib/postgresql/15/bin';
  return cachedBinDir;
}

/** argv running a PostgreSQL tool as the postgres user (directly when we are not root). */
function asPostgres(tool: string, args: string[]): [string, string[]] {
  const path = join(binDir(), tool);
  return isRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

function run(tool: string, args: string[], cwd: string): Promise<string> {
  const [command, argv] = asPostgres(tool, args);
  return new Promise((resolve, reject) => {
    // The environment must not point the tools at another server.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
    const child = spawn(command, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${tool} ${args.join(' ')} exited with ${String(code)}: ${output.trim()}`));
    });
  });
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) throw new Error('no postgres user in /etc/passwd');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Two distinct ports nobody listens on right now (bind port 0 on the loopback address, release). */
function freePorts(): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const servers = [createServer(), createServer()];
    const ports: number[] = [];
    let pending = servers.length;
    const closeAll = () => servers.forEach((s) => s.close());
    for (const server of servers) {
      server.once('error', (error) => {
        closeAll();
        reject(error);
      });
      server.listen(0, HOST, () => {
        const address = server.address();
        if (address && typeof address === 'object') ports.push(address.port);
        if (--pending === 0) {
          closeAll();
          const [a, b] = ports;
          if (a === undefined || b === undefined) reject(new Error('no free ports'));
          else resolve([a, b]);
        }
      });
    }
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function query<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function poll(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 10) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
      last = 'not yet';
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Safety net: stop and remove every pair of this process when it exits, and sweep pairs whose owning
// process died without cleaning up (a killed Jest worker).

interface Cluster {
  dir: string;
  log: string;
}

const live = new Map<string, Cluster[]>();
let exitHookInstalled = false;

function stopSync(cluster: Cluster): void {
  if (!existsSync(join(cluster.dir, 'postmaster.pid'))) return;
  const [command, argv] = asPostgres('pg_ctl', [
    'stop',
    '-D',
    cluster.dir,
    '-m',
    'immediate',
    '-w',
    '-t',
    '10',
  ]);
  spawnSync(command, argv, { cwd: TMP, stdio: 'ignore' });
}

function removeSync(root: string, clusters: Cluster[]): void {
  for (const cluster of clusters) stopSync(cluster);
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [root, clusters] of live) removeSync(root, clusters);
    live.clear();
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sweepOrphans(): void {
  for (const name of readdirSync(TMP)) {
    if (!name.startsWith(PAIR_PREFIX)) continue;
    const root = join(TMP, name);
    try {
      const owner = Number(readFileSync(join(root, 'owner.pid'), 'utf8').trim());
      if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
      removeSync(root, [
        { dir: join(root, 'primary'), log: '' },
        { dir: join(root, 'standby'), log: '' },
      ]);
    } catch {
      // Another process is creating or removing it: leave it.
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The pair

function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function urlFor(port: number): string {
  return `postgres://postgres@${HOST}:${port}/postgres`;
}

export async function startPgPair(options: StartPgPairOptions = {}): Promise<PgPair> {
  const walLogHints = options.walLogHints ?? true;
  sweepOrphans();
  installExitHook();

  const [primaryPort, standbyPort] = await freePorts();
  // Everything of the pair lives in one fresh folder (mode 0700) owned by postgres: data dirs, one socket
  // folder per cluster, logs, and owner.pid (the sweep of orphans reads it).
  const root = mkdtempSync(join(TMP, PAIR_PREFIX));
  const socketDir = (name: 'primary' | 'standby') => join(root, `sock-${name}`);
  writeFileSync(join(root, 'owner.pid'), `${process.pid}\n`);
  mkdirSync(socketDir('primary'), { mode: 0o700 });
  mkdirSync(socketDir('standby'), { mode: 0o700 });
  if (isRoot) {
    const { uid, gid } = postgresIds();
    for (const path of [root, join(root, 'owner.pid'), socketDir('primary'), socketDir('standby')]) {
      chownSync(path, uid, gid);
    }
  }
  const primary: Cluster = { dir: join(root, 'primary'), log: join(root, 'primary.log') };
  const standby: Cluster = { dir: join(root, 'standby'), log: join(root, 'standby.log') };
  live.set(root, [primary, standby]);

  const pgCtl = (cluster: Cluster, args: string[]) => run('pg_ctl', [...args, '-D', cluster.dir], root);
  const start = async (cluster: Cluster) => {
    try {
      await pgCtl(cluster, ['start', '-w', '-t', '30', '-l', cluster.log]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${cluster.log} ---\n${logTail(cluster.log)}`, {
        cause: error,
      });
    }
  };
  const stop = async (cluster: Cluster, mode: 'fast' | 'immediate') => {
    if (!existsSync(join(cluster.dir, 'postmaster.pid'))) return;
    await pgCtl(cluster, ['stop', '-w', '-t', '30', '-m', mode]);
  };

  try {
    const initdbFlags = '-U postgres -A trust -E UTF8 --locale=C -N --no-instructions';
    await run('initdb', ['-D', primary.dir, ...initdbFlags.split(' ')], root);
    writeFileSync(
      join(primary.dir, 'pg_hba.conf'),
      [
        'local all all trust',
        `host all all ${HOST}/32 trust`,
        `host replication all ${HOST}/32 trust`,
        '',
      ].join('\n'),
    );
    const conf = [
      '',
      '# cutover-bot test pair',
      `listen_addresses = '${HOST}'`,
      `port = ${primaryPort}`,
      `unix_socket_directories = '${socketDir('primary')}'`,
      'wal_level = replica',
      'max_wal_senders = 5',
      'max_replication_slots = 5',
      'wal_keep_size = 64MB',
      'hot_standby = on',
      `wal_log_hints = ${walLogHints ? 'on' : 'off'}`,
      'wal_receiver_status_interval = 1s',
      'shared_buffers = 16MB',
      'max_connections = 40',
      'fsync = off # tests only',
      'full_page_writes = on',
      '',
    ].join('\n');
    writeFileSync(
      join(primary.dir, 'postgresql.conf'),
      readFileSync(join(primary.dir, 'postgresql.conf'), 'utf8') + conf,
    );
    await start(primary);

    // The base backup copies postgresql.conf (with the primary's port and socket folder); -R writes
    // primary_conninfo and standby.signal. postgresql.auto.conf is read last, so it overrides both.
    const source = ['-h', HOST, '-p', String(primaryPort), '-U', 'postgres', '-w'];
    await run('pg_basebackup', [...source, '-D', standby.dir, ...'-R -X stream -c fast -N'.split(' ')], root);
    const autoConf = join(standby.dir, 'postgresql.auto.conf');
    const kept = readFileSync(autoConf, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(primary_conninfo|port|unix_socket_directories)\s*=/.test(line));
    writeFileSync(
      autoConf,
      [
        ...kept.filter((line) => line.trim() !== ''),
        `primary_conninfo = 'host=${HOST} port=${primaryPort} user=postgres application_name=standby1'`,
        `port = ${standbyPort}`,
        `unix_socket_directories = '${socketDir('standby')}'`,
        '',
      ].join('\n'),
    );
    await start(standby);
  } catch (error) {
    removeSync(root, [primary, standby]);
    live.delete(root);
    throw error;
  }

  const primaryUrl = urlFor(primaryPort);
  const standbyUrl = urlFor(standbyPort);

  async function waitStreamingOn(timeoutMs = 15_000): Promise<void> {
    await poll(
      'standby1 streaming on the primary',
      async () =>
        (
          await query<{ state: string }>(
            primaryUrl,
            "SELECT state FROM pg_stat_replication WHERE application_name = 'standby1' AND state = 'streaming'",
          )
        ).length > 0,
      timeoutMs,
    );
  }
  try {
    await waitStreamingOn();
  } catch (error) {
    removeSync(root, [primary, standby]);
    live.delete(root);
    throw new Error(`${(error as Error).message}\n--- standby log ---\n${logTail(standby.log)}`, {
      cause: error,
    });
  }

  let destroyed = false;
  return {
    primaryUrl,
    standbyUrl,
    primaryPort,
    standbyPort,
    dataDirs: { root, primary: primary.dir, standby: standby.dir },
    stopPrimary: (mode = 'fast') => stop(primary, mode),
    startPrimary: () => start(primary),
    stopStandby: (mode = 'fast') => stop(standby, mode),
    startStandby: () => start(standby),
    waitStreaming: waitStreamingOn,
    async pauseReplay() {
      await query(standbyUrl, 'SELECT pg_wal_replay_pause()');
      await poll(
        'replay paused',
        async () =>
          (await query<{ state: string }>(standbyUrl, 'SELECT pg_get_wal_replay_pause_state() AS state'))[0]
            ?.state === 'paused',
        5000,
        5,
      );
    },
    async resumeReplay() {
      await query(standbyUrl, 'SELECT pg_wal_replay_resume()');
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all([stop(primary, 'immediate'), stop(standby, 'immediate')]).catch(() => undefined);
      removeSync(root, [primary, standby]);
      live.delete(root);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// A continuous writer

export interface Writer {
  /** Ids whose INSERT the server acknowledged (committed), in order. */
  readonly acknowledged: number[];
  /** Attempts that failed (refused write, lost connection, failed connect). */
  readonly refused: number;
  /** Failures by SQLSTATE (or error code / message when there is none). */
  readonly errors: Record<string, number>;
  /** Stops the loop and closes its connection. */
  stop(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates `table` (id serial, payload) if needed, then inserts rows one at a time on its own connection
 * until stopped; after an error other than a plain ERROR (FATAL, a lost or refused connection) it
 * reconnects.
 */
export async function startWriter(
  url: string,
  table: string,
  { intervalMs = 2 }: { intervalMs?: number } = {},
): Promise<Writer> {
  const target = quoteIdent(table);
  await query(url, `CREATE TABLE IF NOT EXISTS ${target} (id serial PRIMARY KEY, payload text NOT NULL)`);

  const acknowledged: number[] = [];
  const errors: Record<string, number> = {};
  let refused = 0;
  let stopped = false;

  const loop = async () => {
    let client: Client | null = null;
    let n = 0;
    while (!stopped) {
      try {
        if (client === null) {
          client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
          client.on('error', () => undefined);
          await client.connect();
        }
        const result = await client.query<{ id: number }>(
          `INSERT INTO ${target} (payload) VALUES ($1) RETURNING id`,
          [`row ${++n}`],
        );
        const id = result.rows[0]?.id;
        if (id !== undefined) acknowledged.push(id);
      } catch (error) {
        refused++;
        const e = error as { code?: unknown; message?: unknown };
        const key = typeof e.code === 'string' ? e.code : String(e.message);
        errors[key] = (errors[key] ?? 0) + 1;
        // An ERROR (a refused write) leaves the session usable; anything else (FATAL, a lost or refused
        // connection) means reconnecting.
        if ((error as { severity?: unknown }).severity !== 'ERROR') {
          const old: Client | null = client;
          client = null;
          await old?.end().catch(() => undefined);
        }
        await sleep(10);
      }
      if (intervalMs > 0) await sleep(intervalMs);
    }
    await client?.end().catch(() => undefined);
  };
  const done = loop();

  return {
    acknowledged,
    get refused() {
      return refused;
    },
    errors,
    async stop() {
      stopped = true;
      await done;
    },
  };
}
