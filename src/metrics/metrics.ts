// Prometheus metrics of one runtime, on a registry of its own (several runtimes in one process — tests —
// do not collide, and nothing leaks into prom-client's global registry).
//
// What is counted where:
// - transitions (runs finished, step durations, accepted approvals, lag samples): `observer`, a
//   RunObserver, in the process that committed the transition;
// - refused requests (approvals, aborts, re-asks): `refused(kind)`, called by the run service (the
//   engine said no) and by the Slack handlers (no permission, a malformed button);
// - Slack Web API calls: `instrumentSlackClient` wraps the runtime's WebClient;
// - active runs by state and the step queue's job counts: read at scrape time (`text()`), each read
//   bounded so a scrape answers even while PostgreSQL or Redis does not.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ACTIVE_RUN_STATES, TERMINAL_RUN_STATES } from '../engine/types';
import type { Effect, Run, StepRecord } from '../engine/types';
import type { Logger } from '../ports/logger';
import type { RunObserver } from '../ports/run-observer';
import type { RunStore } from '../ports/run-store';
import { instrumentSlackClient, type SlackCallOutcome } from './slack-calls';
import { withTimeout } from './timeout';

export interface MetricsDeps {
  store: Pick<RunStore, 'listActiveRuns' | 'recentLagSamples'>;
  /** The step queue (BullMQ `Queue`): its job counts by state are read at scrape time. */
  queue?: { getJobCounts(): Promise<Record<string, number>> } | null;
  /** The queue's Redis connection: job counts are not asked for while it is not ready. */
  redis?: { readonly status: string } | null;
  log?: Logger;
  /** Bound on each scrape-time read (store, queue). Default 1 s. */
  collectTimeoutMs?: number;
  /** Node.js process metrics (`process_*`, `nodejs_*`) on the same registry. Default true. */
  defaultMetrics?: boolean;
}

/** Seconds: steps take from milliseconds (checks) to hours (catch-up waits, gates waiting for people). */
export const STEP_DURATION_BUCKETS = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400,
];

/** Step-finish keys already observed, bounded (a run whose end another process saw is never cleared). */
const MAX_SEEN_STEPS = 10_000;

export interface MetricsScrape {
  contentType: string;
  body: string;
}

export class Metrics {
  readonly registry = new Registry();
  /** Tell the run service about this (`runs.addObserver(metrics.observer)`). */
  readonly observer: RunObserver;

  private readonly runs: Gauge<'state'>;
  private readonly runsFinished: Counter<'state'>;
  private readonly stepDuration: Histogram<'strategy' | 'step' | 'outcome'>;
  private readonly approvals: Counter<'outcome'>;
  private readonly refusals: Counter<'kind'>;
  private readonly lagBytes: Gauge<'run_id' | 'target'>;
  private readonly lagSeconds: Gauge<'run_id' | 'target'>;
  private readonly slackCalls: Counter<'method' | 'outcome'>;
  private readonly queueJobs: Gauge<'state'>;
  private readonly timeoutMs: number;
  /** Runs with lag series, and their target (the series' other label). */
  private readonly lagSeries = new Map<string, string>();
  /** Runs whose end this process saw: a lag read still in flight must not bring their series back. */
  private readonly finishedRuns = new Set<string>();
  private readonly seenSteps = new Set<string>();

