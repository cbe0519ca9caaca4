// The processes of one node of a test NATS cluster, found by pid file rather than by a ChildProcess
// handle: a hook (another process) may have stopped the server and started a new one. No `nats`
// client here, so the hook script that imports this starts quickly.
import { mkdirSync, rmSync } from 'node:fs';
import {
  killHooksOf as killHooksRunning,
  readSpec,
  runningPidOf,
  serversUnder as serversOfKindUnder,
  startServer,
  stopServer,
  terminate,
  writeSpec,
  type NodeSpec,
  type ServerKind,
  type ServerProcess,
} from './node-process';

export const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

/** What a process needs to know to stop and start a node; written next to its config as JSON. */
export interface NatsNodeSpec extends NodeSpec {
  clientPort: number;
  clusterPort: number;
  /** HTTP monitoring (/varz, /jsz), which the bot's health check asks each server. */
  monitorPort: number;
  storeDir: string;
  configPath: string;
  logPath: string;
}

export function readNodeSpec(specPath: string): NatsNodeSpec {
  return readSpec(specPath);
}

export function writeNodeSpec(spec: NatsNodeSpec): void {
  writeSpec(spec);
}

/** A nats-server: any argument may be its config (`-c <file>`). */
const natsServer: ServerKind = (argv) => (argv.some((arg) => arg.endsWith('nats-server')) ? argv : null);

const serverOf = (spec: NatsNodeSpec): ServerProcess => ({
  ...spec,
  kind: natsServer,
  outputPath: spec.logPath,
});

/** The pid of the node's running server, or null when it is not running. */
export function runningPid(spec: NatsNodeSpec): number | null {
  return runningPidOf(serverOf(spec));
}

/** How long a SIGTERM may take before a SIGKILL follows. */
const STOP_GRACE_MS = 10_000;

/** SIGTERM (SIGKILL after 10 s) and wait until the server has exited. Nothing to do if it is down. */
export function stopNode(spec: NatsNodeSpec): Promise<number | null> {
  return stopServer(serverOf(spec), STOP_GRACE_MS);
}

/**
 * Starts a new server with the node's config, detached (it outlives whoever started it), output
 * appended to the node's log; writes the pid file and resolves once the client port accepts.
 * `emptyStore` wipes the store directory first: a fresh disk that must catch up by replication.
 */
export function startNode(spec: NatsNodeSpec, { emptyStore = false } = {}): Promise<number> {
  return startServer(serverOf(spec), {
    command: NATS_SERVER,
    args: ['-c', spec.configPath],
    port: spec.clientPort,
    timeoutMs: 15_000,
    prepare: () => {
      if (emptyStore) rmSync(spec.storeDir, { recursive: true, force: true });
      mkdirSync(spec.storeDir, { recursive: true });
    },
  });
}

/**
 * Every live nats-server whose config lies in `dir`, whoever started it (a hook killed halfway may
 * have left one without a pid file): for the final clean-up. Servers elsewhere (the machine's own
 * NATS) never match.
 */
export function serversUnder(dir: string): number[] {
  return serversOfKindUnder(dir, natsServer);
}

/**
 * SIGKILLs nats-node-ctl.ts hooks still running on the cluster in `dir` (one left holding by a test
 * that failed halfway would otherwise start a server after the clean-up).
 */
export function killHooksOf(dir: string): Promise<void> {
  return killHooksRunning('nats-node-ctl.ts', dir);
}

/** Stops every server of `dir` (see serversUnder) and waits for them to exit. */
export async function killServersUnder(dir: string): Promise<void> {
  await Promise.all(serversUnder(dir).map((pid) => terminate(pid, STOP_GRACE_MS)));
}
