// What one step job does. Jobs are at-least-once (a stalled job runs again), so the store decides:
// a job whose (step, attempt) is no longer what the run expects does nothing.
import { classify, fatal, retryable } from '../engine/failures';
import type { FailureInfo, Run, RunEvent, StepJobRef, StepRecord } from '../engine/types';
import type { TargetConfig } from '../config/types';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { RunStore } from '../ports/run-store';
import type { StepContext, StepExecutor, StepResult, StrategyRegistry } from '../strategies/types';
import type { RunService } from './run-service';
import { judgeWindow, windowGuarded } from './window-guard';

export interface StepProcessorDeps {
  store: RunStore;
  runs: RunService;
  strategies: StrategyRegistry;
  findTarget(name: string): TargetConfig | undefined;
  clock: Clock;
  log: Logger;
}

export type ProcessOutcome = 'executed' | 'stale' | 'refused';

/** Runs whose target this worker knows; a run's target never changes. Bounded: oldest forgotten. */
const MAX_REMEMBERED_RUNS = 1000;

export class StepProcessor {
  private readonly targetOfRun = new Map<string, string>();

  constructor(private readonly deps: StepProcessorDeps) {}

  async process(job: StepJobRef): Promise<ProcessOutcome> {
    // The common case, the next step of a run this worker has seen on a target without a required
    // window: no read first. The `step_started` transition refuses a stale job inside its locked
    // transaction just as the read would, and says whether the step had already started.
    const known = this.targetOfRun.get(job.runId);
    const target = known === undefined ? undefined : this.deps.findTarget(known);
    if (job.mode === 'execute' && target && !windowGuarded(target)) return this.start(job, null);

    const run = await this.deps.store.getRun(job.runId);
    const step = run?.steps[job.step];
    if (!run || !step || step.attempt !== job.attempt || run.currentStep !== job.step) return 'stale';
    this.remember(run);
    if (job.mode === 'compensate') return this.compensate(run, step, job);
    if (run.state !== 'running' || (step.state !== 'queued' && step.state !== 'running')) return 'stale';
    if (step.state === 'queued') {
      // A mutating step that the maintenance window cannot hold is not started at all.
      const paused = await this.pauseForWindow(run, step, job);
      if (paused !== null) return paused;
    }
    return this.start(job, run);
  }

  /**
   * Durable "started" before the outside world is touched: a crash after this point is visible to
   * the next attempt as `resumed`, which makes the executor look before acting. `read` is the run
   * as read just before, when it was.
   */
  private async start(job: StepJobRef, read: Run | null): Promise<ProcessOutcome> {
    let current: Run;
    let resumed: boolean;
    if (read?.steps[job.step]?.state === 'running') {
      // Already started by an earlier attempt of this job: nothing new to record.
      current = read;
      resumed = true;
    } else {
      const started = await this.deps.runs.apply(
        job.runId,
        { type: 'step_started', at: this.now(), step: job.step, attempt: job.attempt },
        'worker',
      );
      if (!started.ok || !started.run) return 'stale';
      current = started.run;
      resumed = started.previous.steps[job.step]?.state === 'running';
    }
    const record = current.steps[job.step] as StepRecord;
    const result = await this.runExecutor(current, record, record.spec.executor, resumed);
    const at = this.now();
    const base = { at, step: job.step, attempt: job.attempt };
    const event: RunEvent =
      'failure' in result
        ? { type: 'step_failed', ...base, failure: result.failure }
        : result.type === 'wait'
          ? { type: 'step_waiting', ...base, delayMs: result.delayMs, ...withOutput(result) }
          : { type: 'step_succeeded', ...base, ...withOutput(result) };
    const applied = await this.deps.runs.apply(job.runId, event, 'worker');
    return applied.ok ? 'executed' : 'refused';
  }

