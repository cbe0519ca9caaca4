// PostgreSQL is the truth and Redis only the transport: derive from the store which job every
// active run needs, and put back what the queue lost (Redis restart, FLUSHALL, a crash between
// commit and enqueue). Also closes approval requests whose time ran out, restores the start jobs
// of scheduled runs and sends their reminders.
import { TARGET_DEFAULTS } from '../config/target-defaults';
import type { TargetConfig } from '../config/types';
import type { Run, StepJobRef } from '../engine/types';
import { systemClock, type Clock } from '../ports/clock';
import { queueJobId, type StepJobQueue } from '../ports/job-queue';
import type { Logger } from '../ports/logger';
import type { RunStore } from '../ports/run-store';
import type { RunService } from './run-service';

export interface ReconcileReport {
  activeRuns: number;
  requeued: StepJobRef[];
  expiredGates: number;
  /** Scheduled runs whose start job had to be put back. */
  restoredStarts: string[];
  /** Scheduled runs reminded about in this pass. */
  reminded: string[];
}

/** Reminder lead time when the target is not known to this process. */

/** A job due but untaken (waiting, or delayed past its time) this long; see `onJobNotTaken`. */
export interface UntakenJob {
  job: StepJobRef;
  /** How long this process has seen it due and not taken. */
  forMs: number;
}

export class Reconciler {
  constructor(
    private readonly deps: {
      store: RunStore;
      queue: StepJobQueue;
      runs: RunService;
      clock: Clock;
      log: Logger;
      /** The target of a run (reminder lead time and approvers); without it, reminders use 15 min. */
      findTarget?(name: string): TargetConfig | undefined;
      /**
       * Told when a job has been due and untaken for `untakenAfterMs` (then again after as long).
       * BullMQ workers have wedged after Redis outages and failovers (taskforcesh/bullmq#4378,
       * #4585): running, no error, taking nothing. The runtime restarts its worker when it is idle.
       */
      onJobNotTaken?(untaken: UntakenJob): void | Promise<void>;
      untakenAfterMs?: number;
      /**
       * The process's own time for `untakenAfterMs`, kept apart from `clock` (the runs' clock, which
       * tests freeze): a wedged worker is one that takes nothing for that long in real time.
       */
      wallClock?: Clock;
    },
  ) {}

  /** When each due job was first seen untaken, by job id. */
  private readonly untakenSince = new Map<string, number>();

  /** The job an active run is waiting for, if it is waiting for one. */
  static expectedJob(run: Run): StepJobRef | null {
    const step = run.steps[run.currentStep];
    if (!step) return null;
    if (run.state === 'running' && (step.state === 'queued' || step.state === 'running')) {
      return { runId: run.id, step: step.index, attempt: step.attempt, mode: 'execute' };
    }
    if (run.state === 'compensating' && step.state === 'compensating') {
      return { runId: run.id, step: step.index, attempt: step.attempt, mode: 'compensate' };
    }
    return null;
  }

  async reconcileOnce(): Promise<ReconcileReport> {
    const runs = await this.deps.store.listActiveRuns();
    const report: ReconcileReport = {
      activeRuns: runs.length,
      requeued: [],
      expiredGates: 0,
      restoredStarts: [],
      reminded: [],
    };
    const untaken = new Map<string, StepJobRef>();
    for (const run of runs) {
      try {
        if (await this.expireGate(run)) report.expiredGates += 1;
        const job = await this.restoreJob(run, untaken);
        if (job) report.requeued.push(job);
      } catch (error) {
        this.deps.log.warn({ runId: run.id, err: error }, 'reconcile of run failed; next pass retries');
      }
    }
    await this.noteUntaken(untaken);
    for (const run of await this.deps.store.listScheduledRuns()) {
      try {
        if (await this.restoreStart(run)) report.restoredStarts.push(run.id);
        if (await this.remind(run)) report.reminded.push(run.id);
      } catch (error) {
        this.deps.log.warn(
          { runId: run.id, err: error },
          'reconcile of scheduled run failed; next pass retries',
        );
      }
    }
    // Housekeeping that must happen somewhere periodic: delivery keys are needed for minutes only.
    await this.deps.store.pruneSlackDeliveries(24 * 3600_000).catch((error: unknown) => {
      this.deps.log.warn({ err: error }, 'pruning Slack delivery keys failed');
    });
    if (report.requeued.length > 0 || report.expiredGates > 0) {
      this.deps.log.info(
        { requeued: report.requeued.length, expiredGates: report.expiredGates },
        'reconciler repaired runs',
      );
    }
    return report;
  }

