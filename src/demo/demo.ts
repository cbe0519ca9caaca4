// `npm run demo`: a real replica promotion on this machine, watched and approved in the browser.
//
// Starts, all on loopback ports and under one fresh work folder: a PostgreSQL cluster for the bot's own
// state, a PostgreSQL primary with a streaming standby (the demo target; the standby applies commits a
// second late, so the lag shows), PgBouncer in front of the primary when it is installed, Redis
// (REDIS_URL when usable, else a redis-server of our own), a light write load (through PgBouncer when
// there is one), and the bot itself in local-console mode. After each successful cutover the old
// primary has rejoined as a standby and the demo swaps the two roles, so the next cutover goes back.
// Ctrl-C (SIGINT) or SIGTERM stops and removes everything it started.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from '../config/errors';
import { boot } from '../main/boot';
import type { Runtime } from '../main/runtime';
import type { RunObserver } from '../ports/run-observer';
import { freeLoopbackPorts, LOOPBACK, portIsFree } from './net';
import {
  claimFolder,
  findPgBinDir,
  PgBinariesMissingError,
  startPgCluster,
  startPgPair,
  startWriter,
  sweepOrphans,
  WRITER_ROLE,
  type PgCluster,
  type PgPair,
  type Writer,
} from './pg-cluster';
import { findPgBouncer, startPgBouncer, type PgBouncer } from './pgbouncer';
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
/** The hooks the demo's target runs: the same scripts an operator would use. */
const HOOKS_DIR = join(__dirname, '..', '..', 'scripts', 'hooks');
/**
 * The standby applies each commit this long after the primary made it: on one machine streaming
 * replication is otherwise too fast for the lag chart and the gate's conditions to show anything.
 * A promotion ignores it; the catch-up after the fence waits for it (the window is about this long).
 */
const DEMO_APPLY_DELAY = '1s';
/** The PgBouncer database entry the write load and the bot's probe use. */
const DEMO_POOLED_DATABASE = 'app';

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
  /** The primary the next cutover fences and the standby it promotes (they swap after each cutover). */
  readonly primaryUrl: string;
  readonly standbyUrl: string;
  /** PgBouncer in front of the primary, or null when `pgbouncer` is not installed. */
  pgbouncer: PgBouncer | null;
  /** The write load: what the clients had acknowledged and refused. */
  writer: Writer;
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

export interface DemoTargetOptions {
  /** PgBouncer in front of the primary: paused and repointed by the cutover. */
  pgbouncer: boolean;
  /** Where the hook scripts are (default: this repository's scripts/hooks). */
  hooksDir?: string;
}

export function demoTargetsYaml(options: DemoTargetOptions = { pgbouncer: false }): string {
  const hooks = options.hooksDir ?? HOOKS_DIR;
  const route = options.pgbouncer
    ? [
        '    pgbouncer:',
        '      instances: [{ admin: env:DEMO_PGBOUNCER_ADMIN, client: env:DEMO_PGBOUNCER_CLIENT }]',
        `      databases: [${DEMO_POOLED_DATABASE}]`,
        '    route:',
        `      command: ['${hooks}/pgbouncer-repoint.sh', '${DEMO_POOLED_DATABASE}', '{standby.host}', '{standby.port}']`,
        '      env: { PGBOUNCER_INI: env:DEMO_PGBOUNCER_INI }',
        '      timeout: 10s',
      ]
    : [
        '    route:',
        "      command: ['/bin/echo', 'traffic for demo now goes to {standby.host}:{standby.port}']",
        '      timeout: 10s',
      ];
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
    ...route,
    '    # The old primary becomes a standby of the new one, so the demo can cut over again.',
    '    rejoin:',
    `      command: ['${hooks}/postgres-rejoin.sh', '{standby.host}', '{standby.port}']`,
    '      env: { PGDATA: env:DEMO_PRIMARY_PGDATA }',
    '      timeout: 2m',
    '    rejoinTimeout: 1m',
    '',
  ].join('\n');
}

/** The demo target's variables: which server is the primary now, and PgBouncer when there is one. */
type DemoTargetEnv = Record<
  'DEMO_PRIMARY_URL' | 'DEMO_STANDBY_URL' | 'DEMO_PRIMARY_PGDATA' | 'DEMO_STANDBY_PGDATA',
  string
> &
  Partial<Record<'DEMO_PGBOUNCER_ADMIN' | 'DEMO_PGBOUNCER_CLIENT' | 'DEMO_PGBOUNCER_INI', string>>;

