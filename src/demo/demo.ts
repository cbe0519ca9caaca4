// `npm run demo`: a real replica promotion on this machine, watched and approved in the browser.
//
// Starts, all on loopback ports and under one fresh work folder: a PostgreSQL cluster for the bot's own
// state, a PostgreSQL primary with a streaming standby (the demo target), Redis (REDIS_URL when usable,
// else a redis-server of our own), a light write load on the primary, and the bot itself in local-console
// mode. Ctrl-C (SIGINT) or SIGTERM stops and removes everything it started.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from '../config/errors';
import { boot } from '../main/boot';
import type { Runtime } from '../main/runtime';
import { freeLoopbackPorts, LOOPBACK, portIsFree } from './net';
import {
  claimFolder,
  findPgBinDir,
  PgBinariesMissingError,
  startPgCluster,
  startPgPair,
  startWriter,
  sweepOrphans,
  type PgCluster,
  type PgPair,
  type Writer,
} from './pg-cluster';
import {
  redisAddress,
  RedisMissingError,
  redisServerOnPath,
  startRedisServer,
  stopLeftoverRedis,
  unusableReason,
  useExistingRedis,
  type DemoRedis,
} from './redis';

export const DEMO_TARGET = 'demo';
export const DEMO_CHANNEL = 'C0DEMO00001';
export const DEMO_APPROVERS = ['U0DEMOAPPR1', 'U0DEMOAPPR2'] as const;
export const DEMO_TABLE = 'demo_orders';
/** A few inserts per second. */
const WRITE_INTERVAL_MS = 250;
const DEFAULT_PORT = 3000;
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const TMP = '/tmp';
/** The demo's work folder; it holds owner.pid, so a later demo sweeps it if this one is killed. */
export const DEMO_PREFIX = 'cutover-demo-';

export interface DemoOptions {
  /** The demo's own environment: PORT, REDIS_URL, LOG_LEVEL, PATH... */
  env: NodeJS.ProcessEnv;
  /** One line of progress (no newline). */
  say: (line: string) => void;
  /** Aborted when the person asks to stop while the demo is still starting. */
  signal?: AbortSignal;
}

export interface Demo {
  url: string;
  workDir: string;
  runtime: Runtime;
  /** The demo pair: the primary the cutover fences and the standby it promotes. */
  primaryUrl: string;
  standbyUrl: string;
  /** Stops and removes everything the demo started. Idempotent; never throws. */
  stop(): Promise<void>;
}

export class DemoError extends Error {
  override name = 'DemoError';
}

/** PORT: default 3000; 0 picks a free one. */
export function demoPort(env: NodeJS.ProcessEnv): number {
  const text = env['PORT']?.trim();
  if (text === undefined || text === '') return DEFAULT_PORT;
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (port >= 0 && port <= 65535) return port;
  throw new DemoError(`PORT must be a whole number from 0 to 65535 (0 picks a free port), got "${text}"`);
}

export function demoTargetsYaml(): string {
  return [
    '# cutover-bot demo targets, written by `npm run demo` (removed when it stops).',
    'defaults:',
    `  channel: ${DEMO_CHANNEL}`,
    `  approvers: [${DEMO_APPROVERS.join(', ')}]`,
    '  approvalTimeout: 30m',
    'targets:',
    `  - name: ${DEMO_TARGET}`,
    '    strategy: replica-promotion',
    '    postgres:',
    '      primary: env:DEMO_PRIMARY_URL',
    '      standby: env:DEMO_STANDBY_URL',
    '    maxLag: { bytes: 16MB, seconds: 5 }',
    '    route:',
    "      command: ['/bin/echo', 'traffic for demo now goes to {standby.host}:{standby.port}']",
    '      timeout: 10s',
    '',
  ].join('\n');
}

