// The typed-confirmation modal for destructive gates: the approver types the target's name.
import { confirmsTarget } from '../../engine/transition';
import {
  type Block,
  CONFIRM_ACTION_ID,
  CONFIRM_BLOCK_ID,
  CONFIRM_CALLBACK_ID,
  encodeGateRef,
  escapeMrkdwn,
  type GateRef,
  type InputBlock,
  type ModalView,
  parseGateRef,
  plain,
  LIMITS,
  section,
  truncate,
  utcClock,
} from './blocks';
import type { Condition } from './gate';

export interface ConfirmModalInput {
  runId: string;
  step: number;
  round: number;
  target: string;
  whatWillHappen: string;
  conditions: Condition[];
  /** Optional extras shown above the input. */
  stepTitle?: string;
  irreversible?: string;
  /** When the conditions were read; shown next to them. */
  now?: Date;
  /** A needs-human gate: why the step stopped; the submission retries it with the override. */
  override?: string;
  /** What to type instead of the target's name (the step's own phrase, e.g. `allowDataLoss`). */
  confirmPhrase?: string;
}

export const CONFIRM_MODAL_TITLE = 'Confirm cutover step';

export function renderConfirmModal(input: ConfirmModalInput): ModalView {
  const target = escapeMrkdwn(truncate(input.target, 100));
  const lines = [
    ...(input.stepTitle ? [`*Step ${input.step + 1}:* ${escapeMrkdwn(truncate(input.stepTitle, 200))}`] : []),
    `*Target:* \`${target}\``,
    `*What will happen:* ${escapeMrkdwn(truncate(input.whatWillHappen, 1500))}`,
  ];
  const blocks: Block[] = [section(lines.join('\n'))];
  if (input.override !== undefined) {
    blocks.push(
      section(
        `*The step stopped:* ${escapeMrkdwn(truncate(input.override, 1000))}\n` +
          '*Retry anyway* lets it do what it just refused to do.',
      ),
    );
  }
  if (input.irreversible)
    blocks.push(section(`:warning: *${escapeMrkdwn(truncate(input.irreversible, 1000))}*`));
  if (input.conditions.length > 0) {
    const heading = input.now ? `*Conditions* (${utcClock(input.now)})` : '*Conditions*';
    const body = input.conditions
      .map((c) => `• *${escapeMrkdwn(truncate(c.label, 100))}:* ${escapeMrkdwn(truncate(c.value, 300))}`)
      .join('\n');
    blocks.push(section(`${heading}\n${body}`));
  }
  const confirmInput: InputBlock = {
    type: 'input',
    block_id: CONFIRM_BLOCK_ID,
    label: plain(
      `Type ${input.confirmPhrase ?? `the target's name (${input.target})`} to ${input.override !== undefined ? 'retry anyway' : 'approve'}`,
      LIMITS.inputLabel,
    ),
    element: { type: 'plain_text_input', action_id: CONFIRM_ACTION_ID, focus_on_load: true },
    hint: plain('Conditions are checked again right before the step runs.', LIMITS.inputHint),
  };
  blocks.push(confirmInput);
  return {
    type: 'modal',
    callback_id: CONFIRM_CALLBACK_ID,
    title: plain(CONFIRM_MODAL_TITLE, LIMITS.modalTitle),
    submit: plain(input.override !== undefined ? 'Retry anyway' : 'Approve', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    private_metadata: encodeGateRef({ runId: input.runId, step: input.step, round: input.round }),
    blocks,
  };
}

/** Reads the modal's private_metadata back; null when it is not ours. */
export function parseConfirmMetadata(privateMetadata: string): GateRef | null {
  return parseGateRef(privateMetadata);
}

/** Whether what the approver typed names the target: the engine's own rule. */
export const typedTargetMatches = confirmsTarget;

export interface ModalErrorsResponse {
  response_action: 'errors';
  errors: Record<string, string>;
}

/** The view_submission response that shows `message` under the name input and keeps the modal open. */
export function modalValidationError(message: string): ModalErrorsResponse {
  return { response_action: 'errors', errors: { [CONFIRM_BLOCK_ID]: truncate(message, 300) } };
}
