// Figure 4: scale. N concurrent runs of a watching strategy on N different targets (one channel each),
// each polling its wait step every 2 s while the runtime's lag sampler reads a synthetic lag every
// 2 s and the notifier redraws each run's progress message. Measured in a steady-state window
// (after every progress message has been posted):
// - Slack Web API calls per run-minute, by method, from the local Slack Web API's recording;
// - chat.update per minute for the whole workspace (Slack's Tier 3 budget is per method, per app,
//   per workspace: 50+ per minute) and per message;
// - CPU of the bot process per run-minute (process.cpuUsage delta; PostgreSQL and Redis not included).
// N = 10 and N = 100 alternate (10, 100, 10, 100); the 10-run figures are the baseline of the growth.
import type { RecordedCall } from '../../src/console/slack-api-server';
import { benchTarget, REQUESTER, sleep, startBenchBot, type Row } from './common';
import type { FigureOptions } from './common';
import { watchStrategy } from './strategies';

const MAX_RUNS = 100;
const POLL_MS = 2_000;
const TIER3_PER_MINUTE = 50;

interface Phase {
  runs: number;
  windowMs: number;
  calls: RecordedCall[];
  cpuMs: number;
}

function perMethod(calls: RecordedCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) counts[call.method] = (counts[call.method] ?? 0) + 1;
  return counts;
}

function updatesPerMessagePerMinute(phase: Phase): { max: number; mean: number } {
  const perMessage = new Map<string, number>();
  for (const call of phase.calls) {
    if (call.method !== 'chat.update') continue;
    const key = `${String(call.args['channel'])}:${String(call.args['ts'])}`;
    perMessage.set(key, (perMessage.get(key) ?? 0) + 1);
  }
  const minutes = phase.windowMs / 60_000;
  const rates = [...perMessage.values()].map((count) => count / minutes);
  return {
    max: rates.length ? Math.max(...rates) : 0,
    mean: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0,
  };
}

interface Figures {
  callsPerRunMinute: number;
  updatesPerMinute: number;
  updatesPerMessage: { max: number; mean: number };
  cpuMsPerRunMinute: number;
  cpuCoreShare: number;
  byMethod: Record<string, number>;
}

function figuresOf(phases: Phase[]): Figures {
  const runMinutes = phases.reduce((total, p) => total + (p.runs * p.windowMs) / 60_000, 0);
  const minutes = phases.reduce((total, p) => total + p.windowMs / 60_000, 0);
  const calls = phases.flatMap((p) => p.calls);
  const updates = calls.filter((call) => call.method === 'chat.update').length;
  const perMessage = phases.map(updatesPerMessagePerMinute);
  const cpuMs = phases.reduce((total, p) => total + p.cpuMs, 0);
  return {
    callsPerRunMinute: calls.length / runMinutes,
    updatesPerMinute: updates / minutes,
    updatesPerMessage: {
      max: Math.max(...perMessage.map((m) => m.max)),
      mean: perMessage.reduce((a, m) => a + m.mean, 0) / perMessage.length,
    },
    cpuMsPerRunMinute: cpuMs / runMinutes,
    cpuCoreShare: cpuMs / (minutes * 60_000),
    byMethod: Object.fromEntries(
      Object.entries(perMethod(calls)).map(([method, count]) => [method, count / runMinutes]),
    ),
  };
}

