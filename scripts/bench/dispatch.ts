// Figure 2: step dispatch. Over a run of 200 no-op steps, the time from one step's completion being
// committed (PgRunStore.applyEvent of its step_succeeded has returned, i.e. COMMIT was acknowledged)
// to the next step's executor starting (first statement of the executor), both read with
// performance.now() in the one process that runs the whole runtime (ROLE=all).
//
// In between, the bot: enqueues the next job (BullMQ), notifies observers, a worker picks the job up,
// the step processor reads the run (one REPEATABLE READ transaction), checks the maintenance window,
// commits step_started (a locked transaction with an audit row), and calls the executor.
//
// Baseline, in alternating rounds: the same BullMQ adapter (BullmqStepQueue + startStepWorker, same
// tuning) with a bare PostgreSQL transaction per step (UPDATE one row, COMMIT, enqueue the next job):
// the floor that queue and database impose without the engine.
import { Pool } from 'pg';
import { BullmqStepQueue, startStepWorker } from '../../src/adapters/queue/bullmq-step-queue';
import { connectRedis } from '../../src/adapters/redis/connection';
import type { StepJobRef } from '../../src/engine/types';
import { dropSchema } from '../../test/support/pg';
import {
  benchTarget,
  databaseUrl,
  freshQueueName,
  freshSchemaName,
  REQUESTER,
  redisUrl,
  sleep,
  startBenchBot,
  summarize,
} from './common';
import type { FigureOptions, Row } from './common';
import { chainStrategy } from './strategies';

const STEPS = 200;
const CHANNEL = 'C0BENCHCHAIN';

/** One run of the baseline chain: `steps` jobs, each committing a transaction and enqueuing the next. */
async function baselineChain(steps: number, into: number[]): Promise<void> {
  const schema = freshSchemaName('bench_chain');
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  const redis = connectRedis(redisUrl);
  const queue = new BullmqStepQueue(redis, freshQueueName('bench-chain'));
  const commits = new Map<number, number>();
  let finish: (() => void) | null = null;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const runId = `chain-${schema}`;
  const worker = startStepWorker(
    redis,
    queue.name,
    async (job: StepJobRef) => {
      const startedAt = performance.now();
      const committed = commits.get(job.step - 1);
      if (committed !== undefined) into.push(startedAt - committed);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`UPDATE "${schema}".chain SET step = $1, at = now() WHERE id = 1`, [job.step]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      commits.set(job.step, performance.now());
      if (job.step + 1 < steps) {
        await queue.enqueue({ runId, step: job.step + 1, attempt: 1, mode: 'execute' }, 0);
      } else {
        finish?.();
      }
    },
    { concurrency: 8, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
  );
  try {
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".chain (id int PRIMARY KEY, step int, at timestamptz)`);
    await pool.query(`INSERT INTO "${schema}".chain VALUES (1, -1, now())`);
    await worker.waitUntilReady();
    await queue.enqueue({ runId, step: 0, attempt: 1, mode: 'execute' }, 0);
    await Promise.race([
      finished,
      sleep(60_000).then(() => {
        throw new Error('baseline chain did not finish in 60 s');
      }),
    ]);
  } finally {
    await worker.close();
    await queue.queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
    await pool.end();
    await dropSchema(schema, databaseUrl);
  }
}

export async function benchDispatch(options: FigureOptions): Promise<Row[]> {
  const rounds = options.quick ? 1 : 3;
  const starts = new Map<string, number>();
  const key = (runId: string, step: number): string => `${runId}:${step}`;
  const bot = await startBenchBot({
    prefix: 'dispatch',
    targets: [benchTarget('chain-db', 'chain', CHANNEL)],
    strategies: [chainStrategy(STEPS, (runId, step) => starts.set(key(runId, step), performance.now()))],
    httpPort: null,
  });
  // Commit times, read where the RunService gets control back from the store.
  const succeededAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const store = bot.runtime.store;
  const applyEvent = store.applyEvent.bind(store);
  store.applyEvent = async (runId, event, actor, seen) => {
    const outcome = await applyEvent(runId, event, actor, seen);
    const now = performance.now();
    if (outcome.ok && event.type === 'step_succeeded') succeededAt.set(key(runId, event.step), now);
    if (outcome.ok && event.type === 'step_started') startedAt.set(key(runId, event.step), now);
    return outcome;
  };

  const bot_ = { total: [] as number[], toStartedCommit: [] as number[], startedToExecutor: [] as number[] };
  const base: number[] = [];
  const runOnce = async (): Promise<void> => {
    const target = bot.runtime.findTarget('chain-db');
    if (!target) throw new Error('no chain-db target');
    const outcome = await bot.runtime.runs.start({ target, requestedBy: REQUESTER, channel: CHANNEL });
    if (!outcome.ok) throw new Error(`chain run did not start: ${outcome.message}`);
    const runId = outcome.run.id;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const run = await store.getRun(runId);
      if (run?.state === 'succeeded') break;
      if (run && run.state !== 'running') throw new Error(`chain run ended ${run.state}: ${run.outcome}`);
      if (Date.now() > deadline) throw new Error('chain run did not finish in 120 s');
      await sleep(100);
    }
    for (let step = 1; step < STEPS; step++) {
      const committed = succeededAt.get(key(runId, step - 1));
      const started = startedAt.get(key(runId, step));
      const executor = starts.get(key(runId, step));
      if (committed === undefined || started === undefined || executor === undefined) continue;
      bot_.total.push(executor - committed);
      bot_.toStartedCommit.push(started - committed);
      bot_.startedToExecutor.push(executor - started);
    }
  };

  try {
    // Warm-up of both paths (JIT, pools), not counted.
    await baselineChain(20, []);
    await runOnce();
    bot_.total.length = 0;
    bot_.toStartedCommit.length = 0;
    bot_.startedToExecutor.length = 0;
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await runOnce();
        await baselineChain(STEPS, base);
      } else {
        await baselineChain(STEPS, base);
        await runOnce();
      }
    }
    await bot.runtime.notifier?.flush({ timeoutMs: 10_000 }).catch(() => undefined);
  } finally {
    await bot.close();
  }
  const subject = summarize(bot_.total);
  const baseline = summarize(base);
  options.log(
    `dispatch: bot p50 ${subject.p50.toFixed(2)} p99 ${subject.p99.toFixed(2)} | baseline p50 ${baseline.p50.toFixed(2)} p99 ${baseline.p99.toFixed(2)}`,
  );
  return [
    {
      figure: 'dispatch',
      metric: `step dispatch, commit → next executor (${STEPS} no-op steps × ${rounds})`,
      unit: 'ms',
      subject,
      baseline,
      ratio: { value: subject.p50 / baseline.p50, of: 'p50' },
      goal: 'p50 < 10 ms',
      verdict: subject.p50 < 10 ? 'met' : 'missed',
      details: {
        commitToStepStartedCommit: summarize(bot_.toStartedCommit),
        stepStartedCommitToExecutor: summarize(bot_.startedToExecutor),
        baselineIs: 'BullmqStepQueue + startStepWorker + one UPDATE/COMMIT per step, no engine',
      },
    },
  ];
}
