// The application service around the pure engine: store a transition, commit, then dispatch effects.
// Every way into a run (Slack, scheduler, step jobs, reconciler) goes through here.
import { randomUUID } from 'node:crypto';
import { confirmationPhrase, createRun, transition } from '../engine/transition';
import type { Effect, JsonObject, Run, RunEvent } from '../engine/types';
import { strategySettingsProblems } from '../config/targets';
import type { TargetConfig } from '../config/types';
import type { Clock } from '../ports/clock';
import type { StepJobQueue } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { RunObserver } from '../ports/run-observer';
import type { ApplyOutcome, RunStore } from '../ports/run-store';
import type { StrategyRegistry } from '../strategies/types';

export interface RunServiceDeps {
  store: RunStore;
  queue: StepJobQueue;
  strategies: StrategyRegistry;
  clock: Clock;
  log: Logger;
  observers?: RunObserver[];
  /** Told when a person's request (approve, abort, ask again) is refused: metrics. */
  onRefused?: (kind: string) => void;
}

export interface StartRequest {
  target: TargetConfig;
  /** Overrides the target's configured strategy (`--strategy`). */
  strategy?: string;
  requestedBy: string;
  channel?: string | null;
  /** `--force --reason`: start although the target's cooldown has not passed (audited). */
  force?: { reason: string };
}

export interface ScheduleRequest extends Omit<StartRequest, 'force'> {
  at: Date;
}

export type StartOutcome =
  | { ok: true; run: Run }
  | {
      ok: false;
      reason:
        | 'unknown_strategy'
        | 'invalid_settings'
        | 'target_busy'
        | 'invalid_plan'
        | 'cooldown'
        | 'already_scheduled';
      message: string;
      activeRunId?: string;
    };

export interface ApproveOptions {
  /** What the approver typed to confirm (the target's name, for gates that need it). */
  confirmation?: string;
  /** The Slack delivery the approval answers: claimed in the approval's own transaction. */
  deliveryKey?: string;
}

/** What the start job of a scheduled run found: `early` asks to be delivered again later. */
export type ScheduledStart = { kind: 'started' | 'missed' | 'stale' } | { kind: 'early'; retryInMs: number };

/** How early a start job may fire and still start the run (timers are not exact). */
const START_EARLY_TOLERANCE_MS = 1_000;

export class RunService {
  private readonly observers: RunObserver[];

  constructor(private readonly deps: RunServiceDeps) {
    this.observers = [...(deps.observers ?? [])];
  }