export async function benchScale(options: FigureOptions): Promise<Row[]> {
  const windowMs = options.quick ? 12_000 : 24_000;
  const plan = options.quick ? [10, 100] : [10, 100, 10, 100];
  const released = new Set<string>();
  const name = (i: number) => `scale-${String(i).padStart(3, '0')}`;
  const channel = (i: number) => `C0SCALE${String(i).padStart(3, '0')}`;
  const targets = Array.from({ length: MAX_RUNS }, (_, i) => benchTarget(name(i), 'watch', channel(i)));
  const bot = await startBenchBot({
    prefix: 'scale',
    targets,
    strategies: [watchStrategy(POLL_MS, (target) => released.has(target))],
    httpPort: null,
    lagSampleIntervalMs: 2_000,
  });
  const phases: Phase[] = [];
  const { store } = bot.runtime;
  try {
    for (const n of plan) {
      for (let i = 0; i < n; i++) released.delete(name(i));
      const runIds: string[] = [];
      for (let i = 0; i < n; i++) {
        const target = bot.runtime.findTarget(name(i));
        if (!target) throw new Error(`no target ${name(i)}`);
        const outcome = await bot.runtime.runs.start({ target, requestedBy: REQUESTER, channel: channel(i) });
        if (!outcome.ok) throw new Error(`run on ${name(i)} did not start: ${outcome.message}`);
        runIds.push(outcome.run.id);
      }
      // Steady state: every progress message is posted, and a couple of sampling periods have passed.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const posted = await store.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${store.schema}".slack_messages
            WHERE run_id = ANY($1::uuid[]) AND key = 'progress' AND ts IS NOT NULL`,
          [runIds],
        );
        if (posted.rows[0]?.n === n) break;
        if (Date.now() > deadline) throw new Error(`progress messages of ${n} runs not posted in 120 s`);
        await sleep(200);
      }
      await sleep(4_000);
      const from = bot.slack.calls.length;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await sleep(windowMs);
      const elapsed = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      phases.push({
        runs: n,
        windowMs: elapsed,
        calls: bot.slack.calls.slice(from),
        cpuMs: (used.user + used.system) / 1000,
      });
      options.log(
        `scale n=${n}: ${bot.slack.calls.length - from} Slack calls in ${(elapsed / 1000).toFixed(1)} s, cpu ${((used.user + used.system) / 1000).toFixed(0)} ms`,
      );
      // Let every run finish before the next phase (its targets are reused).
      for (let i = 0; i < n; i++) released.add(name(i));
      const end = Date.now() + 60_000;
      for (;;) {
        const active = (await store.listActiveRuns()).filter((run) => runIds.includes(run.id));
        if (active.length === 0) break;
        if (Date.now() > end) throw new Error(`${active.length} runs still active 60 s after release`);
        await sleep(250);
      }
      await bot.runtime.notifier?.flush({ timeoutMs: 30_000 }).catch(() => undefined);
    }
  } finally {
    await bot.close();
  }

  const small = figuresOf(phases.filter((p) => p.runs === 10));
  const large = figuresOf(phases.filter((p) => p.runs === MAX_RUNS));
  const details = { runs10: small, runs100: large, windowSeconds: windowMs / 1000, phases: plan };
  const growth = (a: number, b: number) => ({ value: b / a, of: 'value' as const });
  return [
    {
      figure: 'scale',
      metric: 'Slack Web API calls per run-minute, 100 runs (baseline: 10 runs)',
      unit: 'calls',
      subject: null,
      baseline: null,
      value: large.callsPerRunMinute,
      baselineValue: small.callsPerRunMinute,
      ratio: growth(small.callsPerRunMinute, large.callsPerRunMinute),
      goal: 'per-run cost flat from 10 to 100 runs',
      verdict: 'info',
      details,
    },
    {
      figure: 'scale',
      metric: 'chat.update per minute, whole workspace, 100 runs (baseline: 10 runs)',
      unit: '/min',
      subject: null,
      baseline: null,
      value: large.updatesPerMinute,
      baselineValue: small.updatesPerMinute,
      ratio: growth(small.updatesPerMinute, large.updatesPerMinute),
      goal: `≤ ${TIER3_PER_MINUTE}/min (Tier 3, per method per workspace)`,
      verdict: large.updatesPerMinute <= TIER3_PER_MINUTE ? 'met' : 'missed',
    },
    {
      figure: 'scale',
      metric: 'chat.update per minute per message (max), 100 runs (baseline: 10 runs)',
      unit: '/min',
      subject: null,
      baseline: null,
      value: large.updatesPerMessage.max,
      baselineValue: small.updatesPerMessage.max,
      ratio: growth(small.updatesPerMessage.max, large.updatesPerMessage.max),
      goal: `≤ ${TIER3_PER_MINUTE}/min for one message`,
      verdict: large.updatesPerMessage.max <= TIER3_PER_MINUTE ? 'met' : 'missed',
    },
    {
      figure: 'scale',
      metric: 'bot CPU per run-minute, 100 runs (baseline: 10 runs)',
      unit: 'cpu-ms',
      subject: null,
      baseline: null,
      value: large.cpuMsPerRunMinute,
      baselineValue: small.cpuMsPerRunMinute,
      ratio: growth(small.cpuMsPerRunMinute, large.cpuMsPerRunMinute),
      goal: 'per-run cost flat from 10 to 100 runs',
      verdict: 'info',
    },
  ];
}
