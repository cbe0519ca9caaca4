// The approval prompt for a gate (planned, or a needs-human pause) and what it becomes once decided.
import { describeConfirmationPhrase, needsTypedConfirmation } from '../../engine/transition';
import type { Run, StepRecord } from '../../engine/types';
import {
  abortButton,
  ACTION_APPROVE,
  ACTION_REASK,
  actions,
  approverMention,
  type Block,
  button,
  confirmDialog,
  context,
  encodeGateRef,
  encodeStepRef,
  escapeMrkdwn,
  fieldsSection,
  header,
  type Message,
  section,
  slackDate,
  truncate,
  userMention,
  utcClock,
  utcDateTime,
} from './blocks';
import { formatDuration } from './sparkline';

export interface Condition {
  label: string;
  value: string;
}

export interface GatePromptInput {
  run: Run;
  step: StepRecord;
  now: Date;
  /** User ids (`U…`, `W…`) and user-group ids (`S…`). */
  approvers: string[];
  conditions: Condition[];
  whatWillHappen: string;
  /** E.g. "After promotion there is no automatic way back". */
  irreversible?: string;
}

export type GateOutcome = 'approved' | 'expired' | 'aborted' | 'refused';

/**
 * The prompt's own inputs are optional here: pass them to redraw the same prompt (what will happen,
 * conditions when asked, approvers); without them the outcome keeps the header, step and fields.
 */
export interface GateOutcomeInput extends Partial<
  Pick<GatePromptInput, 'approvers' | 'conditions' | 'whatWillHappen' | 'irreversible'>
> {
  run: Run;
  step: StepRecord;
  outcome: GateOutcome;
  /** Who approved / aborted / refused. */
  by?: string;
  at: Date;
  reason?: string;
}

/** "in 14 min", "in less than a minute", "in 1h 02m"; "" once due. */
export function expiresIn(expiresAt: Date, now: Date): string {
  const left = expiresAt.getTime() - now.getTime();
  if (left <= 0) return '';
  if (left < 60_000) return 'in less than a minute';
  if (left < 3_600_000) return `in ${Math.floor(left / 60_000)} min`;
  return `in ${formatDuration(left)}`;
}

export function isNeedsHuman(step: StepRecord): boolean {
  return step.gate?.reason === 'needs_human';
}

export function isWindowPause(step: StepRecord): boolean {
  return step.gate?.reason === 'window';
}

function gateTitle(run: Run, step: StepRecord): string {
  if (isWindowPause(step)) return `:hourglass: Paused for the maintenance window — ${run.target}`;
  return isNeedsHuman(step)
    ? `:warning: Needs a person — ${run.target}`
    : `:raised_hand: Approval needed — ${run.target}`;
}

/**
 * "Continue at 2026-11-28 02:00 UTC" or, with no window ahead, "Continue now". `plain` for plain
 * text (a confirm dialog), where Slack's `<!date…>` syntax would show literally.
 */
function windowContinueText(step: StepRecord, plain = false): string {
  const resumeAt = step.gate?.resumeAt;
  if (!resumeAt) return 'Continue now';
  return `Continue at ${plain ? utcDateTime(new Date(resumeAt)) : slackDate(new Date(resumeAt))}`;
}

function expiryField(step: StepRecord, now: Date, mode: 'prompt' | 'outcome'): string {
  const gate = step.gate;
  if (!gate || gate.expiresAt === null) return '*Expires*\nNever: waits for a person';
  const expiresAt = new Date(gate.expiresAt);
  if (mode === 'outcome') return `*Expires*\n${slackDate(expiresAt)}`;
  const left = expiresIn(expiresAt, now);
  if (gate.expired || left === '') return `*Expired*\n${slackDate(expiresAt)}`;
  return `*Expires*\n${slackDate(expiresAt)} (${left})`;
}

function approversField(run: Run, approvers: string[]): string {
  const who = approvers.length > 0 ? approvers.map(approverMention).join(', ') : '_no approvers configured_';
  const self = run.policy.allowSelfApproval ? '' : '\n_not the requester_';
  return `*May approve*\n${who}${self}`;
}

function approvalsField(step: StepRecord): string {
  const gate = step.gate;
  const required = gate?.requiredApprovals ?? 1;
  const approved = gate?.approvedBy ?? [];
  const who = approved.length > 0 ? `: ${approved.map(userMention).join(', ')}` : '';
  return `*Approvals*\n${approved.length} of ${required}${who}`;
}

function conditionLines(conditions: Condition[]): string {
  return conditions
    .map((c) => `• *${escapeMrkdwn(truncate(c.label, 100))}:* ${escapeMrkdwn(truncate(c.value, 300))}`)
    .join('\n');
}

