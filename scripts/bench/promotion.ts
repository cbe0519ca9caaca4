// Figure 3: the write-unavailable window of a self-managed replica promotion on a local pair
// (initdb + pg_basebackup, src/demo/pg-cluster.ts) under continuous write load (startWriter, one
// INSERT every 2 ms on the primary).
//
// Bot: the real replica-promotion strategy in the real runtime, started and approved through
// RunService; the window is what its report states (fence-and-promote's fencedAtMs, taken just before
// the fence, to its writableAtMs, taken once a test write on the new primary was accepted).
// Script: a minimal `pg` script doing the same fence (ALTER SYSTEM read-only + reload, wait until new
// sessions are read-only, terminate client backends, wait until WAL is written to the insert
// position), catch-up (poll replay LSN) and promote (pg_promote(false), poll pg_is_in_recovery), then
// one INSERT on the new primary; the window is fence start to that INSERT's acknowledgement.
// Both: an outside prober on the standby also tries an INSERT every 2 ms; its first accepted write,
// from the same fence start, is reported as a second, identical-for-both measure.
// Rounds alternate bot and script, each on a fresh pair that is destroyed right after.
import { Client } from 'pg';
import { AwsRdsAdapter } from '../../src/adapters/aws/rds-adapter';
import { ProcessHookRunner } from '../../src/adapters/hooks/process-hook-runner';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import { parseTargets } from '../../src/config/targets';
import { startPgPair, startWriter, type PgPair, type Writer } from '../../src/demo/pg-cluster';
import type { Run } from '../../src/engine/types';
import { configSchemasOf } from '../../src/strategies';
import { createReplicaPromotion } from '../../src/strategies/replica-promotion';
import { FENCE_AND_PROMOTE_STEP } from '../../src/strategies/replica-promotion/plan';
import { registryOf } from '../../src/strategies/types';
import { APPROVER, REQUESTER, sleep, startBenchBot, summarize, whileOpen, type BenchBot } from './common';
import type { FigureOptions, Row } from './common';

