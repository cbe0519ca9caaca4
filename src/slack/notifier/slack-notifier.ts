// The outbound side of Slack: one progress message per run, updated in place (coalesced, rate-limited,
// 429-aware), approval prompts as channel messages, and the details in the progress message's thread.
//
// The engine calls `runChanged` after every committed transition and never waits for Slack: the call only
// records what changed and schedules work. The work re-reads the run from the store when it renders, so
// coalescing many transitions into one update loses nothing. Spacing and 429 back-off use wall time
// (setTimeout, Date.now), never the Clock port, which only supplies the `now` the renderers print.
import type {
  ChatPostMessageArguments,
  ChatPostMessageResponse,
  ChatUpdateResponse,
  WebClient,
} from '@slack/web-api';

import type { Effect, Run, StepRecord } from '../../engine/types';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { MessageStore } from '../../ports/message-store';
import type { RunObserver } from '../../ports/run-observer';
import type { LagSample, RunStore } from '../../ports/run-store';
import {
  type Condition,
  type LagInput,
  type Message,
  renderGateOutcome,
  renderGatePrompt,
  renderProgress,
} from '../render';
import {
  clientRetriesOnItsOwn,
  describeError,
  isTransient,
  PermanentError,
  rateLimitedFor,
} from './slack-client';
import { gateDecision, reminderText, threadNotes } from './thread-text';
import { DEFAULT_UPDATE_BUDGET, UpdateBudget, type ChatUpdateBudget } from '../../ports/update-budget';

/** What the gate prompt shows besides the run itself (from the target's config and live checks). */
export interface GateDescription {
  /** User ids and user-group ids. */
  approvers: string[];
  conditions: Condition[];
  whatWillHappen: string;
  irreversible?: string;
}

