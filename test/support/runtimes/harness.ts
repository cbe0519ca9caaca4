// Starts the real runtime (PostgreSQL store, BullMQ on Redis, workers, reconciler) around the test
// strategy or one real strategy, isolated by schema and queue name so suites can run side by side.
import pino, { type Logger } from 'pino';
import { TARGET_DEFAULTS } from '../../../src/config/target-defaults';
import { parseTargets } from '../../../src/config/targets';
import type { AppConfig, Role, TargetConfig, TargetsConfig } from '../../../src/config/types';
import type { Run } from '../../../src/engine/types';
import { startRuntime, type Runtime } from '../../../src/main/runtime';
import type { Clock } from '../../../src/ports/clock';
import { configSchemasOf } from '../../../src/strategies';
import { registryOf, type Strategy } from '../../../src/strategies/types';
import { dropSchema, testDatabaseUrl } from '../services/pg';
import { testRedisUrl } from '../services/redis';
import {
  createTestStrategy,
  type TestStrategySettings,
  testStrategySettings,
  TestWorld,
} from '../fakes/test-strategy';

export const REQUESTER = 'U0REQUESTER';
export const APPROVER = 'U0APPROVER';

export function testTarget(name: string, settings: Partial<TestStrategySettings> = {}): TargetConfig {
  return {
    name,
    strategy: 'test',
    channel: 'C0TEST0001',
    approvers: [APPROVER, 'U0SECOND'],
    ...TARGET_DEFAULTS,
    windows: [],
    settings: testStrategySettings.parse({ polls: 1, pollMs: 20, ...settings }),
  };
}

export function testAppConfig(role: Role = 'all', redisDb = 0): AppConfig {
  return {
    slack: null,
    databaseUrl: testDatabaseUrl,
    redisUrl: testRedisUrl(redisDb),
    configPath: '/dev/null',
    port: 0,
    role,
    logLevel: process.env['TEST_LOG_LEVEL'] ?? 'silent',
  };
}

export interface HarnessOptions {
  schema: string;
  queueName: string;
  targets: TargetConfig[];
  role?: Role;
  redisDb?: number;
  clock?: Clock;
  reconcileIntervalMs?: number;
  lockDurationMs?: number;
}

export async function startTestRuntime(
  options: HarnessOptions,
): Promise<{ runtime: Runtime; world: TestWorld }> {
  const world = new TestWorld(testDatabaseUrl, `${options.schema}_world`);
  await world.setUp();
  const runtime = await startStrategyRuntime({
    strategy: createTestStrategy(world),
    targets: { path: 'test', targets: options.targets },
    schema: options.schema,
    queueName: options.queueName,
    role: options.role ?? 'all',
    redisUrl: testRedisUrl(options.redisDb ?? 0),
    reconcileIntervalMs: options.reconcileIntervalMs ?? 60_000,
    lagSampleIntervalMs: null,
    lockDurationMs: options.lockDurationMs,
    clock: options.clock,
  });
  return { runtime, world };
}

/**
 * A targets file (YAML, or JSON: a YAML document too) through the real loader, validated against
 * `strategy`'s own config schema; `env:` references resolve in `env` (at use, for secrets).
 */
export function strategyTargets(
  strategy: Strategy,
  yaml: string,
  options: { env?: NodeJS.ProcessEnv; file?: string } = {},
): TargetsConfig {
  return parseTargets(yaml, options.file ?? 'targets.yaml', {
    env: options.env ?? {},
    strategies: configSchemasOf(registryOf([strategy])),
  });
}

export interface StrategyRuntimeOptions {
  /** One strategy, or several (a registry of them). */
  strategy: Strategy | Strategy[];
  /** Parsed targets: from strategyTargets, or built in code. */
  targets: TargetsConfig;
  schema: string;
  queueName: string;
  role?: Role;
  /** Steps a worker runs at once (default 4). */
  concurrency?: number;
  /** A job's lock (default 30 s); crash tests shorten it so a dead worker's job is taken again soon. */
  lockDurationMs?: number;
  /** Default: half the lock, at least 500 ms. */
  stalledIntervalMs?: number;
  /** Default 60 s: the tests drive their runs themselves. `null`: the runtime's own interval. */
  reconcileIntervalMs?: number | null;
  /**
   * Default 1 h: no background lag sampling, whose calls would land at random points of recorded
   * call sequences. `null`: the runtime's own interval.
   */
  lagSampleIntervalMs?: number | null;
  /** The bot's store and Redis: default the shared test database and Redis (database 0). */
  databaseUrl?: string;
  redisUrl?: string;
  /** Anything else of the app's configuration (Slack, metrics, the local console opt-in). */
  config?: Partial<AppConfig>;
  /** Default null: no HTTP server. 0: one on a free port (Slack, /metrics, /healthz, the console). */
  httpPort?: number | null;
  log?: Logger;
  clock?: Clock;
  localConsole?: boolean;
}

/**
 * The real runtime (PostgreSQL store, BullMQ on Redis, workers, reconciler) around one strategy or a
 * few (the test strategy, or a real one with its ports faked at the SDK or pointed at local servers),
 * isolated by schema and queue name. Every suite's runtime is built here.
 */
export function startStrategyRuntime(options: StrategyRuntimeOptions): Promise<Runtime> {
  const base = testAppConfig(options.role ?? 'all');
  const config: AppConfig = {
    ...base,
    databaseUrl: options.databaseUrl ?? base.databaseUrl,
    redisUrl: options.redisUrl ?? base.redisUrl,
    ...options.config,
  };
  const lockDurationMs = options.lockDurationMs ?? 30_000;
  const reconcileIntervalMs =
    options.reconcileIntervalMs === undefined ? 60_000 : options.reconcileIntervalMs;
  const lagSampleIntervalMs =
    options.lagSampleIntervalMs === undefined ? 3_600_000 : options.lagSampleIntervalMs;
  return startRuntime({
    config,
    targets: options.targets,
    strategies: registryOf(Array.isArray(options.strategy) ? options.strategy : [options.strategy]),
    log: options.log ?? pino({ level: config.logLevel }),
    storeSchema: options.schema,
    queueName: options.queueName,
    httpPort: options.httpPort ?? null,
    ...(reconcileIntervalMs !== null ? { reconcileIntervalMs } : {}),
    ...(lagSampleIntervalMs !== null ? { lagSampleIntervalMs } : {}),
    tuning: {
      concurrency: options.concurrency ?? 4,
      lockDurationMs,
      stalledIntervalMs: options.stalledIntervalMs ?? Math.max(500, Math.floor(lockDurationMs / 2)),
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.localConsole !== undefined ? { localConsole: options.localConsole } : {}),
  });
}

/** Starts a run of target `name` as the requester; throws when there is no such target or the bot refuses. */
export async function startRun(runtime: Runtime, name: string): Promise<Run> {
  const target = runtime.findTarget(name);
  if (!target) throw new Error(`no target ${name}`);
  const outcome = await runtime.runs.start({ target, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

/** Stops a runtime and removes what it left in Redis (its queue) and PostgreSQL (its schema). */
export async function stopRuntimeAndClean(runtime: Runtime, schema: string): Promise<void> {
  await runtime.worker?.close();
  await runtime.queue.queue.obliterate({ force: true });
  await runtime.close();
  await dropSchema(schema);
}

/** Stops the runtime and removes everything the suite left: queue keys, world table, schema. */
export async function stopTestRuntime(runtime: Runtime, world: TestWorld, schema: string): Promise<void> {
  await stopRuntimeAndClean(runtime, schema);
  await world.tearDown();
}
