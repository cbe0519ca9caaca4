// Replies to /cutover list, status, targets and plan.
import type { TargetConfig } from '../../config/types';
import type { Run, StepKind } from '../../engine/types';
import { windowStatus } from '../../windows';
import type { LagInput } from './progress';
import {
  approverMention,
  type Block,
  channelMention,
  context,
  escapeMrkdwn,
  fitLines,
  header,
  LIMITS,
  type Message,
  section,
  truncate,
  utcDateTime,
} from './blocks';
import { renderProgress, RUN_STATE_EMOJI, RUN_STATE_LABEL, shortId } from './progress';
import { formatAge } from './sparkline';

export interface TargetSummary {
  name: string;
  strategy: string;
  channel: string;
  approvers: string[];
  /** The next maintenance window, for people: `Sun 29 Nov 02:00–04:00 UTC (in 2 d 4 h)`. */
  nextWindow?: string;
  /** The window open now, instead of the next one: `Sun 29 Nov 02:00–04:00 UTC, closes in 40 m`. */
  openWindow?: string;
  /** Runs of the target start only inside a window. */
  requireWindow?: boolean;
}

/** What `/cutover targets` shows of a target at `now` (from the Clock port). */
export function targetSummary(target: TargetConfig, now: Date): TargetSummary {
  const status = windowStatus(target.windows, now);
  return {
    name: target.name,
    strategy: target.strategy,
    channel: target.channel,
    approvers: [...target.approvers],
    ...(status?.kind === 'open' ? { openWindow: status.text } : {}),
    ...(status?.kind === 'next' ? { nextWindow: status.text } : {}),
    ...(target.requireWindow ? { requireWindow: true } : {}),
  };
}

export interface PlanStepSummary {
  title: string;
  /** A StepKind normally; an unknown kind gets a neutral icon. */
  kind: string;
  destructive?: boolean;
  /** What approvers type instead of the target's name. */
  confirmPhrase?: string;
  compensation?: string;
}

export interface PreflightResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface PlanInput {
  target: string;
  strategy: string;
  steps: PlanStepSummary[];
  preflight: PreflightResult[];
  warnings?: string[];
}

export const KIND_ICON: Readonly<Record<StepKind, string>> = {
  check: ':mag:',
  wait: ':hourglass:',
  gate: ':raised_hand:',
  action: ':gear:',
};

/** Lists are cut to this many sections; more lines collapse into "… N more". */
const LIST_MAX_SECTIONS = 20;

const more = (noun: string) => (from: number, to: number) => `_… ${to - from} more ${noun}_`;

const name = (text: string, max = 100): string => escapeMrkdwn(truncate(text, max));

/** `/cutover list`: one line per run (short id, target, strategy, state, age). */
export function renderRunList(runs: Run[], now: Date): Message {
  if (runs.length === 0) return { text: 'No runs yet.', blocks: [section('No runs yet.')] };
  const lines = runs.map((run) => {
    const age = formatAge(now.getTime() - Date.parse(run.createdAt));
    const when =
      run.state === 'scheduled' && run.scheduledFor
        ? `starts ${utcDateTime(new Date(run.scheduledFor))} (in ${formatAge(Date.parse(run.scheduledFor) - now.getTime())})`
        : `${age} ago`;
    return (
      `\`${escapeMrkdwn(shortId(run.id))}\` ${RUN_STATE_EMOJI[run.state]} *${name(run.target)}* · ` +
      `${name(run.strategy, 60)} · ${RUN_STATE_LABEL[run.state].toLowerCase()} · ${when}`
    );
  });
  const blocks: Block[] = [
    header('Recent cutover runs'),
    ...fitLines(lines, LIST_MAX_SECTIONS, more('runs')).map(section),
  ];
  return { text: `${runs.length} recent cutover run${runs.length === 1 ? '' : 's'}`, blocks };
}