export interface SlackNotifierDeps {
  /**
   * Must be built with `rejectRateLimitedCalls: true` and `retryConfig: { retries: 0 }` (use
   * `createSlackClient`): the notifier does its own 429 and retry handling and must see every failure.
   */
  client: WebClient;
  store: RunStore;
  messages: MessageStore;
  /** Only for the `now` printed in messages; spacing and back-off use wall time. */
  clock: Clock;
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

export const PROGRESS_KEY = 'progress';
export const DEFAULT_MIN_UPDATE_INTERVAL_MS = 1000;
/** Lag samples drawn in the progress message. */
export const PROGRESS_LAG_SAMPLES = 30;

/** The MessageStore key of the prompt of a gate's round. */
export function gateKey(step: number, round: number): string {
  return `gate:${step}:${round}`;
}

const MAX_BACKOFF_MS = 30_000;
const FLUSH_POLL_MS = 20;
const CLOSE_WAIT_MS = 5_000;

type Method = 'chat.postMessage' | 'chat.update';

interface PostArgs {
  channel: string;
  text: string;
  blocks?: Message['blocks'];
  thread_ts?: string;
  reply_broadcast?: boolean;
}

interface Location {
  channel: string;
  ts: string;
}

/** Failure bookkeeping of one piece of work. */
interface Attempts {
  failures: number;
  /** Wall time before which it is not tried again (back-off). */
  retryAt: number;
  /** Since when it waits for another process to record a message ts. */
  waitingSince: number | null;
}

type Task =
  | {
      kind: 'gate_prompt';
      step: number;
      round: number;
      /** The run as the gate opened. */
      snapshot: Run;
      attempts: Attempts;
      /** Null until claimed; false when another process posts this prompt. */
      owner: boolean | null;
      posted: Location | null;
    }
  | {
      kind: 'gate_outcome';
      step: number;
      round: number;
      outcome: 'approved' | 'expired' | 'aborted';
      /** The run as the gate closed. */
      snapshot: Run;
      attempts: Attempts;
      target: Location | null;
    }
  | { kind: 'thread'; key: string; text: string; broadcast: boolean; attempts: Attempts };

interface RunSlot {
  runId: string;
  channel: string;
  /** Bumped by every change; the progress message is current while `renderedVersion` equals it. */
  version: number;
  renderedVersion: number;
  /** The version of the newest change that was not only a new lag sample. */
  changedVersion: number;
  progress: Location | null;
  /** The progress ts is in the MessageStore (other processes can find it). */
  progressStored: boolean;
  /** Null until claimed; false when another process posts the progress message. */
  progressOwner: boolean | null;
  progressAttempts: Attempts;
  storeAttempts: Attempts;
  /** Queued prompts, outcomes and thread replies, done in order. */
  tasks: Task[];
  /** Prompts this process posted, with what they showed. */
  gates: Map<string, { at: Location; description: GateDescription }>;
  /** Thread notes already queued (one process never says the same thing twice). */
  said: Set<string>;
  finished: boolean;
  busy: boolean;
  again: boolean;
  timer: NodeJS.Timeout | null;
  timerAt: number;
}

type StepResult = { done: true } | { wait: number };
const DONE: StepResult = { done: true };

/** Thrown where a call may not be made yet (rate limit, spacing): try again at `until` (wall time). */
class NotYet extends Error {
  constructor(readonly until: number) {
    super('not yet');
  }
}

const freshAttempts = (): Attempts => ({ failures: 0, retryAt: 0, waitingSince: null });

const messageKey = (at: Location): string => `msg:${at.channel}:${at.ts}`;
const channelKey = (channel: string): string => `post:${channel}`;

/**
 * `RunObserver` that keeps Slack in step with runs. One instance per process; several processes may
 * notify about the same run (each message is created once, through `MessageStore.claim`).
 */
export class SlackNotifier implements RunObserver {
  private readonly slots = new Map<string, RunSlot>();
  private readonly updateBudget: ChatUpdateBudget;
  /** Method → wall time until which a 429 forbids calling it. */
  private readonly blockedUntil = new Map<Method, number>();
  /** Spacing key → wall time of the last successful write. */
  private readonly lastWrite = new Map<string, number>();
  /** Calls of one method go one at a time, so that a 429 stops every later call of it. */
  private readonly lanes = new Map<Method, Promise<void>>();
  private readonly log: Logger;
  private readonly interval: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly claimWaitMs: number;
  private closed = false;

  constructor(private readonly deps: SlackNotifierDeps) {
    this.log = deps.log.child({ component: 'slack-notifier' });
    this.interval = Math.max(0, deps.minUpdateIntervalMs ?? DEFAULT_MIN_UPDATE_INTERVAL_MS);
    this.updateBudget = deps.updateBudget ?? new UpdateBudget(DEFAULT_UPDATE_BUDGET);
    this.retries = Math.max(0, deps.retries ?? 4);
    this.retryBaseMs = Math.max(1, deps.retryBaseDelayMs ?? 1000);
    this.claimWaitMs = Math.max(0, deps.claimWaitMs ?? 60_000);
    if (clientRetriesOnItsOwn(deps.client)) {
      this.log.warn(
        {},
        'the Slack WebClient was not built with rejectRateLimitedCalls: true and retryConfig: { retries: 0 } ' +
          '(use createSlackClient): it will sleep through 429s on its own and hold up every later call',
      );
    }
  }

