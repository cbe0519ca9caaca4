// When the notifier works on a run's messages. A change only bumps the run's version and queues its
// tasks; one timer per run then does what may be done: many changes before it fires (or while a call is
// in flight) become one redraw of the latest state. Work that is not allowed yet (spacing, a 429, the
// update budget, another process's claim) comes back at the time it names; transient failures come
// back with exponential back-off, and are dropped after `retries`.
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import { type Publishers, taskName } from './publishers';
import {
  type Attempts,
  freshAttempts,
  isDirty,
  isPending,
  newSlot,
  type RunChange,
  type RunSlot,
  type StepResult,
} from './run-slot';
import { describeError, isTransient } from './slack-client';
import { NotYet } from './slack-writer';

const MAX_BACKOFF_MS = 30_000;
const FLUSH_POLL_MS = 20;
const CLOSE_WAIT_MS = 5_000;

export interface UpdateSchedulerOptions {
  publishers: Publishers;
  /** Wall time: the timers that wait for it run in real time. */
  clock: Clock;
  log: Logger;
  /** Retries of a failed piece of work before it is dropped. */
  retries: number;
  /** First retry delay; doubles each retry, capped at 30 s. */
  retryBaseMs: number;
}

export class UpdateScheduler {
  private readonly slots = new Map<string, RunSlot>();
  private closed = false;

  constructor(private readonly options: UpdateSchedulerOptions) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Takes in a change of the run `runId` (now in `channel`) and schedules the work at once. */
  record(runId: string, channel: string, change: RunChange): void {
    let slot = this.slots.get(runId);
    if (!slot) {
      slot = newSlot(runId, channel);
      this.slots.set(runId, slot);
    }
    slot.channel = channel;
    slot.version += 1;
    if (change.changed) slot.changedVersion = slot.version;
    slot.finished ||= change.finished;
    for (const task of change.tasks) {
      if (task.kind === 'thread') {
        if (slot.said.has(task.key)) continue;
        slot.said.add(task.key);
      }
      slot.tasks.push(task);
    }
    this.kick(slot, this.now());
  }

  /** Resolves once nothing is pending (rejects after `timeoutMs`); at once after `close`. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (!this.closed && [...this.slots.values()].some(isPending)) {
      if (this.now() >= deadline) {
        const runs = [...this.slots.values()].filter(isPending).map((s) => s.runId);
        throw new Error(
          `SlackNotifier.flush: Slack work still pending after ${timeoutMs} ms (runs ${runs.join(', ')})`,
        );
      }
      await sleep(FLUSH_POLL_MS);
    }
  }

  /** Stops every timer and drops pending work; waits briefly for work in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
    }
    const deadline = this.now() + CLOSE_WAIT_MS;
    while ([...this.slots.values()].some((s) => s.busy) && this.now() < deadline) await sleep(FLUSH_POLL_MS);
    this.slots.clear();
  }

  private kick(slot: RunSlot, at: number): void {
    if (this.closed || !Number.isFinite(at)) return;
    if (slot.busy) {
      slot.again = true;
      return;
    }
    if (slot.timer !== null) {
      if (slot.timerAt <= at) return;
      clearTimeout(slot.timer);
    }
    slot.timerAt = at;
    slot.timer = setTimeout(
      () => {
        slot.timer = null;
        void this.drive(slot);
      },
      Math.max(0, at - this.now()),
    );
  }

  private async drive(slot: RunSlot): Promise<void> {
    slot.busy = true;
    let next: number | null;
    try {
      do {
        slot.again = false;
        next = await this.work(slot).catch((error: unknown) => {
          // `work` handles its own failures; this is a bug, not Slack.
          this.options.log.error(
            { runId: slot.runId, ...describeError(error) },
            'slack notifier work failed',
          );
          return this.now() + this.options.retryBaseMs;
        });
      } while (slot.again && !this.closed);
    } finally {
      slot.busy = false;
    }
    if (this.closed) return;
    if (next !== null) this.kick(slot, next);
    else if (slot.finished && !isPending(slot)) this.slots.delete(slot.runId);
  }

  /** Does what may be done now; returns when to come back (wall time), or null when nothing is left. */
  private async work(slot: RunSlot): Promise<number | null> {
    const { publishers } = this.options;
    const wakes: number[] = [];
    // 1. The progress message: everything else hangs off it.
    if (slot.progress === null && (isDirty(slot) || slot.tasks.length > 0)) {
      const r = await this.attempt(slot, 'post progress', slot.progressAttempts, () =>
        publishers.postProgress(slot),
      );
      if (r === 'dropped') this.giveUpProgress(slot);
      else if ('wait' in r) wakes.push(r.wait);
    }
    if (slot.progress !== null && !slot.progressStored) {
      const at = slot.progress;
      const r = await this.attempt(slot, 'store progress ts', slot.storeAttempts, () =>
        publishers.storeProgress(slot, at),
      );
      if (r === 'dropped') slot.progressStored = true;
      else if ('wait' in r) wakes.push(r.wait);
    }
    // 2. Prompts, outcomes and thread replies, in the order they happened.
    while (!this.closed) {
      const task = slot.tasks[0];
      if (task === undefined || (task.kind === 'thread' && slot.progress === null)) break;
      const r = await this.attempt(slot, taskName(task), task.attempts, () => publishers.runTask(slot, task));
      if (r !== 'dropped' && 'wait' in r) {
        wakes.push(r.wait);
        break;
      }
      slot.tasks.shift();
    }
    // 3. The progress message shows the latest state.
    if (slot.progress !== null && isDirty(slot) && !this.closed) {
      const at = slot.progress;
      const r = await this.attempt(slot, 'update progress', slot.progressAttempts, () =>
        publishers.updateProgress(slot, at),
      );
      if (r === 'dropped') slot.renderedVersion = slot.version;
      else if ('wait' in r) wakes.push(r.wait);
    }
    return wakes.length > 0 ? Math.min(...wakes) : null;
  }

  /** Runs one piece of work with back-off for transient failures; 'dropped' once it is given up. */
  private async attempt(
    slot: RunSlot,
    what: string,
    attempts: Attempts,
    work: () => Promise<StepResult>,
  ): Promise<StepResult | 'dropped'> {
    if (this.closed) return { wait: Number.POSITIVE_INFINITY };
    if (attempts.retryAt > this.now()) return { wait: attempts.retryAt };
    try {
      const result = await work();
      if ('done' in result) Object.assign(attempts, freshAttempts());
      return result;
    } catch (error) {
      if (error instanceof NotYet) return { wait: error.until };
      attempts.failures += 1;
      const fields = { runId: slot.runId, what, failures: attempts.failures, ...describeError(error) };
      if (!isTransient(error) || attempts.failures > this.options.retries) {
        this.options.log.error(fields, 'slack notification dropped');
        Object.assign(attempts, freshAttempts());
        return 'dropped';
      }
      const delay = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** (attempts.failures - 1));
      attempts.retryAt = this.now() + delay;
      this.options.log.warn({ ...fields, retryInMs: delay }, 'slack notification failed; will retry');
      return { wait: attempts.retryAt };
    }
  }

  private giveUpProgress(slot: RunSlot): void {
    slot.renderedVersion = slot.version;
    const dropped = slot.tasks.filter((t) => t.kind === 'thread').length;
    if (dropped > 0) {
      this.options.log.warn({ runId: slot.runId, dropped }, 'no progress message: thread replies dropped');
      slot.tasks = slot.tasks.filter((t) => t.kind !== 'thread');
    }
  }

  private now(): number {
    return this.options.clock.now().getTime();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
