// The application service around the pure engine: store a transition, commit, then dispatch effects.
// Every way into a run (Slack, scheduler, step jobs, reconciler) goes through here.
import { randomUUID } from 'node:crypto';
import { createRun } from '../engine/transition';
import type { Effect, JsonObject, Run, RunEvent } from '../engine/types';
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
}

export type StartOutcome =
  | { ok: true; run: Run }
  | {
      ok: false;
      reason: 'unknown_strategy' | 'target_busy' | 'invalid_plan';
      message: string;
      activeRunId?: string;
    };

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
    });
    const inserted = await this.deps.store.insertRun(run, request.requestedBy);
    if (!inserted.ok) {
      return {
        ok: false,
        reason: 'target_busy',
        message: `${target.name} already has an active run (${inserted.activeRunId})`,
        activeRunId: inserted.activeRunId,
      };
    }
    const started = await this.apply(run.id, { type: 'start', at: this.now() }, request.requestedBy);
    if (!started.ok || !started.run)
      throw new Error(`could not start run ${run.id}: ${started.ok ? '' : started.error}`);
    return { ok: true, run: started.run };
  }

  approve(
    runId: string,
    step: number,
    round: number,
    user: string,
    seen: JsonObject = {},
  ): Promise<ApplyOutcome> {
    return this.apply(runId, { type: 'approve', at: this.now(), step, round, user }, user, seen);
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
  async apply(runId: string, event: RunEvent, actor: string, seen?: JsonObject): Promise<ApplyOutcome> {
    const outcome = await this.deps.store.applyEvent(runId, event, actor, seen);
    if (!outcome.ok) {
      this.deps.log.debug({ runId, event: event.type, actor, error: outcome.error }, 'event refused');
      if ('user' in event) this.refused(event.type);
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