  /** Never blocks, never throws: records the change and schedules the Slack work. */
  runChanged(run: Run, effects: readonly Effect[], cause: string): void {
    try {
      if (this.closed || typeof run?.id !== 'string' || typeof run.channel !== 'string') return;
      // Everything that can fail on odd input happens before the slot is touched.
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

      let slot = this.slots.get(run.id);
      if (!slot) {
        slot = newSlot(run.id, run.channel);
        this.slots.set(run.id, slot);
      }
      slot.channel = run.channel;
      slot.version += 1;
      if (cause !== 'lag_sample') slot.changedVersion = slot.version;
      slot.finished ||= finished;
      slot.tasks.push(...tasks);
      for (const note of notes) {
        if (slot.said.has(note.key)) continue;
        slot.said.add(note.key);
        slot.tasks.push({
          kind: 'thread',
          key: note.key,
          text: note.text,
          broadcast: note.broadcast === true,
          attempts: freshAttempts(),
        });
      }
      this.kick(slot, Date.now());
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
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && [...this.slots.values()].some(isPending)) {
      if (Date.now() >= deadline) {
        const runs = [...this.slots.values()].filter(isPending).map((s) => s.runId);
        throw new Error(
          `SlackNotifier.flush: Slack work still pending after ${timeoutMs} ms (runs ${runs.join(', ')})`,
        );
      }
      await sleep(FLUSH_POLL_MS);
    }
  }

  /** Stops every timer and drops pending work (call `flush` first to finish it); waits briefly for calls in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
    }
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while ([...this.slots.values()].some((s) => s.busy) && Date.now() < deadline) await sleep(FLUSH_POLL_MS);
    this.slots.clear();
  }

  // ---- scheduling ----

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
      Math.max(0, at - Date.now()),
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
          this.log.error({ runId: slot.runId, ...describeError(error) }, 'slack notifier work failed');
          return Date.now() + this.retryBaseMs;
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
    const wakes: number[] = [];
    // 1. The progress message: everything else hangs off it.
    if (slot.progress === null && (isDirty(slot) || slot.tasks.length > 0)) {
      const r = await this.attempt(slot, 'post progress', slot.progressAttempts, () =>
        this.postProgress(slot),
      );
      if (r === 'dropped') this.giveUpProgress(slot);
      else if ('wait' in r) wakes.push(r.wait);
    }
    if (slot.progress !== null && !slot.progressStored) {
      const at = slot.progress;
      const r = await this.attempt(slot, 'store progress ts', slot.storeAttempts, async () => {
        await this.deps.messages.setTs(slot.runId, PROGRESS_KEY, at.channel, at.ts);
        slot.progressStored = true;
        return DONE;
      });
      if (r === 'dropped') slot.progressStored = true;
      else if ('wait' in r) wakes.push(r.wait);
    }
    // 2. Prompts, outcomes and thread replies, in the order they happened.
    while (!this.closed) {
      const task = slot.tasks[0];
      if (task === undefined || (task.kind === 'thread' && slot.progress === null)) break;
      const r = await this.attempt(slot, taskName(task), task.attempts, () => this.runTask(slot, task));
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
        this.updateProgress(slot, at),
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
    if (attempts.retryAt > Date.now()) return { wait: attempts.retryAt };
    try {
      const result = await work();
      if ('done' in result) Object.assign(attempts, freshAttempts());
      return result;
    } catch (error) {
      if (error instanceof NotYet) return { wait: error.until };
      attempts.failures += 1;
      const fields = { runId: slot.runId, what, failures: attempts.failures, ...describeError(error) };
      if (!isTransient(error) || attempts.failures > this.retries) {
        this.log.error(fields, 'slack notification dropped');
        Object.assign(attempts, freshAttempts());
        return 'dropped';
      }
      const delay = Math.min(MAX_BACKOFF_MS, this.retryBaseMs * 2 ** (attempts.failures - 1));
      attempts.retryAt = Date.now() + delay;
      this.log.warn({ ...fields, retryInMs: delay }, 'slack notification failed; will retry');
      return { wait: attempts.retryAt };
    }
  }

  /** Polls (with a growing interval) for a message another process claimed; gives up after claimWaitMs. */
  private waitForOther(attempts: Attempts, what: string): StepResult {
    const now = Date.now();
    attempts.waitingSince ??= now;
    const waited = now - attempts.waitingSince;
    if (waited > this.claimWaitMs) {
      throw new PermanentError(
        `${what} was claimed by another process that has not posted it for ${waited} ms`,
      );
    }
    return { wait: now + Math.min(2000, 100 + Math.floor(waited / 4)) };
  }

