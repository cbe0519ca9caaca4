// Shared pieces of the benchmark: statistics, result rows, the bot's runtime in Slack mode against
// the local Slack Web API, and the machine description. Each figure is measured side by side with its
// baseline in the same process, in alternating rounds, so a noisy shared machine hurts both alike.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { TARGET_DEFAULTS } from '../../src/config/target-defaults';
import { parseTargets } from '../../src/config/targets';
import type { AppConfig, TargetConfig } from '../../src/config/types';
import { SlackApiServer } from '../../src/console/slack-api-server';
import { findPgBinDir } from '../../src/demo/pg-cluster';
import { startRuntime, type Runtime } from '../../src/main/runtime';
import { configSchemasOf } from '../../src/strategies';
import { registryOf, type Strategy } from '../../src/strategies/types';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../test/support/services/pg';
import { freshQueueName } from '../../test/support/services/redis';

export const databaseUrl: string = process.env['BENCH_DATABASE_URL'] ?? testDatabaseUrl;
export const redisUrl: string = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
export const TEAM = 'T0BENCH';
export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
export const REQUESTER = 'U0REQUESTER';
export const APPROVER = 'U0APPROVER';

export { freshSchemaName, freshQueueName };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// Statistics

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.length ? sum / sorted.length : NaN,
    max: sorted.length ? (sorted[sorted.length - 1] as number) : NaN,
  };
}

// ---------------------------------------------------------------------------------------------------
// Result rows

export type Verdict = 'met' | 'missed' | 'info';

export interface Row {
  figure: string;
  metric: string;
  unit: string;
  subject: Summary | null;
  baseline: Summary | null;
  /** Subject over baseline, and which statistic it compares. */
  ratio: { value: number; of: 'p50' | 'p99' | 'value' } | null;
  /** A single figure without a distribution (calls per run-minute, CPU). */
  value?: number;
  /** The baseline's single figure, when `value` is used. */
  baselineValue?: number;
  goal: string;
  verdict: Verdict;
  /** Anything else the reader needs: breakdowns, counts. */
  details?: Record<string, unknown>;
}

