// The progress message: one per run, updated in place. Pure: the time comes in as `now`.
import type { Run, RunState, StepRecord, StepState } from '../../engine/types';
import type { LagSample } from '../../ports/run-store';
import {
  abortButton,
  actions,
  type Block,
  context,
  escapeMrkdwn,
  fieldsSection,
  fitLines,
  header,
  LIMITS,
  type Message,
  section,
  truncate,
  userMention,
  utcDateTime,
} from './blocks';
import { type Eta, etaToThreshold, formatBytes, formatDuration, formatSeconds, sparkline } from './sparkline';

export const RUN_STATE_EMOJI: Readonly<Record<RunState, string>> = {
  scheduled: ':calendar:',
  running: ':large_blue_circle:',
  awaiting_approval: ':raised_hand:',
  compensating: ':rewind:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  aborted: ':no_entry_sign:',
};

export const RUN_STATE_LABEL: Readonly<Record<RunState, string>> = {
  scheduled: 'Scheduled',
  running: 'Running',
  awaiting_approval: 'Awaiting approval',
  compensating: 'Rolling back',
  succeeded: 'Succeeded',
  failed: 'Failed',
  aborted: 'Aborted',
};

export const STEP_STATE_ICON: Readonly<Record<StepState, string>> = {
  pending: ':white_circle:',
  queued: ':hourglass_flowing_sand:',
  running: ':hourglass_flowing_sand:',
  awaiting_approval: ':raised_hand:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  skipped: ':heavy_minus_sign:',
  compensating: ':rewind:',
  compensated: ':leftwards_arrow_with_hook:',
  compensation_failed: ':warning:',
};

/** Step titles are cut to this many characters in the checklist (undo titles to half of it). */
export const CHECKLIST_TITLE_MAX = 150;
/** A checklist longer than this many sections is collapsed around the current step. */
export const CHECKLIST_MAX_SECTIONS = 10;
/** Newest lag samples drawn in the sparkline. */
export const LAG_SPARKLINE_WIDTH = 20;

export interface LagInput {
  /** Newest last (as `RunStore.recentLagSamples` returns them). */
  samples: LagSample[];
  maxBytes?: number;
  maxSeconds?: number;
}

export interface ProgressInput {
  run: Run;
  now: Date;
  lag?: LagInput;
  /** A context line under the checklist, e.g. "Details in the thread". */
  detailsNote?: string;
  /** Show the Abort button while the run is running or awaiting approval (default true). */
  showActions?: boolean;
}

const ACTIVE_STEP_STATES: readonly StepState[] = ['queued', 'running', 'awaiting_approval', 'compensating'];

export function isFinished(run: Run): boolean {
  return run.state === 'succeeded' || run.state === 'failed' || run.state === 'aborted';
}