  private async restoreJob(run: Run, untaken: Map<string, StepJobRef>): Promise<StepJobRef | null> {
    const job = Reconciler.expectedJob(run);
    if (!job) return null;
    const status = await this.deps.queue.status(job);
    const notBeforeMs = Date.parse(run.steps[job.step]?.notBefore ?? '');
    const due = Number.isNaN(notBeforeMs) || notBeforeMs <= this.deps.clock.now().getTime();
    if (status === 'waiting' || (status === 'delayed' && due)) untaken.set(queueJobId(job), job);
    if (status === 'waiting' || status === 'active' || status === 'delayed') return null;
    // Missing, or finished without the store having moved on (the job found itself stale, or
    // crashed its way to failed): the job is still owed. A duplicate is harmless: the job
    // re-reads the store and does nothing if the step already moved on.
    if (status !== 'missing') await this.deps.queue.removeFinished(job);
    const notBefore = run.steps[job.step]?.notBefore;
    const delayMs = notBefore ? Math.max(0, Date.parse(notBefore) - this.deps.clock.now().getTime()) : 0;
    await this.deps.queue.enqueue(job, delayMs);
    this.deps.log.info({ runId: run.id, job, status, delayMs }, 'restored missing step job');
    return job;
  }

  /** Due jobs seen untaken for `untakenAfterMs` are reported (once per period); others are forgotten. */
  private async noteUntaken(seen: Map<string, StepJobRef>): Promise<void> {
    const untakenAfterMs = this.deps.untakenAfterMs ?? 60_000;
    const now = (this.deps.wallClock ?? systemClock).now().getTime();
    for (const key of [...this.untakenSince.keys()]) if (!seen.has(key)) this.untakenSince.delete(key);
    for (const [key, job] of seen) {
      const since = this.untakenSince.get(key);
      if (since === undefined) {
        this.untakenSince.set(key, now);
      } else if (now - since >= untakenAfterMs) {
        this.untakenSince.set(key, now);
        try {
          await this.deps.onJobNotTaken?.({ job, forMs: now - since });
        } catch (error) {
          this.deps.log.warn({ err: error }, 'handling an untaken job failed');
        }
      }
    }
  }

  /**
   * A scheduled run needs its start job. Also the way a due run starts when the clock (the Clock
   * port) is ahead of the job's delay: a due run's job is made due now.
   */
  private async restoreStart(run: Run): Promise<boolean> {
    const job = { runId: run.id, mode: 'start' as const };
    const status = await this.deps.queue.status(job);
    if (status === 'waiting' || status === 'active') return false;
    if (status === 'delayed') {
      const due = Date.parse(run.scheduledFor ?? '') <= this.deps.clock.now().getTime();
      if (!due) return false;
      // Due by the clock but still delayed in Redis: start it now rather than wait for the timer.
      await this.deps.runs.startScheduled(run.id);
      return true;
    }
    // Missing, or finished while the run is still scheduled: the start is still owed.
    if (status !== 'missing') await this.deps.queue.removeFinished(job);
    await this.deps.runs.enqueueStart(run);
    this.deps.log.info(
      { runId: run.id, status, scheduledFor: run.scheduledFor },
      'restored scheduled start job',
    );
    return true;
  }

  /** Tells the channel once, `reminder` before the start (claimed in the store: one process says it). */
  private async remind(run: Run): Promise<boolean> {
    if (run.scheduledFor === null) return false;
    const target = this.deps.findTarget?.(run.target);
    const lead = target ? target.reminderMs : TARGET_DEFAULTS.reminderMs;
    if (lead <= 0) return false;
    const now = this.deps.clock.now();
    const startsAt = Date.parse(run.scheduledFor);
    if (now.getTime() < startsAt - lead || now.getTime() >= startsAt) return false;
    if (!(await this.deps.store.claimReminder(run.id, now.toISOString()))) return false;
    this.deps.runs.notify(run, 'reminder');
    return true;
  }

  private async expireGate(run: Run): Promise<boolean> {
    if (run.state !== 'awaiting_approval') return false;
    const step = run.steps[run.currentStep];
    const gate = step?.gate;
    if (!step || !gate || gate.expired || gate.expiresAt === null) return false;
    const now = this.deps.clock.now();
    if (now.getTime() < Date.parse(gate.expiresAt)) return false;
    const outcome = await this.deps.runs.apply(
      run.id,
      { type: 'gate_expired', at: now.toISOString(), step: step.index, round: gate.round },
      'reconciler',
    );
    return outcome.ok;
  }
}
