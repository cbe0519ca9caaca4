// Throwaway local PostgreSQL clusters on free loopback ports: a standalone cluster, and a primary with a
// streaming standby. Used by `npm run demo` and by the replication tests.
//
// Each cluster (or pair) lives in its own fresh `cutover-pg…-XXXXXX` folder (data dirs, unix sockets,
// logs, owner.pid), by default under /tmp, listens on 127.0.0.1 only, and is independent of every other,
// so several can run side by side. initdb and pg_ctl refuse to run as root: as root the tools run as
// the `postgres` user (runuser); as anyone else they run directly as the current user.
//
// Safety net: every cluster of this process is stopped and removed when the process exits, and folders
// whose owning process died without cleaning up (a killed test worker, a SIGKILLed demo) are swept the
// next time a cluster is started.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  type Dirent,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';

import { freeLoopbackPorts, LOOPBACK } from './net';

const TMP = '/tmp';
const HOST = LOOPBACK;
const PAIR_PREFIX = 'cutover-pgpair-';
const CLUSTER_PREFIX = 'cutover-pgcluster-';
/** The folders of a pair and of a standalone cluster (the orphan sweep's default). */
export const CLUSTER_PREFIXES: readonly string[] = [PAIR_PREFIX, CLUSTER_PREFIX];
const OWNER_FILE = 'owner.pid';

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
  /**
   * Folder to create the pair's own folder in (default /tmp). As root it must be traversable by the
   * postgres user (mode 0711 or wider on every parent).
   */
  parentDir?: string;
  /** [primary, standby] ports; default two free ones. */
  ports?: [number, number];
  /** More postgresql.conf lines for both servers (e.g. `max_prepared_transactions = 5`). */
  extraConfig?: string[];
  /** The role the standby streams as (created with REPLICATION LOGIN); default postgres. */
  replicationRole?: string;
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  dataDirs: { root: string; data: string };
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster (immediate) and removes its folder. Idempotent. */
  destroy(): Promise<void>;
}