/** The bot's environment: the demo's settings and the local console, never a Slack token. */
function botEnvironment(
  env: NodeJS.ProcessEnv,
  settings: Record<'CUTOVER_CONFIG' | 'DATABASE_URL' | 'REDIS_URL', string> & DemoTargetEnv,
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
  let bouncer: PgBouncer | null = null;
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
      await quietly('PgBouncer', async () => bouncer?.stop());
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
      startPgPair({
        parentDir: workDir,
        ports: [primaryPort, standbyPort],
        extraConfig: [`recovery_min_apply_delay = '${DEMO_APPLY_DELAY}'`],
      }).then((started) => {
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

    if (findPgBouncer()) {
      bouncer = await startPgBouncer({
        port: replication.primaryPort,
        database: DEMO_POOLED_DATABASE,
        users: [WRITER_ROLE],
      });
      say(`  PgBouncer ${LOOPBACK}:${bouncer.port} in front of the primary (transaction pooling)`);
    } else {
      say(
        '  (PgBouncer is not installed: the write load goes to the primary directly; apt-get install pgbouncer)',
      );
    }
    checkpoint();

    const configPath = join(workDir, 'cutover.yaml');
    writeFileSync(configPath, demoTargetsYaml({ pgbouncer: bouncer !== null }));
    say(`  targets file ${configPath}`);

    // The table is made directly on the primary: a postgres session left in PgBouncer's pool would
    // be one the SQL fence cannot lock out, and the bot would rightly stop for it.
    const load = await startWriter(replication.primaryUrl, DEMO_TABLE, {
      intervalMs: WRITE_INTERVAL_MS,
      ...(bouncer ? { through: bouncer.clientUrl(WRITER_ROLE) } : {}),
    });
    writer = load;
    watcher = watchWriter(load, say);
    say(
      `  write load: ~${Math.round(1000 / WRITE_INTERVAL_MS)} inserts/s into ${DEMO_TABLE}, ${bouncer ? 'through PgBouncer' : 'on the primary'}`,
    );
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
        DEMO_PRIMARY_PGDATA: replication.dataDirs.primary,
        DEMO_STANDBY_PGDATA: replication.dataDirs.standby,
        ...(bouncer
          ? {
              DEMO_PGBOUNCER_ADMIN: bouncer.adminUrl,
              DEMO_PGBOUNCER_CLIENT: bouncer.clientUrl(WRITER_ROLE),
              DEMO_PGBOUNCER_INI: bouncer.iniPath,
            }
          : {}),
      },
      port,
    );
    runtime = await boot(botEnv, { runtime: { httpPort: port, queueName } });
    // The bot reads the target's env: references when a run needs them, so swapping them here makes
    // the next cutover go the other way.
    runtime.runs.addObserver(
      swapAfterCutover(botEnv, say, (primaryUrl) => {
        // Through PgBouncer the route hook already moved the clients.
        if (!bouncer) load.moveTo(primaryUrl);
      }),
    );
    checkpoint();
    if (!runtime.http) throw new DemoError('the bot started without its HTTP server');
    if (!runtime.localConsole) throw new DemoError('the bot started without its local console');
    const url = `http://localhost:${runtime.http.port}/`;
    say(`  bot started (local console)   (${seconds(startedAt)})`);

    const approvers = runtime.localConsole.directory.users
      .filter((user) => user.approves.includes(DEMO_TARGET))
      .map((user) => `${user.realName} (${user.id})`);
    for (const line of banner(url, replication, bouncer, approvers)) say(line);
    return {
      url,
      workDir,
      runtime,
      get primaryUrl() {
        return botEnv['DEMO_PRIMARY_URL'] ?? replication.primaryUrl;
      },
      get standbyUrl() {
        return botEnv['DEMO_STANDBY_URL'] ?? replication.standbyUrl;
      },
      pgbouncer: bouncer,
      writer: load,
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

/**
 * After a cutover that succeeded (its rejoin step included: the old primary streams from the new one),
 * the two servers swap roles for the next run.
 */
function swapAfterCutover(
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
  onSwapped: (primaryUrl: string) => void,
): RunObserver {
  const swapped = new Set<string>();
  const swap = (a: keyof DemoTargetEnv, b: keyof DemoTargetEnv) => {
    [env[a], env[b]] = [env[b], env[a]];
  };
  return {
    runChanged(run) {
      if (run.target !== DEMO_TARGET || run.state !== 'succeeded' || swapped.has(run.id)) return;
      swapped.add(run.id);
      swap('DEMO_PRIMARY_URL', 'DEMO_STANDBY_URL');
      swap('DEMO_PRIMARY_PGDATA', 'DEMO_STANDBY_PGDATA');
      onSwapped(env['DEMO_PRIMARY_URL'] ?? '');
      say(
        `cutover ${run.id.slice(0, 8)} succeeded: the primary is now ${hostPort(env['DEMO_PRIMARY_URL'])} and ` +
          `${hostPort(env['DEMO_STANDBY_URL'])} streams from it; /cutover start ${DEMO_TARGET} switches back.`,
      );
    },
  };
}

function hostPort(url: string | undefined): string {
  if (!url) return '?';
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port}`;
}

function banner(url: string, pair: PgPair, bouncer: PgBouncer | null, approvers: string[]): string[] {
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
    `  standby        ${pair.standbyUrl}   (applies commits ${DEMO_APPLY_DELAY} late, so the lag shows)`,
    ...(bouncer
      ? [`  PgBouncer      ${bouncer.clientUrl(WRITER_ROLE)}   (the write load goes through it)`]
      : []),
    '',
    'After a cutover the old primary rejoins as a standby: run /cutover start demo again to switch back.',
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

/** Signals this close together come from one key press. */
const SAME_PRESS_MS = 1_000;

/**
 * The `npm run demo` process: start, wait for SIGINT/SIGTERM, stop, exit 0. A signal while starting
 * stops what has started so far. Exits 1 when the demo cannot start.
 */
export async function runDemo(): Promise<void> {
  const say = (line: string) => void process.stdout.write(`${line}\n`);
  const controller = new AbortController();
  let demo: Demo | null = null;
  let signalled = false;

  let signalledAtMs = 0;
  const onSignal = (name: NodeJS.Signals) => {
    if (signalled) {
      // One Ctrl-C reaches this process twice under `npm run demo`: from the terminal (the whole
      // process group) and relayed by tsx. Only a later press gets an answer.
      if (Date.now() - signalledAtMs > SAME_PRESS_MS)
        say('still stopping; everything it started is being removed...');
      return;
    }
    signalled = true;
    signalledAtMs = Date.now();
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
