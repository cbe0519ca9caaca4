// Servers whose "volumes" are real PostgreSQL data directories, kept in step with the EC2 emulator:
// a volume's device appears on a server (hosts/<instanceId>/dev/<volumeId>) exactly while EC2 shows
// it attached there, and sim-host.sh, the stop/start/verifyDown hook, mounts it and runs PostgreSQL
// on it with that server's port. Each server has its own port on 127.0.0.1.
//
// In step at every EC2 call: the emulator's onCall listener runs before the answer leaves, so what a
// DescribeVolumes shows attached is mounted-ready on the server when the bot hears of it. The same
// listener records a violation when a volume leaves a server while it is still mounted there or
// while PostgreSQL runs on it: the one thing a volume swap must never do.
import { execFile, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { claimFolder, findPgBinDir } from '../../../src/demo/pg-cluster';
import { freeLoopbackPorts } from '../../../src/demo/net';
import type { Ec2Emulator } from '../../support/services/aws/emulator';

const run = promisify(execFile);

/** The hook script (stop, start, verifyDown) every simulated server runs. */
export const SIM_HOST = join(__dirname, 'sim-host.sh');

interface Server {
  dir: string;
  port: number;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** As root, PostgreSQL runs as postgres, which must own what it writes (logs, sockets, data). */
function postgresIds(): { uid: number; gid: number } | null {
  if (!isRoot) return null;
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('postgres:'))
    ?.split(':');
  if (!fields) throw new Error('running as root needs a postgres user');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class PgHosts {
  /** What must never happen, in words: a volume pulled from a server that had it mounted or open. */
  readonly violations: string[] = [];
  private readonly servers = new Map<string, Server>();
  private readonly volumes = new Map<string, string>();
  private stopFollowing: (() => void) | null = null;
  private readonly exitHook = () => this.haltSync();

  private constructor(
    readonly root: string,
    private readonly dataVolume: string,
  ) {}

  /**
   * Servers for `instances` and volumes `[data, wal?]`: the data volume holds a fresh cluster
   * (its WAL on the second volume when there is one), attached nowhere yet.
   */
  static async create(instances: readonly string[], volumeIds: readonly string[]): Promise<PgHosts> {
    const [data, wal] = volumeIds;
    if (data === undefined) throw new Error('a data volume is needed');
    // Named like pg-cluster's folders: its orphan sweep stops and removes what a killed test left.
    const root = mkdtempSync('/tmp/cutover-pgcluster-vs-');
    claimFolder(root);
    const hosts = new PgHosts(root, data);
    process.on('exit', hosts.exitHook);
    const ids = postgresIds();
    const own = (path: string) => {
      if (ids) chownSync(path, ids.uid, ids.gid);
    };
    own(root);
    const ports = await freeLoopbackPorts(instances.length);
    instances.forEach((instanceId, index) => {
      const dir = join(root, 'hosts', instanceId);
      const port = ports[index] as number;
      for (const sub of ['dev', 'mnt', 'sock']) mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(join(dir, 'port'), `${port}\n`);
      writeFileSync(
        join(dir, 'server.opts'),
        `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${join(dir, 'sock')}`,
      );
      for (const path of [join(root, 'hosts'), dir, join(dir, 'dev'), join(dir, 'mnt'), join(dir, 'sock')])
        own(path);
      hosts.servers.set(instanceId, { dir, port });
    });
    for (const volumeId of volumeIds) {
      const dir = join(root, 'volumes', volumeId);
      mkdirSync(dir, { recursive: true });
      own(join(root, 'volumes'));
      own(dir);
      hosts.volumes.set(volumeId, dir);
    }
    await hosts.script('init', hosts.volumeDir(data), ...(wal ? [hosts.volumeDir(wal)] : []));
    return hosts;
  }

  volumeDir(volumeId: string): string {
    const dir = this.volumes.get(volumeId);
    if (!dir) throw new Error(`no volume ${volumeId}`);
    return dir;
  }

  server(instanceId: string): Server {
    const server = this.servers.get(instanceId);
    if (!server) throw new Error(`no server ${instanceId}`);
    return server;
  }

  /** The PostgreSQL URL of the database on a server (whatever cluster answers there). */
  url(instanceId: string): string {
    return `postgres://postgres@127.0.0.1:${this.server(instanceId).port}/postgres`;
  }

  /** A hook's argv for the targets file: `{instanceId}` picks the server, `{volumeIds}` the set. */
  hookCommand(action: 'start' | 'stop' | 'verify-down'): string[] {
    const server = join(this.root, 'hosts', '{instanceId}');
    return action === 'start' ? [SIM_HOST, action, server, '{volumeIds}'] : [SIM_HOST, action, server];
  }

  /** Environment the hooks need (they see only PATH, HOME and LANG otherwise). */
  hookEnv(): Record<string, string> {
    return { PG_BINDIR: findPgBinDir() };
  }

  /** Runs the hook script as the bot would, for a test's own setup (starting the first server). */
  async script(...args: string[]): Promise<string> {
    const { stdout } = await run(SIM_HOST, args, { env: { ...process.env, ...this.hookEnv() } });
    return stdout;
  }

  /** Stops PostgreSQL cleanly and unmounts on every server (between tests). */
  async stopAll(): Promise<void> {
    for (const server of this.servers.values()) await this.script('stop', server.dir);
  }

  /** Keeps the servers' devices in step with EC2 from now on (and once now). */
  follow(ec2: Ec2Emulator): void {
    this.stopFollowing?.();
    this.stopFollowing = ec2.onCall(() => this.sync(ec2));
    this.sync(ec2);
  }

  private sync(ec2: Ec2Emulator): void {
    for (const [volumeId, dir] of this.volumes) {
      const attachment = ec2.volume(volumeId)?.attachments[0];
      const holder = attachment?.state === 'attached' ? attachment.instanceId : null;
      for (const [instanceId, server] of this.servers) {
        const device = join(server.dir, 'dev', volumeId);
        const present = exists(device);
        if (instanceId === holder && !present) symlinkSync(dir, device);
        if (instanceId !== holder && present) {
          this.checkPulled(instanceId, server, volumeId, device);
          unlinkSync(device);
        }
      }
    }
  }

  private checkPulled(instanceId: string, server: Server, volumeId: string, device: string): void {
    const mnt = join(server.dir, 'mnt');
    const mounted = readdirSync(mnt).some((name) => {
      try {
        return readlinkSync(join(mnt, name)) === device;
      } catch {
        return false;
      }
    });
    if (mounted) this.violations.push(`${volumeId} left ${instanceId} while mounted there`);
    const pid = this.postmasterPid();
    if (volumeId === this.dataVolume && pid !== null && processAlive(pid))
      this.violations.push(`${volumeId} left ${instanceId} while PostgreSQL ${pid} ran on it`);
  }

  /** The pid in the data directory's postmaster.pid (null: none, a clean stop removes it). */
  postmasterPid(): number | null {
    try {
      const first = readFileSync(
        join(this.volumeDir(this.dataVolume), 'pgdata', 'postmaster.pid'),
        'utf8',
      ).split('\n')[0];
      const pid = Number(first);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** Stops PostgreSQL on the volume at once wherever it runs. */
  private haltSync(): void {
    const data = join(this.volumeDir(this.dataVolume), 'pgdata');
    if (existsSync(join(data, 'postmaster.pid')))
      spawnSync(SIM_HOST, ['halt', data], {
        env: { ...process.env, PG_BINDIR: findPgBinDir() },
        stdio: 'ignore',
      });
  }

  async close(): Promise<void> {
    this.stopFollowing?.();
    this.stopFollowing = null;
    await this.script('halt', join(this.volumeDir(this.dataVolume), 'pgdata'));
    process.off('exit', this.exitHook);
    rmSync(this.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}