  private giveUpProgress(slot: RunSlot): void {
    slot.renderedVersion = slot.version;
    const dropped = slot.tasks.filter((t) => t.kind === 'thread').length;
    if (dropped > 0) {
      this.log.warn({ runId: slot.runId, dropped }, 'no progress message: thread replies dropped');
      slot.tasks = slot.tasks.filter((t) => t.kind !== 'thread');
    }
  }

  // ---- Slack calls ----

  /** 0 when `method` may be called now for `spacingKey`, else the wall time from which it may. */
  private notBefore(method: Method, spacingKey: string): number {
    const now = Date.now();
    const blocked = this.blockedUntil.get(method) ?? 0;
    const last = this.lastWrite.get(spacingKey);
    const spaced = last === undefined ? 0 : last + this.interval;
    const at = Math.max(blocked, spaced);
    return at > now ? at : 0;
  }

  private check(method: Method, spacingKey: string): void {
    if (this.closed) throw new NotYet(Number.POSITIVE_INFINITY);
    const at = this.notBefore(method, spacingKey);
    if (at !== 0) throw new NotYet(at);
  }

  /** One call, after the previous call of the same method has been answered, unless blocked or too soon. */
  private async send<T>(method: Method, spacingKey: string, invoke: () => Promise<T>): Promise<T> {
    const previous = this.lanes.get(method) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lane = previous.then(() => mine);
    this.lanes.set(method, lane);
    await previous;
    try {
      this.check(method, spacingKey);
      try {
        const result = await invoke();
        this.wrote(spacingKey);
        return result;
      } catch (error) {
        const seconds = rateLimitedFor(error);
        if (seconds === undefined) throw error;
        const until = Date.now() + Math.max(1, seconds) * 1000;
        this.blockedUntil.set(method, Math.max(until, this.blockedUntil.get(method) ?? 0));
        this.log.warn({ method, retryAfterSeconds: seconds }, 'slack rate limit: holding this method back');
        throw new NotYet(until);
      }
    } finally {
      release();
      if (this.lanes.get(method) === lane) this.lanes.delete(method);
    }
  }

  private post(spacingKey: string, args: PostArgs): Promise<ChatPostMessageResponse> {
    return this.send('chat.postMessage', spacingKey, () =>
      // The SDK types a broadcast reply as its own variant; `args` is one or the other by construction.
      this.deps.client.chat.postMessage({
        ...args,
        unfurl_links: false,
        unfurl_media: false,
      } as ChatPostMessageArguments),
    );
  }

  private update(at: Location, message: Message): Promise<ChatUpdateResponse> {
    return this.send('chat.update', messageKey(at), () =>
      this.deps.client.chat.update({ channel: at.channel, ts: at.ts, ...message }),
    );
  }

  private wrote(spacingKey: string): void {
    const now = Date.now();
    this.lastWrite.set(spacingKey, now);
    if (this.lastWrite.size > 1000) {
      for (const [key, at] of this.lastWrite) if (at + this.interval < now) this.lastWrite.delete(key);
    }
  }

  // ---- the progress message ----

  private async renderProgressNow(runId: string): Promise<{ run: Run; message: Message }> {
    const run = await this.deps.store.getRun(runId);
    if (run === null) throw new PermanentError(`run ${runId} not found`);
    const samples = await this.deps.store.recentLagSamples(runId, PROGRESS_LAG_SAMPLES);
    let lag: LagInput | undefined;
    if (samples.length > 0) lag = { samples, ...this.lagLimits(run) };
    return { run, message: renderProgress({ run, now: this.deps.clock.now(), ...(lag ? { lag } : {}) }) };
  }