  /** Opens a window gate instead of starting the step when the window cannot hold it; else null. */
  private async pauseForWindow(run: Run, step: StepRecord, job: StepJobRef): Promise<ProcessOutcome | null> {
    const target = this.deps.findTarget(run.target);
    if (!target) return null;
    const verdict = await judgeWindow(this.deps.store, target, run, step, this.deps.clock.now());
    if (verdict.fits) return null;
    const paused = await this.deps.runs.apply(
      run.id,
      {
        type: 'window_closed',
        at: this.now(),
        step: job.step,
        attempt: job.attempt,
        message: verdict.message,
        resumeAt: verdict.resumeAt,
      },
      'worker',
    );
    return paused.ok ? 'executed' : 'stale';
  }

  private remember(run: Run): void {
    if (this.targetOfRun.has(run.id)) return;
    if (this.targetOfRun.size >= MAX_REMEMBERED_RUNS) {
      const oldest = this.targetOfRun.keys().next().value;
      if (oldest !== undefined) this.targetOfRun.delete(oldest);
    }
    this.targetOfRun.set(run.id, run.target);
  }

  private async compensate(run: Run, step: StepRecord, job: StepJobRef): Promise<ProcessOutcome> {
    if (run.state !== 'compensating' || step.state !== 'compensating') return 'stale';
    const result = await this.runExecutor(run, step, step.spec.compensation?.executor, false);
    const base = { at: this.now(), step: job.step, attempt: job.attempt };
    let event: RunEvent;
    if ('failure' in result) {
      event = { type: 'compensation_failed', ...base, failure: result.failure };
    } else if (result.type === 'wait') {
      // An undo still settling (a volume re-attaching) polls again; waiting uses up no retries.
      event = { type: 'compensation_waiting', ...base, delayMs: result.delayMs, ...withOutput(result) };
    } else {
      event = { type: 'compensation_succeeded', ...base, ...withOutput(result) };
    }
    const applied = await this.deps.runs.apply(run.id, event, 'worker');
    return applied.ok ? 'executed' : 'refused';
  }

  private async runExecutor(
    run: Run,
    step: StepRecord,
    executorName: string | undefined,
    resumed: boolean,
  ): Promise<StepResult | { failure: FailureInfo }> {
    const log = this.deps.log.child({ runId: run.id, step: step.index, stepName: step.spec.name });
    const executor = this.findExecutor(run, executorName);
    const target = this.deps.findTarget(run.target);
    if (typeof executor === 'string') return { failure: classify(fatal(executor)) };
    if (!target) return { failure: classify(fatal(`target ${run.target} is no longer in the targets file`)) };
    const ctx: StepContext = {
      run,
      step,
      target,
      attempt: step.attempt,
      resumed,
      humanOverride: step.humanOverride,
      clock: this.deps.clock,
      log,
      saveProgress: async (output) => {
        if (step.state !== 'running')
          throw fatal('progress is recorded by a running step only, not by an undo');
        const applied = await this.deps.runs.apply(
          run.id,
          { type: 'step_progress', at: this.now(), step: step.index, attempt: step.attempt, output },
          'worker',
        );
        // Not recorded: the executor must not go on to what the record was for.
        if (!applied.ok) throw retryable(`could not record the step's progress: ${applied.error}`);
        step.output = output;
      },
    };
    try {
      return await executor.execute(ctx);
    } catch (error) {
      const failure = classify(error);
      log.warn({ failure }, 'step executor failed');
      return { failure };
    }
  }

  private findExecutor(run: Run, name: string | undefined): StepExecutor | string {
    const strategy = this.deps.strategies.get(run.strategy);
    if (!strategy) return `strategy ${run.strategy} is not available in this worker`;
    if (!name) return 'step has no executor';
    return strategy.executors[name] ?? `strategy ${run.strategy} has no executor "${name}"`;
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

function withOutput(result: StepResult): { output?: StepResult['output'] } {
  return result.output ? { output: result.output } : {};
}
