// The server processes of the test clusters (a Kafka JVM, a nats-server), found by pid file and
// /proc rather than by a ChildProcess handle: a hook script (another process) stops and starts them,
// and the cluster must still find, stop and finally kill whatever runs. One copy for both clusters,
// so that a fix to, say, the zombie check reaches both. No client library here (no kafkajs, no
// nats): the node-ctl hook scripts import this and must start quickly.
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Socket } from 'node:net';

/** What any node's spec holds; written as JSON, so that another process finds the node again. */
export interface NodeSpec {
  name: string;
  pidFile: string;
  /** Where this spec is written: `<cluster dir>/<name>.json`. */
  specPath: string;
}

export function readSpec<T extends NodeSpec>(specPath: string): T {
  return JSON.parse(readFileSync(specPath, 'utf8')) as T;
}

export function writeSpec(spec: NodeSpec): void {
  writeFileSync(spec.specPath, `${JSON.stringify(spec, null, 2)}\n`);
}

/** The arguments `pid` runs with, or null when there is no such process. */
export function cmdlineOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** The fields of /proc/<pid>/stat after "pid (comm) ": comm may hold spaces and parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Running (not a zombie: this machine's PID 1 does not reap orphans). */
export function alive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Clock ticks after boot at which the process started: a pid reused later has another. */
export function startTimeOf(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the process has exited (or is a zombie); false when it still runs after `timeoutMs`. */
export async function untilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** False when the process was already gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** Sends `how` and waits up to `graceMs` for the exit; one that ignores it is SIGKILLed. */
export async function terminate(
  pid: number,
  graceMs: number,
  how: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  if (signal(pid, how) && !(await untilGone(pid, graceMs)) && signal(pid, 'SIGKILL'))
    await untilGone(pid, 5_000);
}

/** SIGKILLs them all at once and waits until they are gone. */
export async function killAll(pids: number[]): Promise<void> {
  pids.forEach((pid) => signal(pid, 'SIGKILL'));
  await Promise.all(pids.map((pid) => untilGone(pid, 5_000)));
}

/** A TCP connect to the loopback port succeeds (within 1 s). */
export function accepts(port: number): Promise<boolean> {
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
 * Tells one kind of server from any other process by its arguments: returns those that may name its
 * config file, or null when `argv` is not such a server.
 */
export type ServerKind = (argv: string[]) => string[] | null;

/** One server of a test cluster, as any process finds it again. */
export interface ServerProcess {
  /** For messages. */
  name: string;
  kind: ServerKind;
  /** The file only this server runs with: a process that reused the pid never matches. */
  configPath: string;
  pidFile: string;
  /** Its stdout and stderr, appended. */
  outputPath: string;
}

/** The pid of the server's live process, or null when it is not running (whatever the pid file says). */
export function runningPidOf(server: ServerProcess): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(server.pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const argv = cmdlineOf(pid);
  return argv && alive(pid) && server.kind(argv)?.includes(server.configPath) ? pid : null;
}

/** Every live process of `kind` (whoever started it), with the arguments that may name its config. */
export function liveServers(of: ServerKind): { pid: number; args: string[] }[] {
  const found: { pid: number; args: string[] }[] = [];
  for (const pid of allPids()) {
    const argv = cmdlineOf(pid);
    const args = argv && of(argv);
    if (args && alive(pid)) found.push({ pid, args });
  }
  return found;
}

/** Every live server of `kind` whose config lies in `dir`; servers elsewhere never match. */
export function serversUnder(dir: string, of: ServerKind): number[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return liveServers(of)
    .filter(({ args }) => args.some((arg) => arg.startsWith(prefix)))
    .map(({ pid }) => pid);
}

/**
 * Sends `how` (SIGKILL after `graceMs`), waits for the exit and removes the pid file. The pid it
 * stopped, or null when it was not running.
 */
export async function stopServer(
  server: ServerProcess,
  graceMs: number,
  how: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<number | null> {
  const pid = runningPidOf(server);
  if (pid === null) return null;
  await terminate(pid, graceMs, how);
  rmSync(server.pidFile, { force: true });
  return pid;
}

/**
 * Starts `command` detached (it outlives whoever started it; output appended to the server's output
 * file), writes the pid file and resolves with the pid once `port` accepts connections; fails as soon
 * as the process exits. Refuses a server already running; `prepare` runs after that check, before the
 * start (a fresh disk, say).
 */
export async function startServer(
  server: ServerProcess,
  launch: {
    command: string;
    args: string[];
    port: number;
    timeoutMs: number;
    prepare?: () => Promise<void> | void;
  },
): Promise<number> {
  const running = runningPidOf(server);
  if (running !== null) throw new Error(`${server.name} is already running (pid ${running})`);
  await launch.prepare?.();
  const out = openSync(server.outputPath, 'a');
  let pid: number | undefined;
  try {
    const child = spawn(launch.command, launch.args, { detached: true, stdio: ['ignore', out, out] });
    child.on('error', () => undefined); // no pid then: reported below
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(out);
  }
  if (pid === undefined) throw new Error(`could not start ${launch.command} for ${server.name}`);
  writeFileSync(server.pidFile, `${pid}\n`);
  const deadline = Date.now() + launch.timeoutMs;
  while (!(await accepts(launch.port))) {
    if (!alive(pid)) throw new Error(`${server.name} exited at start; see ${server.outputPath}`);
    if (Date.now() > deadline)
      throw new Error(`${server.name} does not accept connections; see ${server.outputPath}`);
    await sleep(100);
  }
  return pid;
}

/**
 * SIGKILLs the hook processes running `script` (a node-ctl script) on the cluster in `dir` and waits
 * until they are gone: one left by a test that failed halfway would otherwise start a server after
 * the clean-up.
 */
export async function killHooksOf(script: string, dir: string): Promise<void> {
  const hooks = allPids().filter((pid) => {
    const argv = pid === process.pid ? null : cmdlineOf(pid);
    return argv !== null && argv.some((arg) => arg.endsWith(script)) && argv.includes(dir) && alive(pid);
  });
  await killAll(hooks);
}

// What the node-ctl hook scripts share: `<cluster dir> <node> replace|stop|start [options]`, and a
// replace that is safe to run again (a stopped node is not stopped twice, a start of a running one
// does nothing).

export interface NodeCtlArgs {
  dir: string;
  node: string;
  action: 'replace' | 'stop' | 'start';
  /** --log: where "<node> <action> begin" and "... done <old pid> -> <new pid>" are appended. */
  log?: string;
  /** The other `--flag value` options given, by flag. */
  values: Map<string, string>;
  /** The options without a value given. */
  switches: Set<string>;
}

/** `valued` flags take a value (--log always does), `switches` none; anything else throws. */
export function parseNodeCtlArgs(
  argv: string[],
  usage: string,
  { valued, switches = [] }: { valued: string[]; switches?: string[] },
): NodeCtlArgs {
  const [dir, node, action, ...rest] = argv;
  if (!dir || !node || (action !== 'replace' && action !== 'stop' && action !== 'start'))
    throw new Error(`usage: ${usage}`);
  const args: NodeCtlArgs = { dir, node, action, values: new Map(), switches: new Set() };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (switches.includes(flag)) {
      args.switches.add(flag);
      continue;
    }
    const value = rest[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--log') args.log = value;
    else if (valued.includes(flag)) args.values.set(flag, value);
    else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

/** Whether the node is in the comma list given to `flag` (or the list is `all`). */
export function listed(args: NodeCtlArgs, flag: string): boolean {
  const list = args.values.get(flag)?.split(',') ?? [];
  return list.includes('all') || list.includes(args.node);
}

/**
 * The replace|stop|start itself: notes "begin", waits for `hold` if any, stops the node unless
 * starting, starts it unless stopping or already running, notes "done <old pid> -> <new pid>".
 */
export async function controlNode(
  args: NodeCtlArgs,
  node: {
    running: () => number | null;
    stop: () => Promise<unknown>;
    start: () => Promise<number>;
    hold?: () => Promise<void>;
  },
): Promise<void> {
  const note = (line: string): void => {
    const text = `${args.node} ${args.action} ${line}\n`;
    if (args.log) appendFileSync(args.log, text);
    process.stdout.write(text);
  };
  note('begin');
  await node.hold?.();
  const before = node.running();
  if (args.action !== 'start') await node.stop();
  let after: number | null = null;
  if (args.action === 'start' && before !== null) {
    after = before; // already running: nothing to do
  } else if (args.action !== 'stop') {
    after = await node.start();
  }
  note(`done ${String(before)} -> ${String(after)}`);
}

/** Runs a hook script's `main`: exit 0 when done, 1 with a message on stderr otherwise. */
export function runNodeCtl(script: string, main: () => Promise<void>): void {
  // The bot may be killed while a hook runs: its end of our stdout goes away, which must not kill us.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  main().catch((error: unknown) => {
    process.stderr.write(`${script}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