  /** Presentation (the Slack notifier) subscribes after the service exists. */
  addObserver(observer: RunObserver): void {
    this.observers.push(observer);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  async start(request: StartRequest): Promise<StartOutcome> {
    const { target } = request;
    const cooldown = await this.cooldownProblem(target, this.deps.clock.now());
    if (cooldown && !request.force) {
      return {
        ok: false,
        reason: 'cooldown',
        message: `${cooldown}; to start anyway use --force --reason "why"`,
      };
    }
    const created = this.newRun(request);
    if (!created.ok) return created;
    const run = created.run;
    const inserted = await this.deps.store.insertRun(run, request.requestedBy);
    if (!inserted.ok) {
      return {
        ok: false,
        reason: 'target_busy',
        message: `${target.name} already has an active run (${inserted.activeRunId})`,
        activeRunId: inserted.activeRunId,
      };
    }
    if (cooldown && request.force) {
      // Anti-flapping overridden on purpose: who, why and what was overridden stay on record.
      await this.deps.store.appendAudit({
        runId: run.id,
        actor: request.requestedBy,
        type: 'cooldown_overridden',
        payload: { reason: request.force.reason, cooldown },
      });
    }
    return this.begin(run.id, request.requestedBy);
  }

  /**
   * Creates a run in state `scheduled` and the delayed job that starts it. The caller has checked
   * the time against the target's windows; the cooldown is checked here for that time.
   */
  async schedule(request: ScheduleRequest): Promise<StartOutcome> {
    const cooldown = await this.cooldownProblem(request.target, request.at);
    if (cooldown) {
      return { ok: false, reason: 'cooldown', message: `${cooldown} at the scheduled time` };
    }
    const created = this.newRun(request, request.at.toISOString());
    if (!created.ok) return created;
    const run = created.run;
    const inserted = await this.deps.store.insertRun(run, request.requestedBy);
    if (!inserted.ok) {
      return {
        ok: false,
        reason: 'already_scheduled',
        message: `${request.target.name} already has a scheduled run (${inserted.activeRunId}); abort it first`,
        activeRunId: inserted.activeRunId,
      };
    }
    await this.enqueueStart(run);
    this.notifyObservers(run, [], 'scheduled');
    return { ok: true, run };
  }

  /** (Re)creates the delayed job that starts a scheduled run; the reconciler calls it after Redis loss. */
  async enqueueStart(run: Run): Promise<void> {
    const delayMs = Math.max(0, Date.parse(run.scheduledFor ?? '') - this.deps.clock.now().getTime());
    try {
      await this.deps.queue.enqueue({ runId: run.id, mode: 'start' }, Number.isFinite(delayMs) ? delayMs : 0);
    } catch (error) {
      this.deps.log.warn(
        { runId: run.id, err: error },
        'enqueue of scheduled start failed; reconciler will retry',
      );
    }
  }

  /**
   * The start job of a scheduled run fired. Starts it if its time has come (by the Clock port: a
   * job that fired early is put back for the rest of the wait), or fails it when its target is busy.
   */
  async startScheduled(runId: string): Promise<ScheduledStart> {
    const run = await this.deps.store.getRun(runId);
    if (!run || run.state !== 'scheduled' || run.scheduledFor === null) return { kind: 'stale' };
    const early = Date.parse(run.scheduledFor) - this.deps.clock.now().getTime();
    if (early > START_EARLY_TOLERANCE_MS) return { kind: 'early', retryInMs: early };
    const started = await this.begin(run.id, 'scheduler');
    if (started.ok) return { kind: 'started' };
    if (started.reason !== 'target_busy') throw new Error(`could not start run ${runId}: ${started.message}`);
    await this.apply(
      run.id,
      {
        type: 'schedule_missed',
        at: this.now(),
        reason: `not started at the scheduled time: ${started.message}`,
      },
      'scheduler',
    );
    return { kind: 'missed' };
  }

  /** Why the target may not be cut over at `at` yet (its cooldown since the last success), or null. */
  async cooldownProblem(target: TargetConfig, at: Date): Promise<string | null> {
    if (target.cooldownMs <= 0) return null;
    const last = await this.deps.store.lastSucceededAt(target.name);
    if (!last) return null;
    const until = Date.parse(last.finishedAt) + target.cooldownMs;
    if (at.getTime() >= until) return null;
    return (
      `${target.name} was cut over at ${last.finishedAt} (run ${last.runId.slice(0, 8)}); ` +
      `its cooldown lasts until ${new Date(until).toISOString()}`
    );
  }

  private newRun(
    request: Omit<StartRequest, 'force'>,
    scheduledFor?: string,
  ): { ok: true; run: Run } | (StartOutcome & { ok: false }) {
    const { target } = request;
    const strategyName = request.strategy ?? target.strategy;
    const strategy = this.deps.strategies.get(strategyName);
    if (!strategy) {
      const known = [...this.deps.strategies.keys()].join(', ');
      return {
        ok: false,
        reason: 'unknown_strategy',
        message: `unknown strategy "${strategyName}" (known: ${known})`,
      };
    }
    const problems = strategySettingsProblems(target, strategyName, strategy.configSchema);
    if (problems.length > 0) {
      return {
        ok: false,
        reason: 'invalid_settings',
        message: `the settings of ${target.name} are not valid for ${strategyName} (${problems.slice(0, 3).join('; ')})`,
      };
    }
    const plan = strategy.plan(target);
    if (plan.steps.length === 0) {
      return { ok: false, reason: 'invalid_plan', message: `strategy ${strategyName} planned no steps` };
    }
    const run = createRun({
      id: randomUUID(),
      plan,
      requestedBy: request.requestedBy,
      channel: request.channel ?? target.channel,
      policy: {
        approvalTimeoutMs: target.approvalTimeoutMs,
        requiredApprovals: target.requiredApprovals,
        allowSelfApproval: target.allowSelfApproval,
      },
      at: this.now(),
      ...(scheduledFor !== undefined ? { scheduledFor } : {}),
    });
    return { ok: true, run };
  }

  private async begin(runId: string, actor: string): Promise<StartOutcome> {
    const started = await this.apply(runId, { type: 'start', at: this.now() }, actor);
    if (!started.ok && started.reason === 'target_busy') {
      return { ok: false, reason: 'target_busy', message: started.error };
    }
    if (!started.ok || !started.run)
      throw new Error(`could not start run ${runId}: ${started.ok ? '' : started.error}`);
    return { ok: true, run: started.run };
  }

  /**
   * A person's approval. `confirmation` is what they typed; the engine refuses a destructive gate
   * and a needs-human override without the target's name. The Slack handlers always pass it; code
   * that acts as the person itself (tests, scripts) may leave it out and is taken to confirm.
   */
  async approve(
    runId: string,
    step: number,
    round: number,
    user: string,
    seen: JsonObject = {},
    options: ApproveOptions = {},
  ): Promise<ApplyOutcome> {
    const run = options.confirmation === undefined ? await this.deps.store.getRun(runId) : null;
    const record = run?.steps[step];
    const confirmation =
      options.confirmation ?? (run && record ? confirmationPhrase(run, record) : run?.target);
    const event: RunEvent = {
      type: 'approve',
      at: this.now(),
      step,
      round,
      user,
      ...(confirmation !== undefined ? { confirmation } : {}),
    };
    return this.apply(runId, event, user, seen, options.deliveryKey);
  }

  abort(runId: string, user: string, reason: string): Promise<ApplyOutcome> {
    return this.apply(runId, { type: 'abort', at: this.now(), user, reason }, user);
  }

  reopenGate(runId: string, step: number, user: string): Promise<ApplyOutcome> {
    return this.apply(runId, { type: 'gate_reopen', at: this.now(), step, user }, user);
  }

  /** A person's request refused before it reached the engine (no permission, a bad button): metrics. */
  refused(kind: string): void {
    this.deps.onRefused?.(kind);
  }

  /**
   * Stores the event's transition and, only once that has committed, performs its effects.
   * A crash between the two is repaired by the reconciler, which re-derives jobs from the store.
   */
  async apply(
    runId: string,
    event: RunEvent,
    actor: string,
    seen?: JsonObject,
    deliveryKey?: string,
  ): Promise<ApplyOutcome> {
    const outcome = await this.deps.store.applyEvent(
      runId,
      event,
      actor,
      (run) => transition(run, event),
      seen,
      deliveryKey !== undefined ? { deliveryKey } : {},
    );
    if (!outcome.ok) {
      this.deps.log.debug({ runId, event: event.type, actor, error: outcome.error }, 'event refused');
      // A repeated delivery is the caller's to count; it refused nothing a person asked for.
      if (!outcome.duplicate && 'user' in event) this.refused(event.type);
      return outcome;
    }
    const step = 'step' in event ? event.step : outcome.run.currentStep;
    this.deps.log.info(
      { runId, target: outcome.run.target, event: event.type, step, state: outcome.run.state, actor },
      'run transition',
    );
    await this.dispatch(outcome.run, outcome.effects, event.type);
    return outcome;
  }

  /** Tells observers that something about a run changed without a transition (a new lag sample). */
  notify(run: Run, cause: string): void {
    this.notifyObservers(run, [], cause);
  }

  private notifyObservers(run: Run, effects: readonly Effect[], cause: string): void {
    for (const observer of this.observers) {
      try {
        observer.runChanged(run, effects, cause);
      } catch (error) {
        this.deps.log.error({ runId: run.id, err: error }, 'run observer threw');
      }
    }
  }

  private async dispatch(run: Run, effects: readonly Effect[], cause: string): Promise<void> {
    for (const effect of effects) {
      if (effect.type !== 'enqueue') continue;
      try {
        await this.deps.queue.enqueue(effect.job, effect.delayMs);
      } catch (error) {
        // The transition is committed; the reconciler will queue the job once Redis answers.
        this.deps.log.warn(
          { runId: run.id, job: effect.job, err: error },
          'enqueue failed; reconciler will retry',
        );
      }
    }
    this.notifyObservers(run, effects, cause);
  }
}
