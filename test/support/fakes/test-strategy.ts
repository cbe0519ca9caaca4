// A strategy for tests: every step kind, compensations, and a "world" kept in PostgreSQL so that
// what an executor did survives the process that did it (crash tests count side effects there).
import { Pool } from 'pg';
import { z } from 'zod';
import { durationSchema } from '../../../src/config/units';
import { secretRefSchema } from '../../../src/config/secrets';
import { fatal, needsHuman, retryable } from '../../../src/engine/failures';
import type { Plan } from '../../../src/engine/types';
import type { TargetConfig } from '../../../src/config/types';
import type { StepContext, StepExecutor, StepResult, Strategy } from '../../../src/strategies/types';

export const testStrategySettings = z
  .object({
    /** How many times the wait step polls before it is satisfied. */
    polls: z.number().int().min(0).default(1),
    pollMs: z.number().int().min(0).default(20),
    /** The main action fails: never, always fatally, or retryably for its first N attempts. */
    actionFails: z.enum(['never', 'fatal', 'needs-human']).default('never'),
    actionRetryableFailures: z.number().int().min(0).default(0),
    /** After doing its side effect, the action blocks this long: a window for SIGKILL. */
    hangAfterEffectMs: z.number().int().min(0).default(0),
    preflightFails: z.boolean().default(false),
    /** Unused by the executors: lets config tests exercise secrets and durations. */
    dsn: secretRefSchema.optional(),
    settle: durationSchema.optional(),
  })
  .strict();

export type TestStrategySettings = z.infer<typeof testStrategySettings>;

export class TestWorld {
  readonly pool: Pool;
  constructor(
    connectionString: string,
    private readonly table: string,
  ) {
    this.pool = new Pool({ connectionString, max: 4 });
  }

  async setUp(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (id bigserial PRIMARY KEY, run_id text NOT NULL, effect text NOT NULL, pid int NOT NULL)`,
    );
  }

  async record(runId: string, effect: string): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.table} (run_id, effect, pid) VALUES ($1, $2, $3)`, [
      runId,
      effect,
      process.pid,
    ]);
  }

  async has(runId: string, effect: string): Promise<boolean> {
    const result = await this.pool.query(`SELECT 1 FROM ${this.table} WHERE run_id = $1 AND effect = $2`, [
      runId,
      effect,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async effects(runId: string): Promise<string[]> {
    const result = await this.pool.query<{ effect: string }>(
      `SELECT effect FROM ${this.table} WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return result.rows.map((row) => row.effect);
  }

  async tearDown(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS ${this.table}`);
    await this.pool.end();
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Settings were parsed by the targets loader (or the harness) already. */
function settingsOf(ctx: StepContext): TestStrategySettings {
  return ctx.target.settings as TestStrategySettings;
}

/**
 * Side effects check the world before acting, as real executors must: a step that finds its
 * effect already there (a crash after acting, before reporting) reports done without acting again.
 */
function effectOnce(
  world: TestWorld,
  effect: string,
  after?: (ctx: StepContext) => Promise<void>,
): StepExecutor {
  return {
    async execute(ctx): Promise<StepResult> {
      if (await world.has(ctx.run.id, effect)) return { type: 'done', output: { alreadyDone: true } };
      await world.record(ctx.run.id, effect);
      await after?.(ctx);
      return { type: 'done', output: { done: effect } };
    },
  };
}

export function createTestStrategy(world: TestWorld): Strategy {
  return {
    name: 'test',
    planVersion: 1,
    oldestPlanVersion: 1,
    summary: 'test strategy: check, lock, wait, gate, action',
    configSchema: testStrategySettings,
    plan(target: TargetConfig): Plan {
      return {
        strategy: 'test',
        target: target.name,
        steps: [
          { name: 'preflight', kind: 'check', title: 'Preflight', executor: 'preflight' },
          {
            name: 'take-lock',
            kind: 'action',
            title: 'Take the lock',
            executor: 'take-lock',
            compensation: { executor: 'release-lock', title: 'Release the lock' },
          },
          { name: 'wait-ready', kind: 'wait', title: 'Wait until ready', executor: 'wait-ready' },
          {
            name: 'approve',
            kind: 'gate',
            title: 'Approve the switch',
            destructive: true,
            explain: `switch ${target.name} over to the new side`,
            warning: 'The switch cannot be undone automatically once it has run.',
          },
          {
            name: 'switch',
            kind: 'action',
            title: 'Switch',
            executor: 'switch',
            compensation: { executor: 'switch-back', title: 'Switch back' },
            maxRetries: 3,
          },
        ],
      };
    },
    preflight(target) {
      const settings = target.settings as TestStrategySettings;
      return Promise.resolve([
        { name: 'target reachable', ok: true, detail: `${target.name} answers` },
        {
          name: 'preflight verdict',
          ok: !settings.preflightFails,
          detail: settings.preflightFails ? 'says no' : 'ok',
        },
      ]);
    },
    executors: {
      preflight: {
        async execute(ctx) {
          await world.record(ctx.run.id, 'preflight');
          if (settingsOf(ctx).preflightFails) throw fatal('preflight refused: the test target says no');
          return { type: 'done', output: { ok: true } };
        },
      },
      'take-lock': effectOnce(world, 'take-lock'),
      'release-lock': effectOnce(world, 'release-lock'),
      'wait-ready': {
        async execute(ctx) {
          const settings = settingsOf(ctx);
          const polls = typeof ctx.step.output?.['polls'] === 'number' ? ctx.step.output['polls'] : 0;
          await world.record(ctx.run.id, `poll-${polls}`);
          if (polls < settings.polls)
            return { type: 'wait', delayMs: settings.pollMs, output: { polls: polls + 1 } };
          return { type: 'done', output: { polls } };
        },
      },
      switch: {
        async execute(ctx) {
          const settings = settingsOf(ctx);
          if (ctx.step.retries < settings.actionRetryableFailures) {
            throw retryable(`transient failure ${ctx.step.retries + 1}`, { retryAfterMs: 10 });
          }
          // The irreversible call re-checks its condition after approval; a person's override
          // does not outrank a measured condition (the world says lag grew while the button waited).
          if (await world.has(ctx.run.id, 'lag-high')) {
            throw needsHuman('lag grew beyond the threshold after approval (64 MB > 16 MB); not switching');
          }
          if (settings.actionFails === 'fatal') throw fatal('the switch broke');
          if (settings.actionFails === 'needs-human' && !ctx.humanOverride) {
            throw needsHuman('the switch needs a person to confirm the target is safe');
          }
          return effectOnce(world, 'switch', async () => {
            if (settings.hangAfterEffectMs > 0) {
              await new Promise((resolve) => setTimeout(resolve, settings.hangAfterEffectMs));
            }
          }).execute(ctx);
        },
      },
      'switch-back': effectOnce(world, 'switch-back'),
    },
  };
}
