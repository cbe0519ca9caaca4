// Composition root: wires adapters to the orchestrator for one process, by ROLE.
// `web` takes requests and records intents; `worker` runs step jobs and the reconciler; `all` both.
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { startExecuteStepWorker } from '../../jobs/execute-step';
import { startReconcileLoop } from '../../jobs/reconcile';
import { startLagSampling } from '../../jobs/sample-lag';
import { LagSampler } from '../orchestrator/lag-sampler';
import { startHttpServer, type HttpServer } from '../adapters/http/server';
import { healthCheck } from '../metrics/health';
import { Metrics } from '../metrics/metrics';
import {
  BullmqStepQueue,
  DEFAULT_STEP_QUEUE,
  DEFAULT_TUNING,
  type WorkerTuning,
} from '../adapters/queue/bullmq-step-queue';
import { assertNoEviction, closeRedis, connectRedis } from '../adapters/redis/connection';
import { PLAN_REVIEW_ACTOR, reviewPlans } from '../orchestrator/plan-compatibility';
import { RedisUpdateBudget } from '../adapters/redis/redis-update-budget';
import { PgRunStore } from '../adapters/store/pg-run-store';
import type { AppConfig, TargetConfig, TargetsConfig } from '../config/types';
import { Reconciler } from '../orchestrator/reconciler';
import { RunService } from '../orchestrator/run-service';
import { StepProcessor } from '../orchestrator/step-processor';
import { systemClock, type Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { RunObserver } from '../ports/run-observer';
import { PgSlackMessageStore } from '../adapters/store/slack-messages';
import { startLocalConsole, type LocalConsole } from '../console/local-console';
import { createSlackApp, identify, type SlackApp } from '../slack/app';
import { SlackApproverDirectory } from '../slack/approvers';
import { describeGate } from '../slack/gate-details';
import { createSlackClient, SlackNotifier } from '../slack/notifier';
import type { StrategyRegistry } from '../strategies/types';

export interface RuntimeOptions {
  config: AppConfig;
  targets: TargetsConfig;
  strategies: StrategyRegistry;
  log: Logger;
  clock?: Clock;
  /** Schema of the bot's tables (tests use one per suite). */
  storeSchema?: string;
  queueName?: string;
  tuning?: WorkerTuning;
  reconcileIntervalMs?: number;
  lagSampleIntervalMs?: number;
  observers?: RunObserver[];
  /** Port 0 picks a free one; null starts no HTTP server (worker role never does). */
  httpPort?: number | null;
  /**
   * false: never serve the local console, whatever the config says. The console itself is only
   * served when the config asks for it (CUTOVER_LOCAL_CONSOLE=1), without Slack settings, in ROLE=all.
   */
  localConsole?: boolean;
}

function httpPortOption(options: RuntimeOptions): number | null {
  return options.httpPort === undefined ? options.config.port : options.httpPort;
}

export interface Runtime {
  store: PgRunStore;
  queue: BullmqStepQueue;
  runs: RunService;
  reconciler: Reconciler;
  redis: Redis;
  worker: Worker | null;
  http: HttpServer | null;
  /** METRICS_LISTEN: the listener that serves /metrics alone (in any role). */
  metricsHttp: HttpServer | null;
  slack: SlackApp | null;
  notifier: SlackNotifier | null;
  metrics: Metrics;
  localConsole: LocalConsole | null;
  findTarget(name: string): TargetConfig | undefined;
  close(): Promise<void>;
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const role = config.role;

  const redis = connectRedis(config.redisUrl);
  await assertNoEviction(redis, log);
  const store = await PgRunStore.open({
    connectionString: config.databaseUrl,
    ...(options.storeSchema ? { schema: options.storeSchema } : {}),
  });
  const queue = new BullmqStepQueue(redis, options.queueName ?? DEFAULT_STEP_QUEUE);
  // Without a listener BullMQ prints every connection error while Redis is away; log them once each.
  queue.queue.on('error', (error) => log.warn({ err: error }, 'step queue error'));
  const metrics = new Metrics({ store, queue: queue.queue, redis, log });
  const byName = new Map(options.targets.targets.map((target) => [target.name, target]));
  const findTarget = (name: string): TargetConfig | undefined => byName.get(name);

  const runs = new RunService({
    store,
    queue,
    strategies: options.strategies,
    clock,
    log,
    ...(options.observers ? { observers: options.observers } : {}),
    onRefused: (kind) => metrics.refused(kind),
  });
  runs.addObserver(metrics.observer);
  // A worker must be able to finish every run in flight: a run planned by a build it cannot stand
  // in for keeps it from starting; one it cannot finish is undone once the notifier listens.
  const planReview =
    role === 'web'
      ? null
      : reviewPlans(
          [...(await store.listActiveRuns()), ...(await store.listScheduledRuns())],
          options.strategies,
        );
  if (planReview && planReview.refuseStart.length > 0) {
    await queue.close();
    await store.close();
    closeRedis(redis);
    throw new Error(`this worker cannot take over the runs in flight: ${planReview.refuseStart.join('; ')}`);
  }
  let worker: Worker | null = null;
  // Steps this process's worker is running now: a worker with none that leaves a due job untaken
  // for long is wedged, not busy.
  let stepsInFlight = 0;
  let restartWorker: (() => Promise<void>) | null = null;
  const reconcileIntervalMs = options.reconcileIntervalMs ?? 60_000;
  const reconciler = new Reconciler({
    store,
    queue,
    runs,
    clock,
    log,
    findTarget,
    untakenAfterMs: Math.max(10_000, 2 * reconcileIntervalMs),
    onJobNotTaken: async ({ job, forMs }) => {
      // A worker closed on purpose (shutdown; the crash tests) stays closed.
      if (!worker || worker.closing !== undefined || stepsInFlight > 0 || !restartWorker) return;
      log.warn(
        { job, forMs },
        'the step worker takes no jobs (a due job waits, nothing runs here); restarting it',
      );
      await restartWorker();
    },
  });

  // Slack: every role notifies (step transitions happen in workers, decisions in web); only the
  // web side receives Slack's requests.
  let slackApp: SlackApp | null = null;
  let notifier: SlackNotifier | null = null;
  // No Slack token: the bot runs against its own local console, an in-process Slack stand-in with
  // a web page, through exactly the production code path (signed requests, Web API calls).
  let localConsole: LocalConsole | null = null;
  let slackSettings = config.slack;
  if (
    !slackSettings &&
    role === 'all' &&
    config.localConsole === true &&
    options.localConsole !== false &&
    httpPortOption(options) !== null
  ) {
    localConsole = await startLocalConsole({
      targets: options.targets.targets,
      store,
      log: log.child({ component: 'console' }),
    });
    slackSettings = localConsole.slackSettings;
  }
  if (slackSettings) {
    const client = metrics.instrumentSlackClient(
      createSlackClient(slackSettings.botToken, slackSettings.apiUrl ?? undefined),
    );
    const identity = await identify(client);
    const notifierLog = log.child({ component: 'notifier' });
    notifier = new SlackNotifier({
      client,
      store,
      messages: new PgSlackMessageStore(store.pool, store.schema),
      clock,
      log: notifierLog,
      // One chat.update budget for every process of this deployment (its queue) in this workspace.
      updateBudget: new RedisUpdateBudget({
        redis,
        key: `cutover:chat-update-budget:${queue.name}:${identity.teamId}`,
        log: notifierLog,
      }),
      describeGate: (run, step, latestLag) => ({
        ...describeGate(run, step, latestLag),
        approvers: [...(findTarget(run.target)?.approvers ?? [])],
      }),
      approversOf: (run) => [...(findTarget(run.target)?.approvers ?? [])],
      lagLimits: (run) => {
        const target = findTarget(run.target);
        return target ? options.strategies.get(run.strategy)?.lagLimit?.(target) : undefined;
      },
    });
    runs.addObserver(notifier);
    if (role !== 'worker') {
      slackApp = createSlackApp(
        slackSettings,
        client,
        identity,
        {
          runs,
          store,
          targets: options.targets.targets,
          strategies: options.strategies,
          approvers: new SlackApproverDirectory(client, undefined, clock),
          clock,
          log,
          teamId: identity.teamId,
          ...(identity.enterpriseId ? { enterpriseId: identity.enterpriseId } : {}),
        },
        log,
      );
      await slackApp.start();
    }
  }

  let stopReconciling: (() => Promise<void>) | null = null;
  let stopSampling: (() => Promise<void>) | null = null;
  if (role === 'worker' || role === 'all') {
    for (const warning of planReview?.warnings ?? [])
      log.warn({ warning }, 'a run in flight cannot be undone by this build');
    for (const { run, message } of planReview?.unrunnable ?? []) {
      log.error({ runId: run.id, reason: message }, 'undoing a run this build cannot finish');
      const aborted = await runs.abort(run.id, PLAN_REVIEW_ACTOR, message);
      // Another worker starting at the same time may have done it first.
      if (!aborted.ok)
        log.warn({ runId: run.id, refused: aborted.error }, 'the undo of an old plan was refused');
    }
    const processor = new StepProcessor({
      store,
      runs,
      strategies: options.strategies,
      findTarget,
      clock,
      log,
    });
    const counted: Pick<StepProcessor, 'process'> = {
      process: async (job) => {
        stepsInFlight += 1;
        try {
          return await processor.process(job);
        } finally {
          stepsInFlight -= 1;
        }
      },
    };
    const startWorker = (): Worker => {
      const started = startExecuteStepWorker(
        redis,
        queue.name,
        counted,
        options.tuning ?? DEFAULT_TUNING,
        async (job) => {
          const outcome = await runs.startScheduled(job.runId);
          return outcome.kind === 'early' ? outcome.retryInMs : null;
        },
      );
      started.on('error', (error) => log.error({ err: error }, 'step worker error'));
      return started;
    };
    worker = startWorker();
    restartWorker = async () => {
      const wedged = worker;
      // A new worker (new blocking connection) first; the old one is closed without waiting for it.
      worker = startWorker();
      await wedged
        ?.close(true)
        .catch((error: unknown) => log.warn({ err: error }, 'closing the old worker failed'));
    };
    stopReconciling = startReconcileLoop(reconciler, reconcileIntervalMs, log);
    const sampler = new LagSampler({ store, runs, strategies: options.strategies, findTarget, clock, log });
    stopSampling = startLagSampling(sampler, options.lagSampleIntervalMs ?? 2_000, log);
  }

  let http: HttpServer | null = null;
  let metricsHttp: HttpServer | null = null;
  const httpPort = httpPortOption(options);
  const metricsSettings = config.metrics ?? { token: null, listen: null };
  const metricsEndpoint = { scrape: () => metrics.scrape(), token: metricsSettings.token };
  if (metricsSettings.listen) {
    metricsHttp = await startHttpServer({ ...metricsSettings.listen, metrics: metricsEndpoint });
    log.info({ host: metricsSettings.listen.host, port: metricsHttp.port }, 'metrics listening');
  }
  if (role !== 'worker' && httpPort !== null) {
    http = await startHttpServer({
      port: httpPort,
      // The console acts as anyone in its workspace: only this machine may reach it.
      host: localConsole ? '127.0.0.1' : '0.0.0.0',
      slackEvents: slackApp?.handleEvents ?? null,
      fallback: localConsole ? (req, res) => localConsole.handle(req, res) : null,
      health: healthCheck({ store, redis, worker: () => worker }),
      metrics: metricsSettings.listen ? null : metricsEndpoint,
    });
    log.info({ port: http.port }, 'http server listening');
    // In console mode the server listens on loopback only: nothing beyond this machine reaches it.
    if (slackApp?.handleEvents && !localConsole && !metricsSettings.listen && !metricsSettings.token) {
      log.warn(
        { port: http.port },
        'GET /metrics is served to anyone on PORT, which Slack reaches too: set METRICS_TOKEN or METRICS_LISTEN',
      );
    }
    if (localConsole) {
      localConsole.connect(`http://127.0.0.1:${http.port}/slack/events`);
      log.info({ url: `http://localhost:${http.port}/` }, 'local console ready (CUTOVER_LOCAL_CONSOLE=1)');
    }
  }

  let closed = false;
  return {
    store,
    queue,
    runs,
    reconciler,
    redis,
    get worker() {
      return worker;
    },
    http,
    metricsHttp,
    slack: slackApp,
    notifier,
    metrics,
    localConsole,
    findTarget,
    async close() {
      if (closed) return;
      closed = true;
      // Stop taking work first, let running steps finish (worker.close waits), then drop connections.
      await http?.close();
      await metricsHttp?.close();
      await slackApp?.stop();
      await stopReconciling?.();
      await stopSampling?.();
      await worker?.close();
      // Let pending Slack updates out (bounded), so the channel shows where the run stopped.
      await notifier?.flush({ timeoutMs: 5_000 }).catch(() => undefined);
      await notifier?.close();
      await localConsole?.close();
      // Strategies may hold connections to what they watch (cluster health clients).
      for (const strategy of options.strategies.values()) {
        await strategy.close?.().catch((error: unknown) => log.warn({ err: error }, 'strategy close failed'));
      }
      await queue.close();
      await store.close();
      closeRedis(redis);
    },
  };
}