export interface FigureOptions {
  quick: boolean;
  log: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------
// Cleanup on Ctrl-C: what is open right now, closed by index.ts before it exits

const openResources = new Set<() => Promise<void>>();

/** Registers `close` until the returned function is called (after a normal close). */
export function whileOpen(close: () => Promise<void>): () => void {
  openResources.add(close);
  return () => openResources.delete(close);
}

/** Closes everything still registered, newest first, each bounded to 10 s. */
export async function closeAllOpen(): Promise<void> {
  for (const close of [...openResources].reverse()) {
    openResources.delete(close);
    await Promise.race([close().catch(() => undefined), sleep(10_000)]);
  }
}

// ---------------------------------------------------------------------------------------------------
// The bot

export interface BenchBot {
  runtime: Runtime;
  /** The local Slack Web API, when this process runs it (not when `slackApi` was given). */
  slack: SlackApiServer;
  eventsUrl: string | null;
  schema: string;
  close(): Promise<void>;
}

/**
 * The real runtime (ROLE=all) in Slack mode: Bolt's HTTP receiver on a loopback port, the notifier
 * posting to the local Slack Web API, which records every call. Its own schema and queue; `close`
 * removes both.
 */
export async function startBenchBot(options: {
  prefix: string;
  targets: TargetConfig[];
  strategies: Strategy[];
  httpPort?: number | null;
  lagSampleIntervalMs?: number;
  concurrency?: number;
}): Promise<BenchBot> {
  const slack = await SlackApiServer.start({ teamId: TEAM });
  return startBotWith(options, slack, slack);
}

/**
 * The bot with one strategy and the targets of `yaml`, validated as a targets file is (its `env:`
 * references resolved from `env`), and no HTTP server: the figures that run real cutovers.
 */
export async function startBenchBotFor(
  prefix: string,
  strategy: Strategy,
  yaml: string,
  env: NodeJS.ProcessEnv,
): Promise<BenchBot> {
  const targets = parseTargets(yaml, `bench-${prefix}.yaml`, {
    env,
    strategies: configSchemasOf(registryOf([strategy])),
  });
  return startBenchBot({ prefix, targets: [...targets.targets], strategies: [strategy], httpPort: null });
}

/** The bot against a Slack Web API served elsewhere (another process); `slack` is then null. */
export async function startBenchBotWithApi(
  options: Parameters<typeof startBenchBot>[0],
  api: { url: string; botToken: string },
): Promise<Omit<BenchBot, 'slack'>> {
  return startBotWith(options, api, null);
}

async function startBotWith<S extends SlackApiServer | null>(
  options: Parameters<typeof startBenchBot>[0],
  slackApi: { url: string; botToken: string },
  server: S,
): Promise<Omit<BenchBot, 'slack'> & { slack: S }> {
  const slack = { url: slackApi.url, botToken: slackApi.botToken, close: () => server?.close() };
  const schema = freshSchemaName(`bench_${options.prefix}`);
  const queueName = freshQueueName(`bench-${options.prefix}`);
  const config: AppConfig = {
    slack: { signingSecret: SIGNING_SECRET, botToken: slack.botToken, appToken: null, apiUrl: slack.url },
    databaseUrl,
    redisUrl,
    configPath: '/dev/null',
    port: 0,
    role: 'all',
    logLevel: process.env['BENCH_LOG_LEVEL'] ?? 'silent',
  };
  let runtime: Runtime;
  try {
    runtime = await startRuntime({
      config,
      targets: { path: 'bench', targets: options.targets },
      strategies: registryOf(options.strategies),
      log: pino({ level: config.logLevel }),
      storeSchema: schema,
      queueName,
      httpPort: options.httpPort === undefined ? 0 : options.httpPort,
      ...(options.lagSampleIntervalMs ? { lagSampleIntervalMs: options.lagSampleIntervalMs } : {}),
      // The production worker settings (concurrency 8, 30 s locks).
      tuning: { concurrency: options.concurrency ?? 8, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    });
  } catch (error) {
    await slack.close();
    await dropSchema(schema, databaseUrl).catch(() => undefined);
    throw error;
  }
  const eventsUrl = runtime.http ? `http://127.0.0.1:${runtime.http.port}/slack/events` : null;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    done();
    await runtime.worker?.close();
    await runtime.queue.queue.obliterate({ force: true }).catch(() => undefined);
    await runtime.close();
    await slack.close();
    await dropSchema(schema, databaseUrl);
  };
  const done = whileOpen(close);
  return { runtime, slack: server, eventsUrl, schema, close };
}

/** A target the bench's own strategies plan for (no windows, no cooldown, one approval). */
export function benchTarget(
  name: string,
  strategy: string,
  channel: string,
  settings: Readonly<Record<string, unknown>> = {},
): TargetConfig {
  return {
    name,
    strategy,
    channel,
    approvers: [APPROVER],
    ...TARGET_DEFAULTS,
    windows: [],
    settings,
  };
}

// ---------------------------------------------------------------------------------------------------
// The machine

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: number[];
  node: string;
  postgresState: string;
  postgresPair: string;
  redis: string;
  os: string;
}

async function postgresVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

function pairVersion(): string {
  try {
    return execFileSync(`${findPgBinDir()}/postgres`, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not installed';
  }
}

function osName(): string {
  try {
    const release = execFileSync('cat', ['/etc/os-release'], { encoding: 'utf8' });
    return /PRETTY_NAME="([^"]+)"/.exec(release)?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}

export async function describeMachine(): Promise<Machine> {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    postgresState: await postgresVersion(databaseUrl).catch(
      (error: Error) => `unreachable: ${error.message}`,
    ),
    postgresPair: pairVersion(),
    redis: await redisVersion(redisUrl).catch((error: Error) => `unreachable: ${error.message}`),
    os: osName(),
  };
}

/** Schemas named bench_* in the state database, and BullMQ keys of bench-* queues in Redis. */
export async function leftoverData(): Promise<{ schemas: string[]; redisKeys: number }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  let schemas: string[];
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'bench\\_%'",
    );
    schemas = rows.map((row) => row.name);
  } finally {
    await client.end();
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisKeys = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'bull:bench-*', 'COUNT', 1000);
      cursor = next;
      redisKeys += keys.length;
    } while (cursor !== '0');
  } finally {
    // quit waits for the server to close the connection: the open-connection check comes next.
    await redis.quit().catch(() => redis.disconnect());
  }
  return { schemas, redisKeys };
}

/** `pgrep -a <name>` lines (empty when none). */
export function processes(name: string): string[] {
  try {
    return execFileSync('pgrep', ['-a', name], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}
