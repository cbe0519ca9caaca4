// The processes of one node of a test NATS cluster, found by pid file rather than by a ChildProcess
// handle: a hook (another process) may have stopped the server and started a new one. No `nats`
// client here, so the hook script that imports this starts quickly.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';

export const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

/** What a process needs to know to stop and start a node; written next to its config as JSON. */
export interface NatsNodeSpec {
  name: string;
  clientPort: number;
  clusterPort: number;
  /** HTTP monitoring (/varz, /jsz), which the bot's health check asks each server. */
  monitorPort: number;
  storeDir: string;
  configPath: string;
  logPath: string;
  pidFile: string;
  /** Where this spec is written: `<cluster dir>/<name>.json`. */
  specPath: string;
}

export function readNodeSpec(specPath: string): NatsNodeSpec {
  return JSON.parse(readFileSync(specPath, 'utf8')) as NatsNodeSpec;
}

export function writeNodeSpec(spec: NatsNodeSpec): void {
  writeFileSync(spec.specPath, `${JSON.stringify(spec, null, 2)}\n`);
}

function cmdlineOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** Running (not a zombie: this machine's PID 1 does not reap orphans). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state is the first field after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A live nats-server running exactly this config: never some other process that reused the pid. */
function isServerOf(pid: number, configPath: string): boolean {
  const argv = cmdlineOf(pid);
  return (
    argv !== null &&
    alive(pid) &&
    argv.some((arg) => arg.endsWith('nats-server')) &&
    argv.includes(configPath)
  );
}

/** The pid of the node's running server, or null when it is not running. */
export function runningPid(spec: NatsNodeSpec): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(spec.pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  return Number.isInteger(pid) && pid > 0 && isServerOf(pid, spec.configPath) ? pid : null;
}

async function untilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function terminate(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  if (await untilGone(pid, 10_000)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await untilGone(pid, 5_000);
}

/** SIGTERM (SIGKILL after 10 s) and wait until the server has exited. Nothing to do if it is down. */
export async function stopNode(spec: NatsNodeSpec): Promise<number | null> {
  const pid = runningPid(spec);
  if (pid === null) return null;
  await terminate(pid);
  rmSync(spec.pidFile, { force: true });
  return pid;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

/**
 * Starts a new server with the node's config, detached (it outlives whoever started it), output
 * appended to the node's log; writes the pid file and resolves once the client port accepts.
 * `emptyStore` wipes the store directory first: a fresh disk that must catch up by replication.
 */
export async function startNode(spec: NatsNodeSpec, { emptyStore = false } = {}): Promise<number> {
  const running = runningPid(spec);
  if (running !== null) throw new Error(`${spec.name} is already running (pid ${running})`);
  if (emptyStore) rmSync(spec.storeDir, { recursive: true, force: true });
  mkdirSync(spec.storeDir, { recursive: true });
  const log = openSync(spec.logPath, 'a');
  let pid: number | undefined;
  try {
    const child = spawn(NATS_SERVER, ['-c', spec.configPath], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.on('error', () => undefined);
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  if (pid === undefined) throw new Error(`could not start ${NATS_SERVER} for ${spec.name}`);
  writeFileSync(spec.pidFile, `${pid}\n`);
  const deadline = Date.now() + 15_000;
  while (!(await accepts(spec.clientPort))) {
    if (!alive(pid)) throw new Error(`${spec.name} exited at start; see ${spec.logPath}`);
    if (Date.now() > deadline) throw new Error(`${spec.name} does not accept clients; see ${spec.logPath}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return pid;
}

/**
 * Every live nats-server whose config lies in `dir`, whoever started it (a hook killed halfway may
 * have left one without a pid file): for the final clean-up. Servers elsewhere (the machine's own
 * NATS) never match.
 */
export function serversUnder(dir: string): number[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = cmdlineOf(pid);
    if (!argv || !argv.some((arg) => arg.endsWith('nats-server'))) continue;
    if (argv.some((arg) => arg.startsWith(prefix)) && alive(pid)) pids.push(pid);
  }
  return pids;
}

/**
 * SIGKILLs nats-node-ctl.ts hooks still running on the cluster in `dir` (one left holding by a test
 * that failed halfway would otherwise start a server after the clean-up).
 */
export async function killHooksOf(dir: string): Promise<void> {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const argv = cmdlineOf(Number(entry));
    if (argv?.some((arg) => arg.endsWith('nats-node-ctl.ts')) && argv.includes(dir) && alive(Number(entry)))
      pids.push(Number(entry));
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await Promise.all(pids.map((pid) => untilGone(pid, 5_000)));
}

/** Stops every server of `dir` (see serversUnder) and waits for them to exit. */
export async function killServersUnder(dir: string): Promise<void> {
  await Promise.all(serversUnder(dir).map((pid) => terminate(pid)));
}