  private async postProgress(slot: RunSlot): Promise<StepResult> {
    const spacing = channelKey(slot.channel);
    if (slot.progressOwner === null) {
      const wait = this.notBefore('chat.postMessage', spacing);
      if (wait !== 0) return { wait };
      slot.progressOwner = await this.deps.messages.claim(slot.runId, PROGRESS_KEY, slot.channel);
    }
    if (!slot.progressOwner) {
      const ref = await this.deps.messages.get(slot.runId, PROGRESS_KEY);
      if (ref?.ts) {
        slot.progress = { channel: ref.channel ?? slot.channel, ts: ref.ts };
        slot.progressStored = true;
        return DONE;
      }
      return this.waitForOther(slot.progressAttempts, 'the progress message');
    }
    this.check('chat.postMessage', spacing);
    const version = slot.version;
    const { message } = await this.renderProgressNow(slot.runId);
    const result = await this.post(spacing, { channel: slot.channel, ...message });
    if (!result.ts) throw new PermanentError('chat.postMessage answered without a ts');
    slot.progress = { channel: result.channel ?? slot.channel, ts: result.ts };
    slot.progressStored = false;
    slot.renderedVersion = version;
    this.wrote(messageKey(slot.progress));
    return DONE;
  }

  private async updateProgress(slot: RunSlot, at: Location): Promise<StepResult> {
    const spacing = messageKey(at);
    this.check('chat.update', spacing);
    // Lag-only redraws leave part of the workspace's chat.update budget to real changes.
    const lagOnly = slot.changedVersion <= slot.renderedVersion;
    // Taken before rendering: other messages' redraws run while this one awaits the store.
    const budgetAt = await this.updateBudget.take(Date.now(), lagOnly);
    if (budgetAt !== 0) return { wait: budgetAt };
    const version = slot.version;
    const { run, message } = await this.renderProgressNow(slot.runId);
    await this.update(at, message);
    slot.renderedVersion = version;
    // Another process may have drawn a newer state just before ours landed: look again, and draw it
    // once more if the run moved on meanwhile. (A failed look is not worth a retry.)
    const after = await this.deps.store.getRun(slot.runId).catch(() => null);
    if (
      after !== null &&
      JSON.stringify(after) !== JSON.stringify(run) &&
      slot.renderedVersion === slot.version
    ) {
      slot.version += 1;
    }
    return DONE;
  }

  // ---- prompts, outcomes, thread replies ----

  private runTask(slot: RunSlot, task: Task): Promise<StepResult> {
    switch (task.kind) {
      case 'gate_prompt':
        return this.postGatePrompt(slot, task);
      case 'gate_outcome':
        return this.updateGateOutcome(slot, task);
      case 'thread':
        return this.postThreadReply(slot, task);
    }
  }

  private async postGatePrompt(
    slot: RunSlot,
    task: Extract<Task, { kind: 'gate_prompt' }>,
  ): Promise<StepResult> {
    const key = gateKey(task.step, task.round);
    if (task.posted === null) {
      const spacing = channelKey(slot.channel);
      const wait = this.notBefore('chat.postMessage', spacing);
      if (wait !== 0) return { wait };
      task.owner ??= await this.deps.messages.claim(slot.runId, key, slot.channel);
      if (!task.owner) return DONE; // another process posts this prompt
      // Draw the gate as it is now (approvals so far, expired) while it is still this round.
      const latest = await this.deps.store.getRun(slot.runId);
      const run = latest?.steps[task.step]?.gate?.round === task.round ? latest : task.snapshot;
      const step = run.steps[task.step];
      if (!step) throw new PermanentError(`run has no step ${task.step}`);
      const [latestLag] = await this.deps.store.recentLagSamples(slot.runId, 1);
      const description = await this.describe(run, step, latestLag);
      const message = renderGatePrompt({ run, step, now: this.deps.clock.now(), ...description });
      const result = await this.post(spacing, { channel: slot.channel, ...message });
      if (!result.ts) throw new PermanentError('chat.postMessage answered without a ts');
      task.posted = { channel: result.channel ?? slot.channel, ts: result.ts };
      slot.gates.set(key, { at: task.posted, description });
      this.wrote(messageKey(task.posted));
    }
    await this.deps.messages.setTs(slot.runId, key, task.posted.channel, task.posted.ts);
    return DONE;
  }