/** Everything but the buttons: shared by the prompt and its outcome. */
function gateBody(
  input: {
    run: Run;
    step: StepRecord;
    approvers?: string[];
    conditions?: Condition[];
    whatWillHappen?: string;
    irreversible?: string;
  },
  now: Date,
  mode: 'prompt' | 'outcome',
): Block[] {
  const { run, step } = input;
  const blocks: Block[] = [header(gateTitle(run, step))];
  const title = escapeMrkdwn(truncate(step.spec.title, 200));
  if (isWindowPause(step)) {
    const message = step.gate?.message ?? 'The step does not fit in the maintenance window.';
    blocks.push(section(`*${title}* was not started:\n> ${escapeMrkdwn(truncate(message, 2000))}`));
    blocks.push(
      section(
        `Approving (*${windowContinueText(step)}*) queues *${title}* for the next window, where it is checked again. ` +
          'Abort rolls back the completed steps instead.',
      ),
    );
  }
  if (isNeedsHuman(step)) {
    const message = step.gate?.message ?? step.error?.message ?? 'The step stopped and asks for a person.';
    const quoted = escapeMrkdwn(truncate(message, 2000))
      .split('\n')
      .map((l) => `> ${l}`)
      .join('\n');
    blocks.push(section(`*${title}* stopped:\n${quoted}`));
    blocks.push(
      section(
        `Approving (*Retry anyway*) retries *${title}* with the override: it may do what it just refused to do. ` +
          'Abort rolls back the completed steps instead.',
      ),
    );
  }
  const lines = [
    `*Step ${step.index + 1} of ${run.steps.length}:* ${title}`,
    `*Target:* \`${escapeMrkdwn(truncate(run.target, 100))}\` (${escapeMrkdwn(truncate(run.strategy, 60))})`,
  ];
  if (input.whatWillHappen) {
    lines.push(`*What will happen:* ${escapeMrkdwn(truncate(input.whatWillHappen, 1500))}`);
  }
  blocks.push(section(lines.join('\n')));
  if (input.irreversible) {
    blocks.push(section(`:warning: *${escapeMrkdwn(truncate(input.irreversible, 1000))}*`));
  }
  if (input.conditions) {
    const heading = mode === 'prompt' ? `*Conditions now* (${utcClock(now)})` : '*Conditions when asked*';
    const body = input.conditions.length > 0 ? conditionLines(input.conditions) : '_none reported_';
    blocks.push(section(`${heading}\n${body}`));
  }
  blocks.push(
    fieldsSection([
      `*Requested by*\n${userMention(run.requestedBy)}`,
      ...(input.approvers ? [approversField(run, input.approvers)] : []),
      expiryField(step, now, mode),
      approvalsField(step),
    ]),
  );
  return blocks;
}

/** The approval request with Approve and Abort buttons. */
export function renderGatePrompt(input: GatePromptInput): Message {
  const { run, step, now } = input;
  const blocks = gateBody(input, now, 'prompt');
  const gate = step.gate;
  // What the engine will only take with the target's name typed: a modal asks for it.
  const typed = needsTypedConfirmation(step);
  const needsHuman = isNeedsHuman(step);
  const windowPause = isWindowPause(step);
  const stepTitle = truncate(step.spec.title, 100);
  const open = gate !== null && !gate.expired && step.state === 'awaiting_approval';
  if (open) {
    if (typed) {
      blocks.push(
        context(
          `:keyboard: ${needsHuman ? 'Retry anyway' : 'Approving'} opens a dialog in which you type ${escapeMrkdwn(describeConfirmationPhrase(run, step))}.`,
        ),
      );
    }
    const approve = button({
      actionId: ACTION_APPROVE,
      text: windowPause ? 'Continue in next window' : needsHuman ? 'Retry anyway' : 'Approve',
      style: 'primary',
      value: encodeGateRef({ runId: run.id, step: step.index, round: gate.round }),
      // A destructive gate and a needs-human override get a typed-confirmation modal instead.
      ...(typed
        ? {}
        : {
            confirm: confirmDialog({
              title: windowPause ? 'Continue in next window?' : 'Approve this step?',
              text: windowPause
                ? `"${stepTitle}" on ${run.target}: ${windowContinueText(step, true)}.`
                : `"${stepTitle}" on ${run.target}: ${input.whatWillHappen}`,
              confirm: windowPause ? 'Continue' : 'Approve',
              deny: 'Cancel',
              style: 'primary',
            }),
          }),
    });
    blocks.push(actions('cutover_gate_actions', [approve, abortButton({ runId: run.id, step: step.index })]));
  } else {
    blocks.push(context('_This approval request is no longer open._'));
  }
  const what = `${windowPause ? 'Paused for the maintenance window' : needsHuman ? 'Needs a person' : 'Approval needed'} on ${truncate(run.target, 100)}`;
  const text = `${what}: ${truncate(needsHuman ? (gate?.message ?? step.spec.title) : step.spec.title, 200)}`;
  return { text: escapeMrkdwn(text), blocks };
}

function outcomeLine(input: GateOutcomeInput): string {
  const at = utcClock(input.at);
  const by = input.by !== undefined ? ` by ${userMention(input.by)}` : '';
  const reason = input.reason ? `: ${escapeMrkdwn(truncate(input.reason, 500))}` : '';
  switch (input.outcome) {
    case 'approved': {
      const approvers = input.by !== undefined ? [input.by] : (input.step.gate?.approvedBy ?? []);
      const who = approvers.length > 0 ? ` by ${approvers.map(userMention).join(', ')}` : '';
      return `:white_check_mark: Approved${who} at ${at}${reason}`;
    }
    case 'expired':
      return `:hourglass: Expired at ${at} — nobody approved in time`;
    case 'aborted':
      return `:no_entry_sign: Aborted${by} at ${at}${reason}`;
    case 'refused':
      return `:no_entry: Refused${by} at ${at}${reason}`;
  }
}

/** The prompt after it was decided: no Approve button; an expired one offers "Ask again". */
export function renderGateOutcome(input: GateOutcomeInput): Message {
  const { run, step } = input;
  const blocks = gateBody(input, input.at, 'outcome');
  const line = outcomeLine(input);
  blocks.push(context(line));
  if (input.outcome === 'expired') {
    blocks.push(
      actions('cutover_gate_actions', [
        button({
          actionId: ACTION_REASK,
          text: 'Ask again',
          value: encodeStepRef({ runId: run.id, step: step.index }),
        }),
      ]),
    );
  }
  const word = { approved: 'approved', expired: 'expired', aborted: 'aborted', refused: 'refused' }[
    input.outcome
  ];
  const text = `${truncate(step.spec.title, 200)} on ${truncate(run.target, 100)}: ${word}`;
  return { text: escapeMrkdwn(text), blocks };
}
