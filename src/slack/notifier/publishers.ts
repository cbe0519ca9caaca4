// The notifier's publishing tasks, one call at a time on a run's slot: post the progress message (once,
// through a MessageStore claim) and record its ts, redraw it, post a gate's prompt, redraw a closed
// gate's prompt with its outcome, and post a reply in the progress message's thread. Each says whether
// it is done or when to come back; the scheduler decides when it runs and retries its failures.
import type { Run, StepRecord } from '../../engine/types';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import type { MessageStore } from '../../ports/message-store';
import type { LagSample, RunStore } from '../../ports/run-store';
import { type LagInput, type Message, renderGateOutcome, renderGatePrompt, renderProgress } from '../render';
import { describeError, PermanentError } from './slack-client';
import { channelKey, type Location, messageKey, type SlackWriter } from './slack-writer';
import {
  type Attempts,
  DONE,
  type GateDescription,
  type RunSlot,
  type StepResult,
  type Task,
} from './run-slot';
import { gateDecision } from './thread-text';

export const PROGRESS_KEY = 'progress';
/** Lag samples drawn in the progress message. */
export const PROGRESS_LAG_SAMPLES = 30;

/** The MessageStore key of the prompt of a gate's round. */
export function gateKey(step: number, round: number): string {
  return `gate:${step}:${round}`;
}

/** How a task is named in the log. */
export function taskName(task: Task): string {
  switch (task.kind) {
    case 'gate_prompt':
      return `post prompt ${gateKey(task.step, task.round)}`;
    case 'gate_outcome':
      return `update prompt ${gateKey(task.step, task.round)} (${task.outcome})`;
    case 'thread':
      return `thread reply ${task.key}`;
  }
}

export interface PublishersOptions {
  writer: SlackWriter;
  store: RunStore;
  messages: MessageStore;
  /** The `now` printed in messages. */
  clock: Clock;
  /** Wall time: how long a claimed message has been waited for, when to come back. */
  wallClock: Clock;
  log: Logger;
  describeGate(run: Run, step: StepRecord, latestLag?: LagSample): GateDescription | Promise<GateDescription>;
  lagLimits?(run: Run): { maxBytes?: number; maxSeconds?: number } | undefined;
  /** When a thread reply without a progress message comes back (ms from now). */
  retryBaseMs: number;
  /** How long to wait for another process that claimed a message to record its ts. */
  claimWaitMs: number;
}

export class Publishers {
  constructor(private readonly options: PublishersOptions) {}

  // ---- the progress message ----

  /** Posts the run's progress message, unless another process claimed it: then waits for its ts. */
  async postProgress(slot: RunSlot): Promise<StepResult> {
    const { writer, messages } = this.options;
    const spacing = channelKey(slot.channel);
    if (slot.progressOwner === null) {
      const wait = writer.notBefore('chat.postMessage', spacing);
      if (wait !== 0) return { wait };
      slot.progressOwner = await messages.claim(slot.runId, PROGRESS_KEY, slot.channel);
    }
    if (!slot.progressOwner) {
      const ref = await messages.get(slot.runId, PROGRESS_KEY);
      if (ref?.ts) {
        slot.progress = { channel: ref.channel ?? slot.channel, ts: ref.ts };
        slot.progressStored = true;
        return DONE;
      }
      return this.waitForOther(slot.progressAttempts, 'the progress message');
    }
    writer.check('chat.postMessage', spacing);
    const version = slot.version;
    const { message } = await this.renderProgressNow(slot.runId);
    const result = await writer.post(spacing, { channel: slot.channel, ...message });
    if (!result.ts) throw new PermanentError('chat.postMessage answered without a ts');
    slot.progress = { channel: result.channel ?? slot.channel, ts: result.ts };
    slot.progressStored = false;
    slot.renderedVersion = version;
    writer.wrote(messageKey(slot.progress));
    return DONE;
  }

  /** Records where the progress message is, so that other processes find it. */
  async storeProgress(slot: RunSlot, at: Location): Promise<StepResult> {
    await this.options.messages.setTs(slot.runId, PROGRESS_KEY, at.channel, at.ts);
    slot.progressStored = true;
    return DONE;
  }