/** The bot's environment: the demo's settings and the local console, never a Slack token. */
function botEnvironment(
  env: NodeJS.ProcessEnv,
  settings: Record<
    'CUTOVER_CONFIG' | 'DATABASE_URL' | 'REDIS_URL' | 'DEMO_PRIMARY_URL' | 'DEMO_STANDBY_URL',
    string
  >,
  port: number,
): NodeJS.ProcessEnv {
  const replaced = new Set(['DATABASE_URL', 'REDIS_URL', 'CUTOVER_CONFIG', 'PORT', 'ROLE', 'LOG_LEVEL']);
  const kept = Object.entries(env).filter(([key]) => !key.startsWith('SLACK_') && !replaced.has(key));
  return {
    ...Object.fromEntries(kept),
    ...settings,
    // PORT=0 is the demo's own "pick one"; the bot's PORT is 1-65535, so it is passed as httpPort.
    ...(port > 0 ? { PORT: String(port) } : {}),
    ROLE: 'all',
    LOG_LEVEL: env['LOG_LEVEL']?.trim() || 'warn',
    CUTOVER_LOCAL_CONSOLE: '1',
  };
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** REDIS_URL (default redis://127.0.0.1:6379) when it answers and never evicts; else null: start one. */
async function chooseRedis(env: NodeJS.ProcessEnv, say: (line: string) => void): Promise<string | null> {
  const candidate = env['REDIS_URL']?.trim() || DEFAULT_REDIS_URL;
  const reason = await unusableReason(candidate);
  if (reason === null) return candidate;
  if (!redisServerOnPath()) throw new RedisMissingError(`REDIS_URL ${redisAddress(candidate)}: ${reason}.`);
  say(`Redis at ${redisAddress(candidate)} is not usable (${reason}): the demo starts its own redis-server.`);
  return null;
}

/**
 * Starts everything. On failure (or when `signal` aborts) whatever was started is stopped and removed
 * before the error is thrown.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { env, say, signal } = options;
  const startedAt = Date.now();

  // Problems we can see before starting anything.
  findPgBinDir();
  const port = demoPort(env);
  if (port > 0 && !(await portIsFree(port))) {
    throw new DemoError(`port ${port} is in use; pick another: PORT=${port + 1} npm run demo (PORT=0: any)`);
  }
  const existingRedis = await chooseRedis(env, say);

  // Leftovers of a demo that was killed (SIGKILL, a closed terminal) go first.
  sweepOrphans(TMP, {
    prefixes: [DEMO_PREFIX],
    beforeRemove: (folder) => stopLeftoverRedis(join(folder, 'redis')),
  });

  const workDir = mkdtempSync(join(TMP, DEMO_PREFIX));
  // As root the clusters run as the postgres user, which must be able to traverse this folder.
  chmodSync(workDir, 0o711);
  claimFolder(workDir);
  say(`work dir: ${workDir}`);

  let state: PgCluster | null = null;
  let pair: PgPair | null = null;
  let redis: DemoRedis | null = null;
  let writer: Writer | null = null;
  let runtime: Runtime | null = null;
  let watcher: NodeJS.Timeout | null = null;
  const queueName = `cutover-demo-${randomBytes(4).toString('hex')}`;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const quietly = async (what: string, work: () => Promise<void>) => {
        try {
          await work();
        } catch (error) {
          say(`  (while stopping ${what}: ${(error as Error).message})`);
        }
      };
      if (watcher) clearInterval(watcher);
      await quietly('the write load', async () => writer?.stop());
      await quietly('the bot', async () => runtime?.close());
      await quietly('Redis', async () => {
        await redis?.removeQueue(queueName);
        await redis?.stop();
      });
      await Promise.all([
        quietly('the PostgreSQL pair', async () => pair?.destroy()),
        quietly('the state PostgreSQL', async () => state?.destroy()),
      ]);
      rmSync(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    })();
    return stopping;
  };

  const checkpoint = () => {
    if (signal?.aborted) throw new DemoError('stopped while starting');
  };

  try {
    const [statePort, primaryPort, standbyPort, redisPort] = (await freeLoopbackPorts(4)) as [
      number,
      number,
      number,
      number,
    ];
    say('starting PostgreSQL (state store, primary, standby) and Redis...');
    // Side by side: each takes about a second. Every one that comes up is kept for stop(), even if
    // another fails.
    const results = await Promise.allSettled([
      startPgCluster({ parentDir: workDir, port: statePort }).then((cluster) => {
        state = cluster;
        say(`  PostgreSQL for the bot's own state   ${LOOPBACK}:${cluster.port}   (${seconds(startedAt)})`);
      }),
      startPgPair({ parentDir: workDir, ports: [primaryPort, standbyPort] }).then((started) => {
        pair = started;
        say(
          `  PostgreSQL primary ${LOOPBACK}:${started.primaryPort}, streaming standby ${LOOPBACK}:${started.standbyPort}   (${seconds(startedAt)})`,
        );
      }),
      (existingRedis !== null
        ? Promise.resolve(useExistingRedis(existingRedis))
        : startRedisServer(join(workDir, 'redis'), redisPort)
      ).then((provided) => {
        redis = provided;
        say(
          `  Redis ${provided.started ? 'started on' : 'already running at'} ${provided.describe}   (${seconds(startedAt)})`,
        );
      }),
    ]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    checkpoint();
    // TypeScript cannot see the assignments made in the callbacks above.
    const cluster = state as PgCluster | null;
    const replication = pair as PgPair | null;
    const queueRedis = redis as DemoRedis | null;
    if (!cluster || !replication || !queueRedis) throw new DemoError('a service did not start');

    const configPath = join(workDir, 'cutover.yaml');
    writeFileSync(configPath, demoTargetsYaml());
    say(`  targets file ${configPath}`);

    writer = await startWriter(replication.primaryUrl, DEMO_TABLE, { intervalMs: WRITE_INTERVAL_MS });
    watcher = watchWriter(writer, say);
    say(`  write load: ~${Math.round(1000 / WRITE_INTERVAL_MS)} inserts/s into ${DEMO_TABLE} on the primary`);
    checkpoint();

    const databaseUrl = cluster.url.replace(/\/postgres$/, '/cutover');
    const botEnv = botEnvironment(
      env,
      {
        CUTOVER_CONFIG: configPath,
        DATABASE_URL: databaseUrl,
        REDIS_URL: queueRedis.url,
        DEMO_PRIMARY_URL: replication.primaryUrl,
        DEMO_STANDBY_URL: replication.standbyUrl,
      },
      port,
    );
    runtime = await boot(botEnv, { runtime: { httpPort: port, queueName } });
    checkpoint();
    if (!runtime.http) throw new DemoError('the bot started without its HTTP server');
    if (!runtime.localConsole) throw new DemoError('the bot started without its local console');
    const url = `http://localhost:${runtime.http.port}/`;
    say(`  bot started (local console)   (${seconds(startedAt)})`);

    const approvers = runtime.localConsole.directory.users
      .filter((user) => user.approves.includes(DEMO_TARGET))
      .map((user) => `${user.realName} (${user.id})`);
    for (const line of banner(url, replication, approvers)) say(line);
    return {
      url,
      workDir,
      runtime,
      primaryUrl: replication.primaryUrl,
      standbyUrl: replication.standbyUrl,
      stop,
    };
  } catch (error) {
    await stop();
    if (error instanceof ConfigError) {
      throw new DemoError(`the demo's own targets file was refused:\n${error.message}`, { cause: error });
    }
    throw error;
  }
}

function banner(url: string, pair: PgPair, approvers: string[]): string[] {
  const who = approvers.length > 0 ? approvers.join(' or ') : DEMO_APPROVERS.join(' or ');
  return [
    '',
    'cutover-bot demo is running.',
    '',
    `  1. open        ${url}`,
    `  2. type        /cutover start ${DEMO_TARGET}`,
    `  3. approve     switch the user to ${who}`,
    '                 and press Approve at each gate (the requester cannot approve their own run).',
    '',
    `  primary        ${pair.primaryUrl}   (psql works: trust, loopback only)`,
    `  standby        ${pair.standbyUrl}`,
    '',
    'One cutover per demo: afterwards the standby is the primary; restart the demo to run it again.',
    'Ctrl-C stops and removes everything.',
    '',
  ];
}

/** One line when the primary starts refusing the load (it was fenced) and one when writes go through again. */
function watchWriter(writer: Writer, say: (line: string) => void): NodeJS.Timeout {
  let refused = writer.refused;
  let committed = writer.acknowledged.length;
  let failing = false;
  const timer = setInterval(() => {
    const newRefusals = writer.refused - refused;
    const newCommits = writer.acknowledged.length - committed;
    refused = writer.refused;
    committed = writer.acknowledged.length;
    if (!failing && newRefusals > 0 && newCommits === 0) {
      failing = true;
      const reasons = Object.keys(writer.errors)
        .slice(0, 2)
        .map((reason) => (reason.length > 60 ? `${reason.slice(0, 57)}...` : reason))
        .join('; ');
      say(
        `write load: the old primary refuses writes now (${reasons}); ${committed} rows were committed before`,
      );
    } else if (failing && newCommits > 0) {
      failing = false;
      say('write load: writes go through again');
    }
  }, 1000);
  timer.unref();
  return timer;
}

/**
 * The `npm run demo` process: start, wait for SIGINT/SIGTERM, stop, exit 0. A signal while starting
 * stops what has started so far. Exits 1 when the demo cannot start.
 */
export async function runDemo(): Promise<void> {
  const say = (line: string) => void process.stdout.write(`${line}\n`);
  const controller = new AbortController();
  let demo: Demo | null = null;
  let signalled = false;

  const onSignal = (name: NodeJS.Signals) => {
    if (signalled) {
      say('still stopping; everything it started is being removed...');
      return;
    }
    signalled = true;
    say(`\n${name}: stopping the demo...`);
    controller.abort();
    // Should stopping hang, leave anyway: the exit hooks still stop the clusters and Redis.
    setTimeout(() => {
      process.stderr.write('cutover-demo: stopping took too long; exiting\n');
      process.exit(1);
    }, 60_000).unref();
    if (demo) {
      const running = demo;
      void running.stop().then(() => {
        say(`stopped; removed ${running.workDir}`);
        process.exit(0);
      });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say('cutover-bot demo: starting (Ctrl-C to stop)');
  try {
    demo = await startDemo({ env: process.env, say, signal: controller.signal });
  } catch (error) {
    if (signalled) {
      say('stopped.');
      process.exit(0);
    }
    process.stderr.write(`\ncutover-demo: cannot start: ${describeFailure(error)}\n`);
    process.exit(1);
  }
  if (signalled) {
    // The signal came while the last step was finishing.
    await demo.stop();
    say(`stopped; removed ${demo.workDir}`);
    process.exit(0);
  }
}

/** Errors whose message is the whole story (a missing package, a busy port) print without a stack. */
function describeFailure(error: unknown): string {
  if (
    error instanceof DemoError ||
    error instanceof PgBinariesMissingError ||
    error instanceof RedisMissingError
  ) {
    return error.message;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
