// What the notifier keeps per run: where its messages are, which version of the run they show (many
// changes, one redraw), and the prompts, outcomes and thread replies queued in order. The scheduler
// decides when a slot is worked on; the publishers do the work and record what they posted here.
import type { Run } from '../../engine/types';
import type { Condition } from '../render';
import type { Location } from './slack-writer';

/** What the gate prompt shows besides the run itself (from the target's config and live checks). */
export interface GateDescription {
  /** User ids and user-group ids. */
  approvers: string[];
  conditions: Condition[];
  whatWillHappen: string;
  irreversible?: string;
}

/** Failure bookkeeping of one piece of work. */
export interface Attempts {
  failures: number;
  /** Wall time before which it is not tried again (back-off). */
  retryAt: number;
  /** Since when it waits for another process to record a message ts. */
  waitingSince: number | null;
}

export type Task =
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

/** One committed transition, as the slot takes it in. */
export interface RunChange {
  /** Prompts, outcomes and thread replies, in the order they happened (thread replies by key, once). */
  tasks: Task[];
  /** More than a new lag sample: the progress message must not wait behind lag-only redraws. */
  changed: boolean;
  finished: boolean;
}

export interface RunSlot {
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

/** What one piece of work came to: done, or come back at `wait` (wall time). */
export type StepResult = { done: true } | { wait: number };
export const DONE: StepResult = { done: true };

export const freshAttempts = (): Attempts => ({ failures: 0, retryAt: 0, waitingSince: null });

export function newSlot(runId: string, channel: string): RunSlot {
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

/** The progress message shows an older version of the run than the newest change. */
export function isDirty(slot: RunSlot): boolean {
  return slot.version > slot.renderedVersion;
}

export function isPending(slot: RunSlot): boolean {
  return (
    slot.busy ||
    slot.timer !== null ||
    slot.tasks.length > 0 ||
    isDirty(slot) ||
    (slot.progress !== null && !slot.progressStored)
  );
}