/** Abort is offered while going forward and no abort is already waiting for the current step. */
export function canAbort(run: Run): boolean {
  const forward = run.state === 'running' || run.state === 'awaiting_approval' || run.state === 'scheduled';
  return forward && run.abortRequested === null;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

const ms = (iso: string): number => Date.parse(iso);

/** From the run's creation to its end, or to `now` while it is not finished. */
export function runElapsedMs(run: Run, now: Date): number {
  const end = run.finishedAt !== null ? ms(run.finishedAt) : now.getTime();
  return end - ms(run.createdAt);
}

/** How long a step took (or has been taking); null when it never started. Gates start when they open. */
export function stepDurationMs(step: StepRecord, now: Date): number | null {
  const started = step.startedAt ?? step.gate?.openedAt ?? null;
  // The undo's own start is not recorded; the forward duration would mislead while it runs.
  if (started === null || step.state === 'compensating') return null;
  if (step.finishedAt !== null && !ACTIVE_STEP_STATES.includes(step.state)) {
    return ms(step.finishedAt) - ms(started);
  }
  if (ACTIVE_STEP_STATES.includes(step.state)) return now.getTime() - ms(started);
  return null;
}

/** "aborted by U123: reason" (the engine's wording) with the user as a mention; escaped. */
export function describeOutcome(outcome: string): string {
  const match = /^aborted by (\S+): ([\s\S]*)$/.exec(outcome);
  if (match?.[1] !== undefined) {
    return `aborted by ${userMention(match[1])}: ${escapeMrkdwn(truncate(match[2] ?? '', 1000))}`;
  }
  return escapeMrkdwn(truncate(outcome, 1500));
}

export function checklistLine(run: Run, step: StepRecord, now: Date): string {
  const current = step.index === run.currentStep && !isFinished(run);
  const title = escapeMrkdwn(truncate(step.spec.title, CHECKLIST_TITLE_MAX));
  let line = `${STEP_STATE_ICON[step.state]} ${current ? `*${title}*` : title}`;
  const duration = stepDurationMs(step, now);
  if (duration !== null) line += ` — ${formatDuration(duration)}`;
  if (step.retries > 0) line += ` (${step.retries} ${step.retries === 1 ? 'retry' : 'retries'})`;
  if (step.state === 'awaiting_approval' && step.gate?.reason === 'needs_human') line += ' — needs a person';
  if (
    step.spec.kind === 'gate' &&
    step.state === 'succeeded' &&
    step.gate &&
    step.gate.approvedBy.length > 0
  ) {
    line += ` (approved by ${step.gate.approvedBy.map(userMention).join(', ')})`;
  }
  if (step.state === 'compensated' && step.spec.compensation) {
    line += ` (undo: ${escapeMrkdwn(truncate(step.spec.compensation.title, CHECKLIST_TITLE_MAX / 2))})`;
  }
  if (step.state === 'compensation_failed' && step.spec.compensation) {
    line += ` (undo failed: ${escapeMrkdwn(truncate(step.spec.compensation.title, CHECKLIST_TITLE_MAX / 2))})`;
  }
  return line;
}

function omittedSteps(run: Run, from: number, to: number): string {
  const counts = new Map<StepState, number>();
  for (const step of run.steps.slice(from, to)) counts.set(step.state, (counts.get(step.state) ?? 0) + 1);
  const parts = [...counts].map(([state, n]) => `${n} ${STEP_STATE_ICON[state]}`);
  const n = to - from;
  return `_… ${n} ${from === 0 ? 'earlier' : 'more'} step${n === 1 ? '' : 's'}: ${parts.join(' ')}_`;
}

/** The checklist as at most `maxSections` sections (collapsed around the current step if needed). */
export function checklistBlocks(run: Run, now: Date, maxSections: number): Block[] {
  if (run.steps.length === 0) return [section('_This plan has no steps._')];
  const lines = run.steps.map((step) => checklistLine(run, step, now));
  const focus = run.currentStep < 0 ? 0 : run.currentStep;
  return fitLines(lines, Math.max(1, maxSections), (from, to) => omittedSteps(run, from, to), focus).map(
    section,
  );
}

function etaText(eta: Eta): string | null {
  switch (eta.kind) {
    case 'below':
      return 'under threshold';
    case 'rising':
      return 'rising';
    case 'unknown':
      return null;
    case 'eta':
      return eta.ms < 1000 ? 'ETA to threshold < 1 s' : `ETA to threshold ${formatDuration(eta.ms)}`;
  }
}

/** Combines the per-dimension ETAs: both must be under their threshold. */
function combineEtas(etas: Eta[]): Eta | null {
  if (etas.length === 0) return null;
  if (etas.every((e) => e.kind === 'below')) return { kind: 'below' };
  if (etas.some((e) => e.kind === 'rising')) return { kind: 'rising' };
  if (etas.some((e) => e.kind === 'unknown')) return { kind: 'unknown' };
  return { kind: 'eta', ms: Math.max(...etas.map((e) => (e.kind === 'eta' ? e.ms : 0))) };
}

/**
 * "Lag: 1.2 MB / 0.8 s  ▁▂▃▅▇  ETA to threshold 40 s"; "Lag: unknown — counts as too high" when the
 * newest sample has a null (the engine treats an unknown lag as over the limit). Null without samples.
 */
export function lagLine(lag: LagInput, now: Date): string | null {
  const newest = lag.samples[lag.samples.length - 1];
  if (!newest) return null;
  if (newest.laggingReplicas !== undefined) return laggingReplicasLine(lag.samples, now);
  const bytes = lag.samples.flatMap((s) => (s.bytes === null ? [] : [{ at: s.at, value: s.bytes }]));
  const seconds = lag.samples.flatMap((s) => (s.seconds === null ? [] : [{ at: s.at, value: s.seconds }]));
  const graph = sparkline(
    (bytes.length > 0 ? bytes : seconds).map((s) => s.value),
    LAG_SPARKLINE_WIDTH,
  );
  const withGraph = (text: string): string => (graph.length > 1 ? `${text}  ${graph}` : text);
  if (newest.bytes === null || newest.seconds === null) {
    return withGraph(':warning: Lag: unknown — counts as too high');
  }
  const etas: Eta[] = [];
  if (lag.maxBytes !== undefined) etas.push(etaToThreshold(bytes, lag.maxBytes, now));
  if (lag.maxSeconds !== undefined) etas.push(etaToThreshold(seconds, lag.maxSeconds, now));
  const combined = combineEtas(etas);
  const eta = combined ? etaText(combined) : null;
  const text = withGraph(`Lag: ${formatBytes(newest.bytes)} / ${formatSeconds(newest.seconds)}`);
  return eta ? `${text}  ${eta}` : text;
}

/**
 * A cluster's lag: "Lagging replicas: 2  ▁▃▇▅▂  ETA to fully replicated 40 s" (samples of other
 * kinds are left out of the graph).
 */
function laggingReplicasLine(samples: LagSample[], now: Date): string {
  const counts = samples.flatMap((s) =>
    s.laggingReplicas === undefined ? [] : [{ at: s.at, value: s.laggingReplicas }],
  );
  const newest = counts[counts.length - 1]?.value ?? 0;
  const graph = sparkline(
    counts.map((c) => c.value),
    LAG_SPARKLINE_WIDTH,
  );
  const eta = etaToThreshold(counts, 0, now);
  const etaPart =
    eta.kind === 'below'
      ? 'fully replicated'
      : eta.kind === 'eta'
        ? `ETA to fully replicated ${eta.ms < 1000 ? '< 1 s' : formatDuration(eta.ms)}`
        : eta.kind === 'rising'
          ? 'rising'
          : null;
  const text = `${newest === 0 ? '' : ':warning: '}Lagging replicas: ${newest}${graph.length > 1 ? `  ${graph}` : ''}`;
  return etaPart ? `${text}  ${etaPart}` : text;
}

function outcomeText(run: Run, now: Date): string | null {
  const took = formatDuration(runElapsedMs(run, now));
  switch (run.state) {
    case 'succeeded':
      return `${RUN_STATE_EMOJI.succeeded} *Cutover complete* in ${took}.${
        run.outcome ? ` ${describeOutcome(run.outcome)}` : ''
      }`;
    case 'failed':
      return `${RUN_STATE_EMOJI.failed} *Failed* after ${took}: ${describeOutcome(run.outcome ?? 'no reason recorded')}`;
    case 'aborted':
      return `${RUN_STATE_EMOJI.aborted} *Aborted* after ${took}: ${describeOutcome(run.outcome ?? 'no reason recorded')}`;
    case 'compensating':
      return `${RUN_STATE_EMOJI.compensating} *Rolling back* completed steps${
        run.outcome ? `: ${describeOutcome(run.outcome)}` : ''
      }`;
    case 'scheduled':
      return run.scheduledFor
        ? `${RUN_STATE_EMOJI.scheduled} *Scheduled* to start at ${utcDateTime(new Date(run.scheduledFor))} (in ${formatDuration(Date.parse(run.scheduledFor) - now.getTime())}). Abort cancels it.`
        : null;
    case 'running':
    case 'awaiting_approval':
      if (run.abortRequested) {
        return `:hourglass_flowing_sand: *Abort requested* by ${userMention(run.abortRequested.user)}: the current step is finishing; completed steps will then be rolled back.`;
      }
      return null;
  }
}

/**
 * "Node 2 of 3 (nats-b)" while a step that works on one node of a cluster is current; the steps of a
 * node carry `{ node, index, total }` params (rolling-replace).
 */
function nodeField(run: Run): string[] {
  if (isFinished(run)) return [];
  const params = run.steps[run.currentStep]?.spec.params;
  const node = params?.['node'];
  const index = params?.['index'];
  const total = params?.['total'];
  if (typeof node !== 'string' || typeof index !== 'number' || typeof total !== 'number') return [];
  return [`*Node*\n${index} of ${total} (${escapeMrkdwn(truncate(node, 100))})`];
}

/** The notification fallback, e.g. "Cutover orders-db: awaiting approval". */
export function progressText(run: Run): string {
  const current = run.steps[run.currentStep];
  const state = RUN_STATE_LABEL[run.state].toLowerCase();
  const detail =
    current && (run.state === 'running' || run.state === 'awaiting_approval')
      ? ` (${truncate(current.spec.title, 100)})`
      : '';
  return escapeMrkdwn(`Cutover ${truncate(run.target, 100)}: ${state}${detail}`);
}

/** The blocks of the progress message. */
export function renderProgress(input: ProgressInput): Message {
  const { run, now } = input;
  const top: Block[] = [
    header(`Cutover ${run.target} — ${run.strategy}`),
    fieldsSection([
      `*State*\n${RUN_STATE_EMOJI[run.state]} ${RUN_STATE_LABEL[run.state]}`,
      `*Requested by*\n${userMention(run.requestedBy)}`,
      `*Run*\n\`${escapeMrkdwn(shortId(run.id))}\``,
      `*${isFinished(run) ? 'Took' : 'Elapsed'}*\n${formatDuration(runElapsedMs(run, now))}`,
      ...(run.currentStep >= 0 && !isFinished(run)
        ? [`*Step*\n${run.currentStep + 1} of ${run.steps.length}`]
        : []),
      ...nodeField(run),
    ]),
  ];
  const bottom: Block[] = [];
  const lag = input.lag && !isFinished(run) ? lagLine(input.lag, now) : null;
  if (lag) bottom.push(context(lag));
  const outcome = outcomeText(run, now);
  if (outcome) bottom.push(section(outcome));
  if (input.detailsNote) bottom.push(context(escapeMrkdwn(input.detailsNote)));
  if ((input.showActions ?? true) && canAbort(run)) {
    bottom.push(actions('cutover_progress_actions', [abortButton({ runId: run.id, step: run.currentStep })]));
  }
  const budget = Math.min(CHECKLIST_MAX_SECTIONS, LIMITS.messageBlocks - top.length - bottom.length);
  return {
    text: progressText(run),
    blocks: [...top, ...checklistBlocks(run, now, budget), ...bottom],
  };
}
