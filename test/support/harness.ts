// Starts the real runtime (PostgreSQL store, BullMQ on Redis, workers, reconciler) around the test
// strategy, isolated by schema and queue name so suites can run side by side.
import pino from 'pino';
import type { AppConfig, Role, TargetConfig, TargetsConfig } from '../../src/config/types';
import { startRuntime, type Runtime } from '../../src/main/runtime';
import type { Clock } from '../../src/ports/clock';
import { registryOf, type Strategy } from '../../src/strategies/types';
import { dropSchema, testDatabaseUrl } from './pg';
import { testRedisUrl } from './redis';
import {
  createTestStrategy,
  type TestStrategySettings,
  testStrategySettings,
  TestWorld,
} from './test-strategy';

export const REQUESTER = 'U0REQUESTER';
export const APPROVER = 'U0APPROVER';

export function testTarget(name: string, settings: Partial<TestStrategySettings> = {}): TargetConfig {
  return {
    name,
    strategy: 'test',
    channel: 'C0TEST0001',
    approvers: [APPROVER, 'U0SECOND'],
    approvalTimeoutMs: 15 * 60_000,
    requiredApprovals: 1,
    allowSelfApproval: false,
    windows: [],
    requireWindow: false,
    cooldownMs: 0,
    reminderMs: 15 * 60_000,
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
  const config = testAppConfig(options.role ?? 'all', options.redisDb ?? 0);
  const runtime = await startRuntime({
    config,
    targets: { path: 'test', targets: options.targets },
    strategies: registryOf([createTestStrategy(world)]),
    log: pino({ level: config.logLevel }),
    storeSchema: options.schema,
    queueName: options.queueName,
    httpPort: null,
    reconcileIntervalMs: options.reconcileIntervalMs ?? 60_000,
    tuning: {
      concurrency: 4,
      lockDurationMs: options.lockDurationMs ?? 30_000,
      stalledIntervalMs: Math.max(500, Math.floor((options.lockDurationMs ?? 30_000) / 2)),
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { runtime, world };
}

export interface StrategyRuntimeOptions {
  strategy: Strategy;
  targets: TargetsConfig;
  schema: string;
  queueName: string;
  role?: Role;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/**
 * The real runtime around one real strategy (with its ports faked at the SDK): no HTTP port, and
 * no background lag sampling, whose calls would land at random points of recorded call sequences.
 */
export function startStrategyRuntime(options: StrategyRuntimeOptions): Promise<Runtime> {
  const config = testAppConfig(options.role ?? 'all');
  const lockDurationMs = options.lockDurationMs ?? 30_000;
  return startRuntime({
    config,
    targets: options.targets,
    strategies: registryOf([options.strategy]),
    log: pino({ level: config.logLevel }),
    storeSchema: options.schema,
    queueName: options.queueName,
    httpPort: null,
    reconcileIntervalMs: 60_000,
    lagSampleIntervalMs: 3_600_000,
    tuning: {
      concurrency: 4,
      lockDurationMs,
      stalledIntervalMs: options.stalledIntervalMs ?? Math.max(500, Math.floor(lockDurationMs / 2)),
    },
  });
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