  constructor(private readonly deps: MetricsDeps) {
    this.timeoutMs = deps.collectTimeoutMs ?? 1000;
    const registers = [this.registry];
    if (deps.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.runs = new Gauge({
      name: 'cutover_runs',
      help: 'Active runs by state (read from the store at scrape time; finished runs: cutover_runs_finished_total)',
      labelNames: ['state'],
      registers,
    });
    this.runsFinished = new Counter({
      name: 'cutover_runs_finished_total',
      help: 'Runs that ended, by final state (counted by the process that committed the end)',
      labelNames: ['state'],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'cutover_step_duration_seconds',
      help: 'Time from a step starting (a gate: opening) to it finishing, by strategy, step name and outcome',
      labelNames: ['strategy', 'step', 'outcome'],
      buckets: STEP_DURATION_BUCKETS,
      registers,
    });
    this.approvals = new Counter({
      name: 'cutover_approvals_total',
      help: 'Approval clicks, accepted by the engine or refused (no permission, self-approval, stale, expired)',
      labelNames: ['outcome'],
      registers,
    });
    this.refusals = new Counter({
      name: 'cutover_refusals_total',
      help: 'Requests that were refused, by kind (approve, abort, gate_reopen; duplicate_delivery: a repeated Slack delivery dropped)',
      labelNames: ['kind'],
      registers,
    });
    this.lagBytes = new Gauge({
      name: 'cutover_replication_lag_bytes',
      help: 'Latest replication lag sample of an active run, in bytes',
      labelNames: ['run_id', 'target'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'cutover_replication_lag_seconds',
      help: 'Latest replication lag sample of an active run, in seconds',
      labelNames: ['run_id', 'target'],
      registers,
    });
    this.slackCalls = new Counter({
      name: 'cutover_slack_api_calls_total',
      help: 'Slack Web API calls by method and outcome (ok, error, ratelimited = HTTP 429)',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.queueJobs = new Gauge({
      name: 'cutover_queue_jobs',
      help: 'Jobs in the step queue by state (read from Redis at scrape time)',
      labelNames: ['state'],
      registers,
    });

    // Series that exist from the start, so rates and alerts see a zero rather than nothing.
    for (const state of TERMINAL_RUN_STATES) this.runsFinished.inc({ state }, 0);
    for (const outcome of ['accepted', 'refused']) this.approvals.inc({ outcome }, 0);

    this.observer = { runChanged: (run, effects, cause) => this.runChanged(run, effects, cause) };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition, after refreshing what is read at scrape time. */
  async text(): Promise<string> {
    await Promise.all([this.collectRuns(), this.collectQueue()]);
    return this.registry.metrics();
  }

  /** What GET /metrics answers. */
  async scrape(): Promise<MetricsScrape> {
    return { contentType: this.contentType, body: await this.text() };
  }

  /** A person's request was refused (`approve`, `abort`, `gate_reopen`, ...). */
  refused(kind: string): void {
    this.refusals.inc({ kind });
    if (kind === 'approve') this.approvals.inc({ outcome: 'refused' });
  }

  slackCall(method: string, outcome: SlackCallOutcome): void {
    this.slackCalls.inc({ method, outcome });
  }

  /** `client`, counting its Web API calls in `cutover_slack_api_calls_total`. */
  instrumentSlackClient<T extends object>(client: T): T {
    return instrumentSlackClient(client, (method, outcome) => this.slackCall(method, outcome));
  }

  // ---- from transitions ----

  private runChanged(run: Run, effects: readonly Effect[], cause: string): void {
    try {
      if (cause === 'lag_sample') {
        void this.readLag(run);
        return;
      }
      if (cause === 'approve') this.approvals.inc({ outcome: 'accepted' });
      for (const step of run.steps) {
        if (step.finishedAt !== null && step.finishedAt === run.updatedAt) this.stepFinished(run, step);
      }
      for (const effect of effects) {
        if (effect.type !== 'run_finished') continue;
        this.runsFinished.inc({ state: effect.state });
        this.finishedRuns.add(run.id);
        this.removeLag(run.id);
        this.forgetSteps(run.id);
      }
    } catch (error) {
      this.deps.log?.warn({ runId: run?.id, cause, err: error }, 'metrics observer failed');
    }
  }

  private stepFinished(run: Run, step: StepRecord): void {
    const key = `${run.id}:${step.index}:${step.finishedAt}`;
    if (this.seenSteps.has(key)) return;
    this.seenSteps.add(key);
    if (this.seenSteps.size > MAX_SEEN_STEPS) {
      const oldest = this.seenSteps.values().next();
      if (!oldest.done) this.seenSteps.delete(oldest.value);
    }
    // A gate has no start of its own: it waits from the moment it opened.
    const started = step.startedAt ?? step.gate?.openedAt ?? null;
    if (started === null || step.finishedAt === null) return; // skipped before it began
    const seconds = (Date.parse(step.finishedAt) - Date.parse(started)) / 1000;
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.stepDuration.observe({ strategy: run.strategy, step: step.spec.name, outcome: step.state }, seconds);
  }

  private forgetSteps(runId: string): void {
    const prefix = `${runId}:`;
    for (const key of this.seenSteps) if (key.startsWith(prefix)) this.seenSteps.delete(key);
  }

  private async readLag(run: Run): Promise<void> {
    try {
      const [sample] = await withTimeout(
        this.deps.store.recentLagSamples(run.id, 1),
        this.timeoutMs,
        'lag samples',
      );
      if (!sample || this.finishedRuns.has(run.id)) return;
      const labels = { run_id: run.id, target: run.target };
      this.lagSeries.set(run.id, run.target);
      if (sample.bytes === null) this.lagBytes.remove(labels);
      else this.lagBytes.set(labels, sample.bytes);
      if (sample.seconds === null) this.lagSeconds.remove(labels);
      else this.lagSeconds.set(labels, sample.seconds);
    } catch (error) {
      this.deps.log?.debug({ runId: run.id, err: error }, 'metrics: lag sample not read');
    }
  }

  private removeLag(runId: string): void {
    const target = this.lagSeries.get(runId);
    if (target === undefined) return;
    this.lagSeries.delete(runId);
    this.lagBytes.remove({ run_id: runId, target });
    this.lagSeconds.remove({ run_id: runId, target });
  }

  // ---- at scrape time ----

  private async collectRuns(): Promise<void> {
    let active: Run[];
    try {
      active = await withTimeout(this.deps.store.listActiveRuns(), this.timeoutMs, 'active runs');
    } catch (error) {
      // No answer: no series, rather than numbers that may be stale.
      this.runs.reset();
      this.deps.log?.debug({ err: error }, 'metrics: active runs not read');
      return;
    }
    const counts = new Map<string, number>(ACTIVE_RUN_STATES.map((state) => [state, 0]));
    for (const run of active) counts.set(run.state, (counts.get(run.state) ?? 0) + 1);
    this.runs.reset();
    for (const [state, count] of counts) this.runs.set({ state }, count);
    // Lag series of runs that ended elsewhere (another process committed the end) go too.
    const ids = new Set(active.map((run) => run.id));
    for (const runId of [...this.lagSeries.keys()]) if (!ids.has(runId)) this.removeLag(runId);
    // Bounded memory: only ids of runs that may still have a lag read in flight are kept.
    for (const runId of this.finishedRuns) if (!ids.has(runId)) this.finishedRuns.delete(runId);
  }

  private async collectQueue(): Promise<void> {
    const queue = this.deps.queue;
    if (!queue) return;
    try {
      if (this.deps.redis && this.deps.redis.status !== 'ready') throw new Error('Redis is not connected');
      const counts = await withTimeout(queue.getJobCounts(), this.timeoutMs, 'queue job counts');
      this.queueJobs.reset();
      for (const [state, count] of Object.entries(counts)) this.queueJobs.set({ state }, count);
    } catch (error) {
      this.queueJobs.reset();
      this.deps.log?.debug({ err: error }, 'metrics: queue job counts not read');
    }
  }
}
