// What one step job does. Jobs are at-least-once (a stalled job runs again), so the store decides:
// a job whose (step, attempt) is no longer what the run expects does nothing.
import { classify, fatal } from '../engine/failures';
import type { FailureInfo, Run, RunEvent, StepJobRef, StepRecord } from '../engine/types';
import type { TargetConfig } from '../config/types';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { RunStore } from '../ports/run-store';
import type { StepContext, StepExecutor, StepResult, StrategyRegistry } from '../strategies/types';
import type { RunService } from './run-service';
import { judgeWindow } from './window-guard';

export interface StepProcessorDeps {
  store: RunStore;
  runs: RunService;
  strategies: StrategyRegistry;
  findTarget(name: string): TargetConfig | undefined;
  clock: Clock;
  log: Logger;
}

export type ProcessOutcome = 'executed' | 'stale' | 'refused';

export class StepProcessor {
  constructor(private readonly deps: StepProcessorDeps) {}

  async process(job: StepJobRef): Promise<ProcessOutcome> {
    const run = await this.deps.store.getRun(job.runId);
    const step = run?.steps[job.step];
    if (!run || !step || step.attempt !== job.attempt || run.currentStep !== job.step) return 'stale';
    return job.mode === 'execute' ? this.execute(run, step, job) : this.compensate(run, step, job);
  }

  private async execute(run: Run, step: StepRecord, job: StepJobRef): Promise<ProcessOutcome> {
    if (run.state !== 'running' || (step.state !== 'queued' && step.state !== 'running')) return 'stale';
    const resumed = step.state === 'running';
    let current = run;
    if (!resumed) {
      // A mutating step that the maintenance window cannot hold is not started at all.
      const target = this.deps.findTarget(run.target);
      const verdict = target
        ? await judgeWindow(this.deps.store, target, run, step, this.deps.clock.now())
        : { fits: true as const };
      if (!verdict.fits) {
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
      // Durable "started" before the outside world is touched: a crash after this point is
      // visible to the next attempt as `resumed`, which makes the executor look before acting.
      const started = await this.deps.runs.apply(
        run.id,
        { type: 'step_started', at: this.now(), step: job.step, attempt: job.attempt },
        'worker',
      );
      if (!started.ok || !started.run) return 'stale';
      current = started.run;
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
    const applied = await this.deps.runs.apply(run.id, event, 'worker');
    return applied.ok ? 'executed' : 'refused';
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