  /** Redraws the progress message with the run as the store has it now. */
  async updateProgress(slot: RunSlot, at: Location): Promise<StepResult> {
    const { writer, store } = this.options;
    writer.check('chat.update', messageKey(at));
    // Lag-only redraws leave part of the workspace's chat.update budget to real changes.
    const lagOnly = slot.changedVersion <= slot.renderedVersion;
    // Taken before rendering: other messages' redraws run while this one awaits the store.
    const budgetAt = await writer.takeUpdate(lagOnly);
    if (budgetAt !== 0) return { wait: budgetAt };
    const version = slot.version;
    const { run, message } = await this.renderProgressNow(slot.runId);
    await writer.update(at, message);
    slot.renderedVersion = version;
    // Another process may have drawn a newer state just before ours landed: look again, and draw it
    // once more if the run moved on meanwhile. (A failed look is not worth a retry.)
    const after = await store.getRun(slot.runId).catch(() => null);
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

  runTask(slot: RunSlot, task: Task): Promise<StepResult> {
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
    const { writer, messages, store } = this.options;
    const key = gateKey(task.step, task.round);
    if (task.posted === null) {
      const spacing = channelKey(slot.channel);
      const wait = writer.notBefore('chat.postMessage', spacing);
      if (wait !== 0) return { wait };
      task.owner ??= await messages.claim(slot.runId, key, slot.channel);
      if (!task.owner) return DONE; // another process posts this prompt
      // Draw the gate as it is now (approvals so far, expired) while it is still this round.
      const latest = await store.getRun(slot.runId);
      const run = latest?.steps[task.step]?.gate?.round === task.round ? latest : task.snapshot;
      const step = run.steps[task.step];
      if (!step) throw new PermanentError(`run has no step ${task.step}`);
      const [latestLag] = await store.recentLagSamples(slot.runId, 1);
      const description = await this.describe(run, step, latestLag);
      const message = renderGatePrompt({ run, step, now: this.options.clock.now(), ...description });
      const result = await writer.post(spacing, { channel: slot.channel, ...message });
      if (!result.ts) throw new PermanentError('chat.postMessage answered without a ts');
      task.posted = { channel: result.channel ?? slot.channel, ts: result.ts };
      slot.gates.set(key, { at: task.posted, description });
      writer.wrote(messageKey(task.posted));
    }
    await messages.setTs(slot.runId, key, task.posted.channel, task.posted.ts);
    return DONE;
  }

  private async updateGateOutcome(
    slot: RunSlot,
    task: Extract<Task, { kind: 'gate_outcome' }>,
  ): Promise<StepResult> {
    const { writer } = this.options;
    const key = gateKey(task.step, task.round);
    const local = slot.gates.get(key);
    if (task.target === null) {
      if (local) task.target = local.at;
      else {
        const ref = await this.options.messages.get(slot.runId, key);
        if (!ref?.ts) return this.waitForOther(task.attempts, `the prompt ${key}`);
        task.target = { channel: ref.channel ?? slot.channel, ts: ref.ts };
      }
    }
    writer.check('chat.update', messageKey(task.target));
    // A gate's outcome is a change people must see: it may use the share lag redraws leave.
    const budgetAt = await writer.takeUpdate(false);
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
    await writer.update(task.target, message);
    if (task.outcome !== 'expired') slot.gates.delete(key);
    return DONE;
  }

  private async postThreadReply(slot: RunSlot, task: Extract<Task, { kind: 'thread' }>): Promise<StepResult> {
    const progress = slot.progress;
    if (progress === null) return { wait: this.now() + this.options.retryBaseMs };
    const spacing = channelKey(progress.channel);
    this.options.writer.check('chat.postMessage', spacing);
    await this.options.writer.post(spacing, {
      channel: progress.channel,
      thread_ts: progress.ts,
      text: task.text,
      ...(task.broadcast ? { reply_broadcast: true } : {}),
    });
    return DONE;
  }

  // ---- helpers ----

  /** Polls (with a growing interval) for a message another process claimed; gives up after claimWaitMs. */
  private waitForOther(attempts: Attempts, what: string): StepResult {
    const now = this.now();
    attempts.waitingSince ??= now;
    const waited = now - attempts.waitingSince;
    if (waited > this.options.claimWaitMs) {
      throw new PermanentError(
        `${what} was claimed by another process that has not posted it for ${waited} ms`,
      );
    }
    return { wait: now + Math.min(2000, 100 + Math.floor(waited / 4)) };
  }

  private async renderProgressNow(runId: string): Promise<{ run: Run; message: Message }> {
    const { store } = this.options;
    const run = await store.getRun(runId);
    if (run === null) throw new PermanentError(`run ${runId} not found`);
    const samples = await store.recentLagSamples(runId, PROGRESS_LAG_SAMPLES);
    let lag: LagInput | undefined;
    if (samples.length > 0) lag = { samples, ...this.lagLimits(run) };
    return { run, message: renderProgress({ run, now: this.options.clock.now(), ...(lag ? { lag } : {}) }) };
  }

  private async describe(
    run: Run,
    step: StepRecord,
    latestLag: LagSample | undefined,
  ): Promise<GateDescription> {
    try {
      return await this.options.describeGate(run, step, latestLag);
    } catch (error) {
      this.options.log.warn(
        { runId: run.id, step: step.index, ...describeError(error) },
        'describeGate failed',
      );
      return { approvers: [], conditions: [], whatWillHappen: step.spec.title };
    }
  }

  private lagLimits(run: Run): { maxBytes?: number; maxSeconds?: number } {
    try {
      return this.options.lagLimits?.(run) ?? {};
    } catch {
      return {};
    }
  }

  private now(): number {
    return this.options.wallClock.now().getTime();
  }
}
