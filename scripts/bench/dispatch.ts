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
import { dropSchema } from '../../test/support/services/pg';
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
  whileOpen,
} from './common';
import type { FigureOptions, Row } from './common';
import { chainStrategy } from './strategies';

const STEPS = 200;
/** About the length of a real plan (replica-promotion has 9 steps): shows what the 200 cost. */
const SHORT_STEPS = 10;
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
  const done = whileOpen(async () => {
    await worker.close();
    await queue.queue.obliterate({ force: true }).catch(() => undefined);
    redis.disconnect();
    await dropSchema(schema, databaseUrl);
  });
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
    done();
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
  const shortRuns = options.quick ? 5 : 10;
  const starts = new Map<string, number>();
  const key = (runId: string, step: number): string => `${runId}:${step}`;
  const bot = await startBenchBot({
    prefix: 'dispatch',
    targets: [
      benchTarget('chain-db', 'chain', CHANNEL),
      benchTarget('short-db', 'chain', CHANNEL, { steps: SHORT_STEPS }),
    ],
    strategies: [chainStrategy(STEPS, (runId, step) => starts.set(key(runId, step), performance.now()))],
    httpPort: null,
  });
  // Commit times, read where the RunService gets control back from the store; and, for the
  // breakdown, when the next job was enqueued, picked up by the worker ('active'), and when the
  // step_started transaction was begun.
  const succeededAt = new Map<string, number>();
  const startedCallAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const enqueuedAt = new Map<string, number>();
  const activeAt = new Map<string, number>();
  const store = bot.runtime.store;
  const applyEvent = store.applyEvent.bind(store);
  store.applyEvent = async (runId, event, actor, decide, seen) => {
    const called = performance.now();
    const outcome = await applyEvent(runId, event, actor, decide, seen);
    const now = performance.now();
    if (outcome.ok && event.type === 'step_succeeded') succeededAt.set(key(runId, event.step), now);
    if (outcome.ok && event.type === 'step_started') {
      startedCallAt.set(key(runId, event.step), called);
      startedAt.set(key(runId, event.step), now);
    }
    return outcome;
  };
  const queue = bot.runtime.queue;
  const enqueue = queue.enqueue.bind(queue);
  queue.enqueue = async (job, delayMs) => {
    await enqueue(job, delayMs);
    if ('step' in job) enqueuedAt.set(key(job.runId, job.step), performance.now());
  };
  bot.runtime.worker?.on('active', (job) => {
    const data = job.data as Partial<StepJobRef>;
    if (typeof data.runId === 'string' && typeof data.step === 'number') {
      activeAt.set(key(data.runId, data.step), performance.now());
    }
  });

  const stages = [
    'commitToEnqueued',
    'enqueuedToActive',
    'activeToStartedBegin',
    'startedTransaction',
    'startedCommitToExecutor',
  ] as const;
  type Samples = Record<'total' | (typeof stages)[number], number[]>;
  const samples = (): Samples =>
    ({
      total: [] as number[],
      ...Object.fromEntries(stages.map((stage) => [stage, [] as number[]])),
    }) as Samples;
  const bot_ = samples();
  const short = samples();
  const base: number[] = [];
  const runOnce = async (name: string, steps: number, into: Samples): Promise<void> => {
    const target = bot.runtime.findTarget(name);
    if (!target) throw new Error(`no ${name} target`);
    const outcome = await bot.runtime.runs.start({ target, requestedBy: REQUESTER, channel: CHANNEL });
    if (!outcome.ok) throw new Error(`chain run did not start: ${outcome.message}`);
    const runId = outcome.run.id;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const run = await store.getRun(runId);
      if (run?.state === 'succeeded') break;
      if (run && run.state !== 'running') throw new Error(`chain run ended ${run.state}: ${run.outcome}`);
      if (Date.now() > deadline) throw new Error('chain run did not finish in 120 s');
      await sleep(20);
    }
    for (let step = 1; step < steps; step++) {
      const k = key(runId, step);
      const committed = succeededAt.get(key(runId, step - 1));
      const times = [
        enqueuedAt.get(k),
        activeAt.get(k),
        startedCallAt.get(k),
        startedAt.get(k),
        starts.get(k),
      ];
      const executor = starts.get(k);
      if (committed === undefined || executor === undefined) continue;
      into.total.push(executor - committed);
      if (times.some((t) => t === undefined)) continue;
      const points = [committed, ...(times as number[])];
      stages.forEach((stage, i) => into[stage].push((points[i + 1] as number) - (points[i] as number)));
    }
  };

  try {
    // Warm-up of both paths (JIT, pools), not counted.
    await baselineChain(20, []);
    await runOnce('chain-db', STEPS, samples());
    const long = () => runOnce('chain-db', STEPS, bot_);
    const shorts = async () => {
      for (let i = 0; i < shortRuns; i++) await runOnce('short-db', SHORT_STEPS, short);
    };
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await long();
        await baselineChain(STEPS, base);
        await shorts();
      } else {
        await shorts();
        await baselineChain(STEPS, base);
        await long();
      }
    }
    await bot.runtime.notifier?.flush({ timeoutMs: 10_000 }).catch(() => undefined);
  } finally {
    await bot.close();
  }
  const subject = summarize(bot_.total);
  const baseline = summarize(base);
  const shortSubject = summarize(short.total);
  const breakdown = (of: Samples) => Object.fromEntries(stages.map((stage) => [stage, summarize(of[stage])]));
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
        // Where the time goes, stage by stage (p50s do not add up exactly to the total's p50).
        breakdown: breakdown(bot_),
        baselineIs: 'BullmqStepQueue + startStepWorker + one UPDATE/COMMIT per step, no engine',
      },
    },
    {
      figure: 'dispatch',
      metric: `the same with ${SHORT_STEPS}-step runs (× ${rounds * shortRuns}), same baseline`,
      unit: 'ms',
      subject: shortSubject,
      baseline,
      ratio: { value: shortSubject.p50 / baseline.p50, of: 'p50' },
      goal: 'p50 < 10 ms',
      verdict: shortSubject.p50 < 10 ? 'met' : 'missed',
      details: { breakdown: breakdown(short) },
    },
  ];
}