/** `/cutover status`: the progress message without its buttons. */
export function renderStatus(run: Run, now: Date, lag?: LagInput): Message {
  return renderProgress({ run, now, showActions: false, ...(lag ? { lag } : {}) });
}

/** `/cutover targets`. */
export function renderTargets(targets: TargetSummary[]): Message {
  if (targets.length === 0) {
    return { text: 'No targets configured.', blocks: [section('No targets configured.')] };
  }
  const lines = targets.map((t) => {
    const approvers =
      t.approvers.length > 0
        ? t.approvers.slice(0, 20).map(approverMention).join(', ') +
          (t.approvers.length > 20 ? ` and ${t.approvers.length - 20} more` : '')
        : '_no approvers_';
    const required = t.requireWindow ? ' (required)' : '';
    const window = t.openWindow
      ? ` · window open now${required}: ${name(t.openWindow, 100)}`
      : t.nextWindow
        ? ` · next window${required}: ${name(t.nextWindow, 100)}`
        : '';
    return `*${name(t.name)}* · ${name(t.strategy, 60)} · ${channelMention(t.channel)} · approvers: ${approvers}${window}`;
  });
  return {
    text: `${targets.length} target${targets.length === 1 ? '' : 's'} configured`,
    blocks: [header('Cutover targets'), ...fitLines(lines, LIST_MAX_SECTIONS, more('targets')).map(section)],
  };
}

function kindIcon(kind: string): string {
  return (KIND_ICON as Record<string, string | undefined>)[kind] ?? ':small_blue_diamond:';
}

/** `/cutover plan`: the steps and live preflight checks of a dry run. */
export function renderPlan(input: PlanInput): Message {
  const stepLines = input.steps.map((s, i) => {
    const destructive = s.destructive
      ? ` :warning: _destructive: type ${s.confirmPhrase === undefined ? 'the target name' : `\`${name(s.confirmPhrase, 40)}\``} to approve_`
      : '';
    const undo = s.compensation ? ` (undo: ${name(s.compensation, 75)})` : '';
    return `${i + 1}. ${kindIcon(s.kind)} ${name(s.title, 150)}${destructive}${undo}`;
  });
  const preflightLines = input.preflight.map(
    (p) => `${p.ok ? ':white_check_mark:' : ':x:'} *${name(p.name)}* — ${name(p.detail, 300)}`,
  );
  const warnings = (input.warnings ?? []).map((w) => `:warning: ${name(w, 500)}`);
  const passed = input.preflight.filter((p) => p.ok).length;

  const fixed = 4; // header, context, and the two headings that are always there
  const budget = LIMITS.messageBlocks - fixed - (warnings.length > 0 ? 1 : 0);
  const third = Math.max(1, Math.floor(budget / 3));
  const blocks: Block[] = [
    header(`Plan: ${input.target} — ${input.strategy}`),
    context(':test_tube: Dry run — nothing was changed'),
  ];
  if (warnings.length > 0) blocks.push(...fitLines(warnings, 1, more('warnings')).map(section));
  blocks.push(section(`*Steps* (${input.steps.length})`));
  blocks.push(
    ...(stepLines.length > 0 ? fitLines(stepLines, third, more('steps')) : ['_This plan has no steps._']).map(
      section,
    ),
  );
  blocks.push(section(`*Preflight* (${passed} of ${input.preflight.length} passed)`));
  if (preflightLines.length > 0) blocks.push(...fitLines(preflightLines, third, more('checks')).map(section));

  const status =
    input.preflight.length === 0
      ? 'no preflight checks'
      : passed === input.preflight.length
        ? 'preflight passed'
        : `${input.preflight.length - passed} preflight check${input.preflight.length - passed === 1 ? '' : 's'} failed`;
  const text = `Plan for ${truncate(input.target, 100)} (${truncate(input.strategy, 60)}): ${input.steps.length} steps, ${status}`;
  return { text: escapeMrkdwn(text), blocks };
}
