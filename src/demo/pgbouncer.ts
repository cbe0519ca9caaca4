// A throwaway PgBouncer on a free loopback port in front of one PostgreSQL server, for `npm run demo`
// and the tests: one database entry, trust authentication for the listed users, an admin user for
// the console (PAUSE, RESUME, RELOAD). Its ini file is what a repoint hook rewrites.
//
// PgBouncer refuses to run as root: as root it runs as the postgres user (`-u postgres`), in a folder
// that user can read. It is stopped and its folder removed when the process exits.
import { spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { claimFolder, sweepOrphans } from './pg-cluster';
import { freeLoopbackPorts, LOOPBACK } from './net';

const PREFIX = 'cutover-pgbouncer-';
export const PGBOUNCER_ADMIN = 'pgb_admin';

export interface PgBouncer {
  port: number;
  /** The admin console: postgres://pgb_admin@127.0.0.1:<port>/pgbouncer */
  adminUrl: string;
  /** The database entry as `user` would reach it through PgBouncer. */
  clientUrl(user: string): string;
  iniPath: string;
  database: string;
  stop(): Promise<void>;
}

export interface StartPgBouncerOptions {
  /** The server PgBouncer forwards to. */
  host?: string;
  port: number;
  /** The database name clients use (and that PAUSE names); it maps to `dbname` on the server. */
  database?: string;
  serverDatabase?: string;
  poolMode?: 'session' | 'transaction';
  /** Users allowed to log in (trust authentication); the admin user is added. */
  users: string[];
}

const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** The pgbouncer binary, or null when it is not installed. */
export function findPgBouncer(): string | null {
  for (const path of BINARIES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  const which = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const fields = line?.split(':');
  return fields && fields.length >= 4 ? { uid: Number(fields[2]), gid: Number(fields[3]) } : null;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, LOOPBACK, () => done(true));
  });
}

export async function startPgBouncer(options: StartPgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (!binary) throw new Error('pgbouncer is not installed (Debian: apt-get install pgbouncer)');
  sweepOrphans('/tmp', { prefixes: [PREFIX], beforeRemove: stopLeftover });
  const [port] = await freeLoopbackPorts(1);
  if (port === undefined) throw new Error('no free port');
  const dir = mkdtempSync(join('/tmp', PREFIX));
  claimFolder(dir);
  const database = options.database ?? 'app';
  const iniPath = join(dir, 'pgbouncer.ini');
  const users = [...new Set([PGBOUNCER_ADMIN, ...options.users])];
  writeFileSync(join(dir, 'userlist.txt'), users.map((user) => `"${user}" ""`).join('\n') + '\n');
  writeFileSync(
    iniPath,
    [
      '[databases]',
      `${database} = host=${options.host ?? LOOPBACK} port=${options.port} dbname=${options.serverDatabase ?? 'postgres'}`,
      '',
      '[pgbouncer]',
      `listen_addr = ${LOOPBACK}`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `admin_users = ${PGBOUNCER_ADMIN}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      'max_client_conn = 200',
      'default_pool_size = 20',
      'server_connect_timeout = 2',
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const ids = isRoot ? postgresIds() : null;
  if (ids) {
    for (const file of ['', 'pgbouncer.ini', 'userlist.txt', 'owner.pid'])
      chownSync(join(dir, file), ids.uid, ids.gid);
  }
  // -d: daemon, pid file in the folder; the process outlives whoever started it (like a real pooler).
  const args = [...(ids ? ['-u', 'postgres'] : []), '-d', iniPath];
  const started = spawnSync(binary, args, { cwd: dir, encoding: 'utf8' });
  if (started.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer did not start: ${started.stderr || started.stdout}`);
  }
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline) {
      stopLeftover(dir);
      throw new Error(`pgbouncer does not accept connections; see ${join(dir, 'pgbouncer.log')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const onExit = () => stopLeftover(dir);
  process.once('exit', onExit);
  let stopped = false;
  return {
    port,
    adminUrl: `postgres://${PGBOUNCER_ADMIN}@${LOOPBACK}:${port}/pgbouncer`,
    clientUrl: (user) => `postgres://${user}@${LOOPBACK}:${port}/${database}`,
    iniPath,
    database,
    stop: () => {
      if (!stopped) {
        stopped = true;
        process.off('exit', onExit);
        stopLeftover(dir);
      }
      return Promise.resolve();
    },
  };
}

/** Kills the pgbouncer whose pid file is in `dir` (a throwaway: no graceful shutdown) and removes the folder. */
function stopLeftover(dir: string): void {
  try {
    const pid = Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // not running
  }
  rmSync(dir, { recursive: true, force: true });
}