const CHANNEL = 'C0BENCHPROMO';

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Keeps trying one INSERT on `url` every 2 ms; `firstAt` is the Date.now() of the first accepted one. */
function startProber(url: string): { firstAt: () => number | null; stop: () => Promise<void> } {
  let firstAt: number | null = null;
  let stopped = false;
  const done = (async () => {
    const client = await connect(url);
    try {
      while (!stopped && firstAt === null) {
        try {
          await client.query('INSERT INTO bench_probe DEFAULT VALUES');
          firstAt = Date.now();
        } catch {
          await sleep(2);
        }
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return {
    firstAt: () => firstAt,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A fresh pair with the probe table replicated and the write load running. */
async function preparePair(): Promise<{ pair: PgPair; writer: Writer }> {
  const pair = await startPgPair();
  // On Ctrl-C; pg-cluster's exit hook would also stop and remove it.
  whileOpen(() => pair.destroy());
  try {
    const primary = await connect(pair.primaryUrl);
    await primary.query('CREATE TABLE bench_probe (id serial PRIMARY KEY, at timestamptz DEFAULT now())');
    await primary.end();
    const standby = await connect(pair.standbyUrl);
    await until('the probe table on the standby', 10_000, async () =>
      (await standby.query<{ t: string | null }>("SELECT to_regclass('bench_probe')::text AS t")).rows[0]?.t
        ? true
        : undefined,
    );
    await standby.end();
    const writer = await startWriter(pair.primaryUrl, 'orders', { intervalMs: 2 });
    await until('writes flowing', 10_000, () =>
      Promise.resolve(writer.acknowledged.length > 20 ? true : undefined),
    );
    return { pair, writer };
  } catch (error) {
    await pair.destroy();
    throw error;
  }
}

/** The minimal script: fence, catch up, promote, write. Returns [fence start, write accepted] (Date.now()). */
async function scriptPromotion(pair: PgPair): Promise<{ t0: number; t1: number }> {
  const admin = await connect(pair.primaryUrl);
  const standby = await connect(pair.standbyUrl);
  try {
    const t0 = Date.now();
    // Fence.
    await admin.query('ALTER SYSTEM SET default_transaction_read_only = on');
    await admin.query('SELECT pg_reload_conf()');
    for (;;) {
      const fresh = await connect(pair.primaryUrl);
      const row = (
        await fresh.query<{ v: string }>("SELECT current_setting('default_transaction_read_only') AS v")
      ).rows[0];
      await fresh.end();
      if (row?.v === 'on') break;
      await sleep(5);
    }
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    const pids = rows.map((row) => row.pid);
    if (pids.length > 0) {
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
      for (;;) {
        const left = await admin.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])',
          [pids],
        );
        if (left.rows[0]?.n === 0) break;
        await sleep(5);
      }
    }
    const insert = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn'))
      .rows[0]?.lsn as string;
    let finalLsn = insert;
    for (;;) {
      const written = await admin.query<{ lsn: string; done: boolean }>(
        // Written up to the insert position (an insert position just past a page header counts as reached).
        `SELECT pg_current_wal_lsn()::text AS lsn,
                pg_current_wal_lsn() >= $1::pg_lsn - (CASE WHEN ($1::pg_lsn - '0/0'::pg_lsn) % 8192 IN (24, 40)
                                                           THEN (($1::pg_lsn - '0/0'::pg_lsn) % 8192) ELSE 0 END) AS done`,
        [insert],
      );
      if (written.rows[0]?.done) {
        finalLsn = written.rows[0].lsn;
        break;
      }
      await sleep(5);
    }
    // Catch up.
    for (;;) {
      const caught = await standby.query<{ ok: boolean }>(
        'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok',
        [finalLsn],
      );
      if (caught.rows[0]?.ok) break;
      await sleep(2);
    }
    // Promote.
    await standby.query('SELECT pg_promote(false)');
    for (;;) {
      const r = await standby.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      if (r.rows[0]?.r === false) break;
      await sleep(5);
    }
    // First write on the new primary.
    for (;;) {
      try {
        await standby.query('INSERT INTO bench_probe DEFAULT VALUES');
        break;
      } catch {
        await sleep(2);
      }
    }
    return { t0, t1: Date.now() };
  } finally {
    await admin.end().catch(() => undefined);
    await standby.end().catch(() => undefined);
  }
}

export async function benchPromotion(options: FigureOptions): Promise<Row[]> {
  const rounds = options.quick ? 2 : 4;
  const env: NodeJS.ProcessEnv = {};
  const names = Array.from({ length: rounds + 1 }, (_, i) => `promo-${i}`);
  const envName = (name: string, side: string) => `${name.replace('-', '_').toUpperCase()}_${side}`;
  for (const name of names) {
    env[envName(name, 'PRIMARY')] = 'postgres://unset';
    env[envName(name, 'STANDBY')] = 'postgres://unset';
  }
  const strategy = createReplicaPromotion({
    replication: new PgReplication(),
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
  });
  const yaml = [
    `defaults:\n  channel: ${CHANNEL}\n  approvers: [${APPROVER}]\ntargets:`,
    ...names.map(
      (name) => `  - name: ${name}
    strategy: replica-promotion
    postgres: { primary: env:${envName(name, 'PRIMARY')}, standby: env:${envName(name, 'STANDBY')}, catchUpTimeout: 10m }
    maxLag: { bytes: 16MB, seconds: 5 }
    lagPollInterval: 100ms`,
    ),
    '',
  ].join('\n');
  const targets = parseTargets(yaml, 'bench-promotion.yaml', {
    env,
    strategies: configSchemasOf(registryOf([strategy])),
  });

  const bot: BenchBot = await startBenchBot({
    prefix: 'promo',
    targets: [...targets.targets],
    strategies: [strategy],
    httpPort: null,
  });
  const botWindows: number[] = [];
  const botProbed: number[] = [];
  const scriptWindows: number[] = [];
  const scriptProbed: number[] = [];
  const botDetail: Record<string, number>[] = [];

  const botRound = async (name: string): Promise<void> => {
    const { pair, writer } = await preparePair();
    let prober: ReturnType<typeof startProber> | null = null;
    try {
      env[envName(name, 'PRIMARY')] = pair.primaryUrl;
      env[envName(name, 'STANDBY')] = pair.standbyUrl;
      const target = bot.runtime.findTarget(name);
      if (!target) throw new Error(`no target ${name}`);
      const started = await bot.runtime.runs.start({ target, requestedBy: REQUESTER, channel: CHANNEL });
      if (!started.ok) throw new Error(`promotion did not start: ${started.message}`);
      const runId = started.run.id;
      const gated = await until('the approval gate', 60_000, async () => {
        const run = await bot.runtime.store.getRun(runId);
        if (run && run.state !== 'running' && run.state !== 'awaiting_approval')
          throw new Error(`run ended ${run.state} before the gate: ${run.outcome}`);
        return run?.state === 'awaiting_approval' ? run : undefined;
      });
      const gate = gated.steps[gated.currentStep];
      prober = startProber(pair.standbyUrl);
      await sleep(50);
      const approved = await bot.runtime.runs.approve(
        runId,
        gated.currentStep,
        gate?.gate?.round ?? 1,
        APPROVER,
        {
          typed: name,
        },
      );
      if (!approved.ok) throw new Error(`approval refused: ${approved.error}`);
      const done: Run = await until('the run to finish', 120_000, async () => {
        const run = await bot.runtime.store.getRun(runId);
        return run && ['succeeded', 'failed', 'aborted'].includes(run.state) ? run : undefined;
      });
      if (done.state !== 'succeeded') throw new Error(`promotion ended ${done.state}: ${done.outcome}`);
      const output = (step: string) => done.steps.find((s) => s.spec.name === step)?.output ?? {};
      const windowMs = Number(output('report')['writeUnavailableMs']);
      const promoted = output(FENCE_AND_PROMOTE_STEP);
      const fencedAtMs = Number(promoted['fencedAtMs']);
      await until('the prober', 10_000, () => Promise.resolve(prober?.firstAt() ?? undefined));
      botWindows.push(windowMs);
      botProbed.push((prober.firstAt() as number) - fencedAtMs);
      const phases = promoted['phasesMs'] as Record<string, number> | undefined;
      if (phases) botDetail.push(phases);
    } finally {
      await prober?.stop();
      await writer.stop();
      await pair.destroy();
    }
  };

  const scriptRound = async (): Promise<void> => {
    const { pair, writer } = await preparePair();
    const prober = startProber(pair.standbyUrl);
    try {
      await sleep(50);
      const { t0, t1 } = await scriptPromotion(pair);
      await until('the prober', 10_000, () => Promise.resolve(prober.firstAt() ?? undefined));
      scriptWindows.push(t1 - t0);
      scriptProbed.push((prober.firstAt() as number) - t0);
    } finally {
      await prober.stop();
      await writer.stop();
      await pair.destroy();
    }
  };

  try {
    // Warm-up: one bot run (first strategy use, JIT), not counted.
    await botRound(names[rounds] as string);
    botWindows.length = 0;
    botProbed.length = 0;
    botDetail.length = 0;
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        await botRound(names[round] as string);
        await scriptRound();
      } else {
        await scriptRound();
        await botRound(names[round] as string);
      }
      options.log(
        `promotion round ${round + 1}/${rounds}: bot ${botWindows.at(-1)} ms (probe ${botProbed.at(-1)}), script ${scriptWindows.at(-1)} ms (probe ${scriptProbed.at(-1)})`,
      );
    }
    await bot.runtime.notifier?.flush({ timeoutMs: 10_000 }).catch(() => undefined);
  } finally {
    await bot.close();
  }

  const subject = summarize(botWindows);
  const baseline = summarize(scriptWindows);
  const probedSubject = summarize(botProbed);
  const probedBaseline = summarize(scriptProbed);
  const ratio = subject.p50 / baseline.p50;
  return [
    {
      figure: 'promotion',
      metric: `write-unavailable window, fence → first write on new primary (${rounds} pairs each)`,
      unit: 'ms',
      subject,
      baseline,
      ratio: { value: ratio, of: 'p50' },
      goal: 'p50 ≤ 1.25× script, max < 250 ms',
      verdict: ratio <= 1.25 && subject.max < 250 ? 'met' : 'missed',
      details: { botSamples: botWindows, scriptSamples: scriptWindows, botSteps: botDetail },
    },
    {
      figure: 'promotion',
      metric: 'same window seen by an outside prober (INSERT every 2 ms on the standby)',
      unit: 'ms',
      subject: probedSubject,
      baseline: probedBaseline,
      ratio: { value: probedSubject.p50 / probedBaseline.p50, of: 'p50' },
      goal: 'p50 ≤ 1.25× script, max < 250 ms',
      verdict: probedSubject.p50 / probedBaseline.p50 <= 1.25 && probedSubject.max < 250 ? 'met' : 'missed',
      details: { botSamples: botProbed, scriptSamples: scriptProbed },
    },
  ];
}