export interface StartPgClusterOptions {
  /** As for a pair: default /tmp; as root, traversable by the postgres user. */
  parentDir?: string;
  /** Default: a free one. */
  port?: number;
  /** More postgresql.conf lines (e.g. `wal_level = logical`). */
  extraConfig?: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Binaries

/** The tools a pair needs; `postgres` itself is started by pg_ctl from the same folder. */
const REQUIRED_TOOLS = ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres'] as const;

export const PG_BINARIES_MISSING_MESSAGE =
  'PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) were not found. Install them: ' +
  'Debian/Ubuntu `sudo apt-get install postgresql`, macOS `brew install postgresql@16`.';

export class PgBinariesMissingError extends Error {
  constructor() {
    super(PG_BINARIES_MISSING_MESSAGE);
    this.name = 'PgBinariesMissingError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `/usr/lib/postgresql/15/bin` style folders, newest major version first. */
function versionedBinDirs(parent: string, pattern: RegExp, bin: (name: string) => string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, version: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((entry) => Number.isFinite(entry.version))
    .sort((a, b) => b.version - a.version)
    .map((entry) => join(parent, bin(entry.name)));
}

function candidateBinDirs(): string[] {
  const candidates: string[] = [];
  const fromEnv = process.env['PG_BINDIR'];
  if (fromEnv) candidates.push(fromEnv);
  // pg_config may come from the client package alone (libpq-dev): its bindir can lack the server tools.
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0 && pgConfig.stdout.trim() !== '') candidates.push(pgConfig.stdout.trim());
  candidates.push(...versionedBinDirs('/usr/lib/postgresql', /^(\d+)$/, (name) => join(name, 'bin')));
  candidates.push(...versionedBinDirs('/usr', /^pgsql-(\d+)$/, (name) => join(name, 'bin')));
  for (const brew of ['/opt/homebrew/opt', '/usr/local/opt']) {
    candidates.push(...versionedBinDirs(brew, /^postgresql@(\d+)$/, (name) => join(name, 'bin')));
  }
  candidates.push(...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== ''));
  return candidates;
}

let cachedBinDir: string | undefined;

/** The first of `candidates` holding initdb, pg_ctl, pg_basebackup and postgres. */
export function pgBinDirAmong(candidates: readonly string[]): string {
  const found = candidates.find((dir) => REQUIRED_TOOLS.every((tool) => isExecutable(join(dir, tool))));
  if (found === undefined) throw new PgBinariesMissingError();
  return found;
}

/**
 * The server binaries' folder: PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/<newest>/bin,
 * /usr/pgsql-<n>/bin, Homebrew's postgresql@<n>, then PATH. Throws PgBinariesMissingError.
 */
export function findPgBinDir(): string {
  cachedBinDir ??= pgBinDirAmong(candidateBinDirs());
  return cachedBinDir;
}

// ---------------------------------------------------------------------------------------------------------
// Processes

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** As root: the postgres user's ids (the tools run as it, and it must own the clusters' folders). */
function postgresIds(): { uid: number; gid: number } {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // handled below
  }
  const fields = passwd
    .split('\n')
    .find((line) => line.startsWith('postgres:'))
    ?.split(':');
  if (!fields || fields.length < 4) {
    throw new Error(
      'PostgreSQL refuses to run as root and there is no `postgres` user to run it as: ' +
        'run this as a normal user, or create the user (the postgresql package does).',
    );
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** runuser by full path where it usually lives (root's PATH may lack sbin), else from PATH. */
function runuserPath(): string {
  return (
    ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser', '/bin/runuser'].find(isExecutable) ?? 'runuser'
  );
}

/** argv running a PostgreSQL tool: as the postgres user when we are root, directly otherwise. */
function toolCommand(tool: string, args: string[]): [string, string[]] {
  const path = join(findPgBinDir(), tool);
  return isRoot ? [runuserPath(), ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

/** The environment must not point the tools at another server (PGHOST, PGPORT, PGDATA...). */
function toolEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}

function run(tool: string, args: string[], cwd: string): Promise<string> {
  const [command, argv] = toolCommand(tool, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd, env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
// Safety net

interface Cluster {
  dir: string;
  log: string;
  socketDir: string;
}

const live = new Map<string, Cluster[]>();
let exitHookInstalled = false;

function stopSync(dataDir: string): void {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
  try {
    const [command, argv] = toolCommand('pg_ctl', [
      'stop',
      '-D',
      dataDir,
      '-m',
      'immediate',
      '-w',
      '-t',
      '10',
    ]);
    spawnSync(command, argv, { cwd: TMP, env: toolEnv(), stdio: 'ignore' });
  } catch {
    // No binaries: nothing of ours can be running.
  }
}

function removeSync(root: string, dataDirs: string[]): void {
  for (const dir of dataDirs) stopSync(dir);
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [root, clusters] of live) {
      removeSync(
        root,
        clusters.map((cluster) => cluster.dir),
      );
    }
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

/** Data directories (folders holding PG_VERSION) at most `depth` levels below `dir`. */
function findDataDirs(dir: string, depth = 4): string[] {
  if (existsSync(join(dir, 'PG_VERSION'))) return [dir];
  if (depth === 0) return [];
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => findDataDirs(join(dir, entry.name), depth - 1));
}

/** The pid in `<folder>/owner.pid`, or null when there is none (yet). */
export function ownerOf(folder: string): number | null {
  try {
    const owner = Number(readFileSync(join(folder, OWNER_FILE), 'utf8').trim());
    return Number.isInteger(owner) && owner > 0 ? owner : null;
  } catch {
    return null;
  }
}

/** Records this process as the owner of `folder`, for the orphan sweep. */
export function claimFolder(folder: string): void {
  writeFileSync(join(folder, OWNER_FILE), `${process.pid}\n`);
}

/**
 * Stops the clusters in, and removes, every folder in `parent` named with one of `prefixes` whose
 * owner.pid names a process that no longer runs (clusters are found up to 4 levels down).
 * `beforeRemove` sees each orphan first (to stop leftovers other than clusters).
 */
export function sweepOrphans(
  parent: string = TMP,
  {
    prefixes = CLUSTER_PREFIXES,
    beforeRemove,
  }: { prefixes?: readonly string[]; beforeRemove?: (folder: string) => void } = {},
): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!prefixes.some((prefix) => name.startsWith(prefix))) continue;
    const root = join(parent, name);
    const owner = ownerOf(root);
    // No owner yet (being created) or a live owner: leave it.
    if (owner === null || processAlive(owner)) continue;
    try {
      beforeRemove?.(root);
      removeSync(root, findDataDirs(root));
    } catch {
      // Another process is removing it: leave it.
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Building blocks

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

/** A fresh folder (mode 0700, owned by whoever runs the tools) with one socket folder per cluster. */
function createRoot(
  parentDir: string,
  prefix: string,
  names: string[],
): { root: string; clusters: Cluster[] } {
  // Fails with a clear error before creating anything when PostgreSQL is not installed.
  findPgBinDir();
  const ids = isRoot ? postgresIds() : null;
  const root = mkdtempSync(join(parentDir, prefix));
  claimFolder(root);
  const clusters = names.map((name) => ({
    dir: join(root, name),
    log: join(root, `${name}.log`),
    socketDir: join(root, `sock-${name}`),
  }));
  for (const cluster of clusters) mkdirSync(cluster.socketDir, { mode: 0o700 });
  if (ids) {
    for (const path of [root, join(root, OWNER_FILE), ...clusters.map((cluster) => cluster.socketDir)]) {
      chownSync(path, ids.uid, ids.gid);
    }
  }
  live.set(root, clusters);
  return { root, clusters };
}

function discard(root: string, clusters: Cluster[]): void {
  removeSync(
    root,
    clusters.map((cluster) => cluster.dir),
  );
  live.delete(root);
}

function controls(root: string): {
  start: (cluster: Cluster) => Promise<void>;
  startOnPort: (cluster: Cluster, port: number, ours: boolean) => Promise<number>;
  stop: (cluster: Cluster, mode: 'fast' | 'immediate') => Promise<void>;
} {
  const pgCtl = (cluster: Cluster, args: string[]) => run('pg_ctl', [...args, '-D', cluster.dir], root);
  const start = async (cluster: Cluster): Promise<void> => {
    try {
      await pgCtl(cluster, ['start', '-w', '-t', '30', '-l', cluster.log]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${cluster.log} ---\n${logTail(cluster.log)}`, {
        cause: error,
      });
    }
  };
  /**
   * Starts a new cluster on `port`, which this process chose as free when `ours`. A port is only
   * free when asked: another process (a parallel test suite, a pooler) may bind it before the
   * postmaster does. Then the cluster moves to another free port (its own postgresql.auto.conf,
   * read last) and starts again, up to three times. Returns the port it listens on.
   */
  const startOnPort = async (cluster: Cluster, port: number, ours: boolean): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await start(cluster);
        return port;
      } catch (error) {
        const taken = /could not bind .*Address already in use/.test(logTail(cluster.log));
        if (!ours || !taken || attempt >= 3) throw error;
        const [next] = await freeLoopbackPorts(1);
        if (next === undefined) throw error;
        port = next;
        setPort(cluster, port);
      }
    }
  };
  const stop = async (cluster: Cluster, mode: 'fast' | 'immediate'): Promise<void> => {
    if (!existsSync(join(cluster.dir, 'postmaster.pid'))) return;
    await pgCtl(cluster, ['stop', '-w', '-t', '30', '-m', mode]);
  };
  return { start, startOnPort, stop };
}

/** initdb plus a loopback-only configuration (trust authentication: throwaway clusters only). */
/** Moves a stopped cluster to `port`: postgresql.auto.conf is read last, so its line wins. */
function setPort(cluster: Cluster, port: number): void {
  const autoConf = join(cluster.dir, 'postgresql.auto.conf');
  const kept = existsSync(autoConf)
    ? readFileSync(autoConf, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !/^\s*port\s*=/.test(line))
    : [];
  writeFileSync(autoConf, [...kept, `port = ${port}`, ''].join('\n'));
}

async function initCluster(root: string, cluster: Cluster, port: number, extra: string[]): Promise<void> {
  const initdbFlags = '-U postgres -A trust -E UTF8 --locale=C -N --no-instructions';
  await run('initdb', ['-D', cluster.dir, ...initdbFlags.split(' ')], root);
  writeFileSync(
    join(cluster.dir, 'pg_hba.conf'),
    [
      'local all all trust',
      `host all all ${HOST}/32 trust`,
      `host replication all ${HOST}/32 trust`,
      '',
    ].join('\n'),
  );
  const conf = [
    '',
    '# cutover-bot throwaway cluster',
    `listen_addresses = '${HOST}'`,
    `port = ${port}`,
    `unix_socket_directories = '${cluster.socketDir}'`,
    'shared_buffers = 16MB',
    'max_connections = 40',
    'fsync = off # throwaway clusters only',
    'full_page_writes = on',
    ...extra,
    '',
  ].join('\n');
  const confPath = join(cluster.dir, 'postgresql.conf');
  writeFileSync(confPath, readFileSync(confPath, 'utf8') + conf);
}

// ---------------------------------------------------------------------------------------------------------
// A standalone cluster

export async function startPgCluster(options: StartPgClusterOptions = {}): Promise<PgCluster> {
  const parentDir = options.parentDir ?? TMP;
  sweepOrphans(TMP);
  installExitHook();
  let [port] = options.port !== undefined ? [options.port] : await freeLoopbackPorts(1);
  if (port === undefined) throw new Error('no free port');
  const { root, clusters } = createRoot(parentDir, CLUSTER_PREFIX, ['data']);
  const [cluster] = clusters as [Cluster];
  const { start, startOnPort, stop } = controls(root);
  try {
    await initCluster(root, cluster, port, options.extraConfig ?? []);
    port = await startOnPort(cluster, port, options.port === undefined);
  } catch (error) {
    discard(root, clusters);
    throw error;
  }
  let destroyed = false;
  return {
    url: urlFor(port),
    port,
    dataDirs: { root, data: cluster.dir },
    stop: (mode = 'fast') => stop(cluster, mode),
    start: () => start(cluster),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop(cluster, 'immediate').catch(() => undefined);
      discard(root, clusters);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The pair

export async function startPgPair(options: StartPgPairOptions = {}): Promise<PgPair> {
  const walLogHints = options.walLogHints ?? true;
  const parentDir = options.parentDir ?? TMP;
  sweepOrphans(TMP);
  installExitHook();

  let [primaryPort, standbyPort] = options.ports ?? (await freeLoopbackPorts(2));
  if (primaryPort === undefined || standbyPort === undefined) throw new Error('no free ports');
  const { root, clusters } = createRoot(parentDir, PAIR_PREFIX, ['primary', 'standby']);
  const [primary, standby] = clusters as [Cluster, Cluster];
  const { start, startOnPort, stop } = controls(root);
  const portsOurs = options.ports === undefined;

  try {
    await initCluster(root, primary, primaryPort, [
      'wal_level = replica',
      'max_wal_senders = 5',
      'max_replication_slots = 5',
      'wal_keep_size = 64MB',
      'hot_standby = on',
      `wal_log_hints = ${walLogHints ? 'on' : 'off'}`,
      'wal_receiver_status_interval = 1s',
      ...(options.extraConfig ?? []),
    ]);
    primaryPort = await startOnPort(primary, primaryPort, portsOurs);
    const replicationRole = options.replicationRole ?? 'postgres';
    if (replicationRole !== 'postgres') {
      await query(
        urlFor(primaryPort),
        `CREATE ROLE "${replicationRole.replace(/"/g, '""')}" REPLICATION LOGIN`,
      );
    }

    // The base backup copies postgresql.conf (with the primary's port and socket folder); -R writes
    // primary_conninfo and standby.signal. postgresql.auto.conf is read last, so it overrides both.
    const source = ['-h', HOST, '-p', String(primaryPort), '-U', replicationRole, '-w'];
    await run('pg_basebackup', [...source, '-D', standby.dir, ...'-R -X stream -c fast -N'.split(' ')], root);
    const autoConf = join(standby.dir, 'postgresql.auto.conf');
    const kept = readFileSync(autoConf, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(primary_conninfo|port|unix_socket_directories)\s*=/.test(line));
    writeFileSync(
      autoConf,
      [
        ...kept.filter((line) => line.trim() !== ''),
        `primary_conninfo = 'host=${HOST} port=${primaryPort} user=${replicationRole} application_name=standby1'`,
        `port = ${standbyPort}`,
        `unix_socket_directories = '${standby.socketDir}'`,
        '',
      ].join('\n'),
    );
    standbyPort = await startOnPort(standby, standbyPort, portsOurs);
  } catch (error) {
    discard(root, clusters);
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
    discard(root, clusters);
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
      discard(root, clusters);
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
  /** Writes to another server from the next statement on (a client repointed after a cutover). */
  moveTo(url: string): void;
  /** Stops the loop and closes its connection. */
  stop(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The application role the writer logs in as: an application never shares the bot's role. */
export const WRITER_ROLE = 'app_writer';

/**
 * Creates `table` (id serial, payload) if needed, then inserts rows one at a time on its own connection
 * as `role` (created if missing) until stopped; after an error other than a plain ERROR (FATAL, a lost
 * or refused connection) it reconnects.
 */
export async function startWriter(
  url: string,
  table: string,
  {
    intervalMs = 2,
    role = WRITER_ROLE,
    through = url,
  }: {
    intervalMs?: number;
    role?: string;
    /** Where the inserts go (a pooler in front of `url`); the setup always goes to `url` itself. */
    through?: string;
  } = {},
): Promise<Writer> {
  const target = quoteIdent(table);
  await query(
    url,
    `DO $writer$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role.replace(/'/g, "''")}') THEN
         CREATE ROLE ${quoteIdent(role)} LOGIN;
       END IF;
     END $writer$`,
  );
  await query(url, `CREATE TABLE IF NOT EXISTS ${target} (id serial PRIMARY KEY, payload text NOT NULL)`);
  await query(url, `GRANT INSERT, SELECT ON ${target} TO ${quoteIdent(role)}`);
  await query(url, `GRANT USAGE ON SEQUENCE ${quoteIdent(`${table}_id_seq`)} TO ${quoteIdent(role)}`);
  const asRole = (server: string) => {
    const withRole = new URL(server);
    withRole.username = role;
    return withRole.toString();
  };
  let writerUrl = asRole(through);
  let moved = false;

  const acknowledged: number[] = [];
  const errors: Record<string, number> = {};
  let refused = 0;
  let stopped = false;
  let wake: (() => void) | null = null;
  // Sleeps that stop() cuts short, so a slow writer stops at once.
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  const loop = async () => {
    let client: Client | null = null;
    let n = 0;
    while (!stopped) {
      try {
        if (moved && client !== null) {
          const old: Client = client;
          client = null;
          await old.end().catch(() => undefined);
        }
        moved = false;
        if (client === null) {
          client = new Client({ connectionString: writerUrl, connectionTimeoutMillis: 2000 });
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
        if (!stopped) await pause(10);
      }
      if (intervalMs > 0 && !stopped) await pause(intervalMs);
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
    moveTo(server: string) {
      writerUrl = asRole(server);
      moved = true;
    },
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
}