  private async updateGateOutcome(
    slot: RunSlot,
    task: Extract<Task, { kind: 'gate_outcome' }>,
  ): Promise<StepResult> {
    const key = gateKey(task.step, task.round);
    const local = slot.gates.get(key);
    if (task.target === null) {
      if (local) task.target = local.at;
      else {
        const ref = await this.deps.messages.get(slot.runId, key);
        if (!ref?.ts) return this.waitForOther(task.attempts, `the prompt ${key}`);
        task.target = { channel: ref.channel ?? slot.channel, ts: ref.ts };
      }
    }
    const spacing = messageKey(task.target);
    this.check('chat.update', spacing);
    // A gate's outcome is a change people must see: it may use the share lag redraws leave.
    const budgetAt = await this.updateBudget.take(Date.now(), false);
    if (budgetAt !== 0) return { wait: budgetAt };
    const run = task.snapshot;
    const step = run.steps[task.step];
    if (!step) throw new PermanentError(`run has no step ${task.step}`);
    // Redraw what the prompt showed; a prompt posted by another process is described afresh.
    const description = local?.description ?? (await this.describe(run, step, undefined));
    const message = renderGateOutcome({
      run,
      step,
      outcome: task.outcome,
      at: new Date(run.updatedAt),
      ...gateDecision(run, step, task.outcome),
      ...description,
    });
    await this.update(task.target, message);
    if (task.outcome !== 'expired') slot.gates.delete(key);
    return DONE;
  }

  private async postThreadReply(slot: RunSlot, task: Extract<Task, { kind: 'thread' }>): Promise<StepResult> {
    const progress = slot.progress;
    if (progress === null) return { wait: Date.now() + this.retryBaseMs };
    const spacing = channelKey(progress.channel);
    this.check('chat.postMessage', spacing);
    await this.post(spacing, {
      channel: progress.channel,
      thread_ts: progress.ts,
      text: task.text,
      ...(task.broadcast ? { reply_broadcast: true } : {}),
    });
    return DONE;
  }

  private async describe(
    run: Run,
    step: StepRecord,
    latestLag: LagSample | undefined,
  ): Promise<GateDescription> {
    try {
      return await this.deps.describeGate(run, step, latestLag);
    } catch (error) {
      this.log.warn({ runId: run.id, step: step.index, ...describeError(error) }, 'describeGate failed');
      return { approvers: [], conditions: [], whatWillHappen: step.spec.title };
    }
  }

  private lagLimits(run: Run): { maxBytes?: number; maxSeconds?: number } {
    try {
      return this.deps.lagLimits?.(run) ?? {};
    } catch {
      return {};
    }
  }
}

function newSlot(runId: string, channel: string): RunSlot {
  return {
    runId,
    channel,
    version: 0,
    renderedVersion: 0,
    changedVersion: 0,
    progress: null,
    progressStored: true,
    progressOwner: null,
    progressAttempts: freshAttempts(),
    storeAttempts: freshAttempts(),
    tasks: [],
    gates: new Map(),
    said: new Set(),
    finished: false,
    busy: false,
    again: false,
    timer: null,
    timerAt: 0,
  };
}

function isDirty(slot: RunSlot): boolean {
  return slot.version > slot.renderedVersion;
}

function isPending(slot: RunSlot): boolean {
  return (
    slot.busy ||
    slot.timer !== null ||
    slot.tasks.length > 0 ||
    isDirty(slot) ||
    (slot.progress !== null && !slot.progressStored)
  );
}

function taskName(task: Task): string {
  switch (task.kind) {
    case 'gate_prompt':
      return `post prompt ${gateKey(task.step, task.round)}`;
    case 'gate_outcome':
      return `update prompt ${gateKey(task.step, task.round)} (${task.outcome})`;
    case 'thread':
      return `thread reply ${task.key}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
