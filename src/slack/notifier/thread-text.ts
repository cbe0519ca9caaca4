// What the notifier says in a progress message's thread and how it reads a transition. Pure.
import type { Effect, Run, StepRecord } from '../../engine/types';
import {
  approverMention,
  describeOutcome,
  escapeMrkdwn,
  formatDuration,
  neutralizeMrkdwn,
  RUN_STATE_EMOJI,
  runElapsedMs,
  truncate,
  truncateMrkdwn,
  userMention,
  utcDateTime,
} from '../render';

/** A thread reply (mrkdwn `text`) and a key that keeps one process from saying it twice. */
export interface ThreadNote {
  key: string;
  text: string;
  /** Also shown in the channel (reply_broadcast): reminders people must not miss. */
  broadcast?: boolean;
}

/** Longest error / message quoted in the thread. */
const QUOTE_MAX = 2500;

function quote(text: string): string {
  return escapeMrkdwn(truncate(text, QUOTE_MAX))
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

function stepName(run: Run, step: StepRecord): string {
  return `step ${step.index + 1} of ${run.steps.length}, *${escapeMrkdwn(truncate(step.spec.title, 150))}*`;
}

/** Steps whose undo is still to run, newest first (as the engine unwinds them). */
function pendingUndos(run: Run): StepRecord[] {
  return run.steps
    .filter(
      (s) =>
        s.index <= run.currentStep &&
        s.spec.compensation !== undefined &&
        s.startedAt !== null &&
        (s.state === 'compensating' || s.state === 'succeeded' || s.state === 'failed'),
    )
    .sort((a, b) => b.index - a.index);
}

/**
 * The thread replies a committed transition calls for; deliberately few:
 * - a step that failed for good (its error),
 * - a step that stopped and asks for a person (its message; the prompt itself goes to the channel),
 * - the start of a rollback (which undos will run), and an undo that failed,
 * - the end of the run.
 * Retries, polls and successes show in the progress message only.
 */
export function threadNotes(run: Run, effects: readonly Effect[], cause: string): ThreadNote[] {
  const notes: ThreadNote[] = [];
  if (cause === 'step_failed') {
    for (const step of run.steps) {
      if (step.state === 'failed' && step.error && step.finishedAt === run.updatedAt) {
        notes.push({
          key: `failed:${step.index}:${step.attempt}`,
          text: `:x: ${capitalize(stepName(run, step))} failed:\n${quote(step.error.message)}`,
        });
      }
    }
  }
  for (const effect of effects) {
    if (effect.type !== 'gate_opened') continue;
    const step = run.steps[effect.step];
    if (step?.gate?.reason === 'window') {
      notes.push({
        key: `window:${step.index}:${effect.round}`,
        text: `:hourglass: ${capitalize(stepName(run, step))} was not started:\n${quote(step.gate.message ?? 'it does not fit in the maintenance window')}`,
      });
      continue;
    }
    if (step?.gate?.reason !== 'needs_human') continue;
    const message = step.gate.message ?? step.error?.message ?? 'The step stopped and asks for a person.';
    notes.push({
      key: `needs_human:${step.index}:${effect.round}`,
      text:
        `:warning: ${capitalize(stepName(run, step))} needs a person:\n${quote(message)}\n` +
        '_Retry anyway or Abort on the approval request in the channel._',
    });
  }
  const startsUndo = effects.some((e) => e.type === 'enqueue' && e.job.mode === 'compensate');
  if (startsUndo && !cause.startsWith('compensation_')) {
    const undos = pendingUndos(run);
    const list = undos
      .map((s) => escapeMrkdwn(truncate(s.spec.compensation?.title ?? s.spec.title, 100)))
      .join(', ');
    const why = run.outcome ? ` (${describeOutcome(run.outcome)})` : '';
    notes.push({
      key: `rollback:${run.updatedAt}`,
      text: `:rewind: Rolling back${why}: undoing ${undos.length} completed step${undos.length === 1 ? '' : 's'}, newest first: ${list}.`,
    });
  }
  if (cause === 'compensation_failed') {
    for (const step of run.steps) {
      if (step.state !== 'compensation_failed' || !step.error) continue;
      notes.push({
        key: `undo_failed:${step.index}`,
        text:
          `:warning: Undo *${escapeMrkdwn(truncate(step.spec.compensation?.title ?? step.spec.title, 150))}* ` +
          `(${stepName(run, step)}) failed — manual action needed:\n${quote(step.error.message)}`,
      });
    }
  }
  if (cause === 'step_waiting') {
    // Long waits may say how far they are (a snapshot's progress): once per distinct note.
    for (const step of run.steps) {
      const note = step.output?.['progressNote'];
      if (step.index === run.currentStep && typeof note === 'string') {
        notes.push({
          key: `progress:${step.index}:${note}`,
          text: truncateMrkdwn(neutralizeMrkdwn(note), 500),
        });
      }
    }
  }
  if (cause === 'step_succeeded') {
    // A step may leave a report for people (a hook's output, the cutover's numbers): thread it.
    for (const step of run.steps) {
      const report = step.output?.['report'];
      if (step.state === 'succeeded' && step.finishedAt === run.updatedAt && typeof report === 'string') {
        // Reports quote hook and database output: they keep their formatting, never a mention.
        notes.push({ key: `report:${step.index}`, text: truncateMrkdwn(neutralizeMrkdwn(report), 3000) });
      }
    }
  }
  for (const effect of effects) {
    if (effect.type === 'run_finished') notes.push({ key: 'finished', text: finishedText(run) });
  }
  return notes;
}

/**
 * The reminder before a scheduled run, shown in the channel: when it starts and who is expected to
 * approve (user groups as group mentions).
 */
export function reminderText(run: Run, approvers: readonly string[], now: Date): string {
  const startsAt = run.scheduledFor ?? now.toISOString();
  const left = Math.max(0, Date.parse(startsAt) - now.getTime());
  const who = approvers.length > 0 ? approvers.map(approverMention).join(', ') : '_no approvers configured_';
  return (
    `:alarm_clock: *Reminder*: the cutover of \`${escapeMrkdwn(run.target)}\` (${escapeMrkdwn(run.strategy)}) ` +
    `starts at ${utcDateTime(new Date(startsAt))}, in ${formatDuration(left)}. ` +
    `Expected to approve: ${who}. Requested by ${userMention(run.requestedBy)}; abort the run to cancel it.`
  );
}

/** The last thread reply of a run. */
export function finishedText(run: Run): string {
  const took = formatDuration(runElapsedMs(run, new Date(run.finishedAt ?? run.updatedAt)));
  const emoji = RUN_STATE_EMOJI[run.state];
  const outcome = run.outcome ? describeOutcome(run.outcome) : null;
  switch (run.state) {
    case 'succeeded':
      return `${emoji} *Cutover complete* in ${took}.${outcome ? ` ${outcome}` : ''}`;
    case 'failed':
      return `${emoji} *Cutover failed* after ${took}: ${outcome ?? 'no reason recorded'}${nodesLine(run)}`;
    case 'aborted':
      return `${emoji} *Cutover aborted* after ${took}: ${outcome ?? 'no reason recorded'}${nodesLine(run)}`;
    default:
      return `${emoji} Cutover ${escapeMrkdwn(run.state)}`;
  }
}

/**
 * Where a node-by-node run stopped (rolling-replace steps carry `params.node`): which nodes were
 * finished, which one was in progress, which were never touched. Empty for other runs.
 */
export function nodesLine(run: Run): string {
  const byNode = new Map<string, StepRecord[]>();
  for (const step of run.steps) {
    const node = step.spec.params?.['node'];
    if (typeof node !== 'string') continue;
    byNode.set(node, [...(byNode.get(node) ?? []), step]);
  }
  if (byNode.size === 0) return '';
  const finished: string[] = [];
  const partly: string[] = [];
  const untouched: string[] = [];
  for (const [node, steps] of byNode) {
    // A node is done when its last step (the wait for full replication, or retiring the old
    // machine) succeeded; an undo that found nothing to undo does not make it less done.
    const last = steps[steps.length - 1];
    if (last?.state === 'succeeded') finished.push(node);
    else if (steps.some((step) => step.startedAt !== null)) partly.push(node);
    else untouched.push(node);
  }
  const list = (nodes: string[]): string => (nodes.length > 0 ? nodes.map(escapeMrkdwn).join(', ') : 'none');
  return (
    `\nNodes done: ${list(finished)}` +
    (partly.length > 0 ? ` · stopped during: ${list(partly)}` : '') +
    ` · untouched: ${list(untouched)}`
  );
}

/** Who decided a gate and why, for `renderGateOutcome`. */
export function gateDecision(
  run: Run,
  step: StepRecord,
  outcome: 'approved' | 'expired' | 'aborted',
): { by?: string; reason?: string } {
  if (outcome === 'approved') {
    const by = step.gate?.approvedBy[step.gate.approvedBy.length - 1];
    return by !== undefined ? { by } : {};
  }
  if (outcome === 'aborted') {
    const match = /^aborted by (\S+): ([\s\S]*)$/.exec(run.outcome ?? '');
    if (match?.[1] !== undefined) return { by: match[1], ...(match[2] ? { reason: match[2] } : {}) };
  }
  return {};
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
