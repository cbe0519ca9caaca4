// The outbound side of Slack: one progress message per run, updated in place (coalesced, rate-limited,
// 429-aware), approval prompts as channel messages, and the details in the progress message's thread.
//
// The engine calls `runChanged` after every committed transition and never waits for Slack: the call only
// records what changed and schedules work. The work re-reads the run from the store when it renders, so
// coalescing many transitions into one update loses nothing. Three parts do the work: the scheduler
// (update-scheduler.ts: when, coalescing per run), the publishers (publishers.ts: what is posted and
// redrawn) and the writer (slack-writer.ts: the Slack calls, spaced, 429-aware, within the update budget).
//
// Two clocks: `clock` supplies the `now` that messages print (the operators' time, which tests may move
// by hand); `wallClock` is what spacing, back-off, retries and claim waits are measured in, and must
// move with real time, as the timers that wait on it do.
import type { WebClient } from '@slack/web-api';

import type { Effect, Run, StepRecord } from '../../engine/types';
import { systemClock, type Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { MessageStore } from '../../ports/message-store';
import type { RunObserver } from '../../ports/run-observer';
import type { LagSample, RunStore } from '../../ports/run-store';
import { type ChatUpdateBudget, DEFAULT_UPDATE_BUDGET, UpdateBudget } from '../../ports/update-budget';
import { Publishers } from './publishers';
import { freshAttempts, type GateDescription, type RunChange, type Task } from './run-slot';
import { describeError } from './slack-client';
import { SlackWriter } from './slack-writer';
import { reminderText, threadNotes } from './thread-text';
import { UpdateScheduler } from './update-scheduler';

export interface SlackNotifierDeps {
  /**
   * Must be built with `rejectRateLimitedCalls: true` and `retryConfig: { retries: 0 }` (use
   * `createSlackClient`): the notifier does its own 429 and retry handling and must see every failure.
   */
  client: WebClient;
  store: RunStore;
  messages: MessageStore;
  /** Only for the `now` printed in messages; spacing and back-off use `wallClock`. */
  clock: Clock;
  /**
   * The time spacing, 429 back-off, retries, claim waits and the update budget are measured in. It must
   * move with real time (the timers that wait on it do). Default: the system clock.
   */
  wallClock?: Clock;
  log: Logger;
  /**
   * What the prompt of the gate on `step` shows (and its outcome redraws). Called when the prompt is
   * posted, with the run's newest lag sample; may return a promise. A failure falls back to the step title.
   */
  describeGate(run: Run, step: StepRecord, latestLag?: LagSample): GateDescription | Promise<GateDescription>;
  /**
   * The workspace-wide `chat.update` budget: the runtime shares one through Redis; default, one of
   * this process alone (45 a minute, 15 kept for changes).
   */
  updateBudget?: ChatUpdateBudget;
  /** Who may approve the run's gates (the target's approvers), named in reminders. */
  approversOf?(run: Run): string[];
  /** Thresholds for the lag line's ETA (the target's `maxLag`); none by default. */
  lagLimits?(run: Run): { maxBytes?: number; maxSeconds?: number } | undefined;
  /**
   * At most one write per message (its post or update) and one new message per channel (prompt or
   * thread reply) per this many ms. Default 1000.
   */
  minUpdateIntervalMs?: number;
  /** Retries of a failed call (network, 5xx, Slack's internal errors, the store) before it is dropped. Default 4. */
  retries?: number;
  /** First retry delay; doubles each retry, capped at 30 s. Default 1000. */
  retryBaseDelayMs?: number;
  /**
   * How long a process waits for another one that claimed a message to record its ts, before it gives
   * up on that message (the other process may have died between claim and post). Default 60 s.
   */
  claimWaitMs?: number;
}

export interface FlushOptions {
  /** Default 30 s; `flush` rejects when work is still pending then. */
  timeoutMs?: number;
}

export const DEFAULT_MIN_UPDATE_INTERVAL_MS = 1000;

/**
 * `RunObserver` that keeps Slack in step with runs. One instance per process; several processes may
 * notify about the same run (each message is created once, through `MessageStore.claim`).
 */
export class SlackNotifier implements RunObserver {
  private readonly log: Logger;
  private readonly writer: SlackWriter;
  private readonly scheduler: UpdateScheduler;

  constructor(private readonly deps: SlackNotifierDeps) {
    this.log = deps.log.child({ component: 'slack-notifier' });
    const wallClock = deps.wallClock ?? systemClock;
    const retryBaseMs = Math.max(1, deps.retryBaseDelayMs ?? 1000);
    this.writer = new SlackWriter({
      client: deps.client,
      clock: wallClock,
      log: this.log,
      minIntervalMs: Math.max(0, deps.minUpdateIntervalMs ?? DEFAULT_MIN_UPDATE_INTERVAL_MS),
      updateBudget: deps.updateBudget ?? new UpdateBudget(DEFAULT_UPDATE_BUDGET),
    });
    const publishers = new Publishers({
      writer: this.writer,
      store: deps.store,
      messages: deps.messages,
      clock: deps.clock,
      wallClock,
      log: this.log,
      describeGate: (run, step, latestLag) => deps.describeGate(run, step, latestLag),
      lagLimits: (run) => deps.lagLimits?.(run),
      retryBaseMs,
      claimWaitMs: Math.max(0, deps.claimWaitMs ?? 60_000),
    });
    this.scheduler = new UpdateScheduler({
      publishers,
      clock: wallClock,
      log: this.log,
      retries: Math.max(0, deps.retries ?? 4),
      retryBaseMs,
    });
  }

  /** Never blocks, never throws: records the change and schedules the Slack work. */
  runChanged(run: Run, effects: readonly Effect[], cause: string): void {
    try {
      if (this.scheduler.isClosed || typeof run?.id !== 'string' || typeof run.channel !== 'string') return;
      // Everything that can fail on odd input happens before the scheduler takes the change.
      const change = this.changeOf(run, effects, cause);
      this.scheduler.record(run.id, run.channel, change);
    } catch (error) {
      try {
        this.log.error(
          { runId: (run as Partial<Run> | null | undefined)?.id, cause, ...describeError(error) },
          'runChanged failed',
        );
      } catch {
        // A logger that throws must not reach the engine either.
      }
    }
  }

  /** Resolves once nothing is pending (rejects after `timeoutMs`); at once after `close`. */
  async flush(options: FlushOptions = {}): Promise<void> {
    await this.scheduler.flush(options.timeoutMs ?? 30_000);
  }

  /** Stops every timer and drops pending work (call `flush` first to finish it); waits briefly for calls in flight. */
  async close(): Promise<void> {
    this.writer.close();
    await this.scheduler.close();
  }

  /** The prompts, outcomes and thread replies a transition calls for, with the run as it is now. */
  private changeOf(run: Run, effects: readonly Effect[], cause: string): RunChange {
    const snapshot = structuredClone(run);
    const tasks: Task[] = [];
    let finished = false;
    for (const effect of effects ?? []) {
      if (effect.type === 'gate_opened') {
        tasks.push({
          kind: 'gate_prompt',
          step: effect.step,
          round: effect.round,
          snapshot,
          attempts: freshAttempts(),
          owner: null,
          posted: null,
        });
      } else if (effect.type === 'gate_closed') {
        tasks.push({
          kind: 'gate_outcome',
          step: effect.step,
          round: effect.round,
          outcome: effect.outcome,
          snapshot,
          attempts: freshAttempts(),
          target: null,
        });
      } else if (effect.type === 'run_finished') {
        finished = true;
      }
    }
    const notes = threadNotes(snapshot, effects ?? [], cause);
    if (cause === 'reminder') {
      const approvers = this.deps.approversOf?.(snapshot) ?? [];
      notes.push({
        key: 'reminder',
        text: reminderText(snapshot, approvers, this.deps.clock.now()),
        broadcast: true,
      });
    }
    for (const note of notes) {
      tasks.push({
        kind: 'thread',
        key: note.key,
        text: note.text,
        broadcast: note.broadcast === true,
        attempts: freshAttempts(),
      });
    }
    return { tasks, changed: cause !== 'lag_sample', finished };
  }
}
