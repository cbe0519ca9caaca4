// The typed-confirmation modal of destructive gates.
import { modalViolations } from '../../../src/slack/render/blocks';
import {
  modalValidationError,
  parseConfirmMetadata,
  renderConfirmModal,
  typedTargetMatches,
} from '../../../src/slack/render/modal';
import { dateAt, RUN_ID } from './fixtures';

const input = {
  runId: RUN_ID,
  step: 3,
  round: 2,
  target: 'orders-db',
  whatWillHappen: 'Promote the standby db-2 to primary.',
  conditions: [{ label: 'Replay lag', value: '0 B / 0.0 s' }],
};

describe('renderConfirmModal', () => {
  it('is a modal with our callback id, metadata, title, submit and close', () => {
    const view = renderConfirmModal(input);
    expect(modalViolations(view)).toEqual([]);
    expect(view).toMatchObject({
      type: 'modal',
      callback_id: 'cutover_confirm',
      title: { type: 'plain_text', text: 'Confirm cutover step' },
      submit: { type: 'plain_text', text: 'Approve' },
      close: { type: 'plain_text', text: 'Cancel' },
    });
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(JSON.parse(view.private_metadata)).toEqual({ runId: RUN_ID, step: 3, round: 2 });
    expect(parseConfirmMetadata(view.private_metadata)).toEqual({ runId: RUN_ID, step: 3, round: 2 });
  });

  it('asks for the target name in a plain_text_input', () => {
    const view = renderConfirmModal(input);
    const last = view.blocks[view.blocks.length - 1];
    expect(last).toMatchObject({
      type: 'input',
      block_id: 'confirm_target',
      label: { type: 'plain_text', text: "Type the target's name (orders-db) to approve" },
      element: { type: 'plain_text_input', action_id: 'typed_target' },
    });
    // The name is not filled in for the approver.
    expect(last?.type === 'input' && last.element.initial_value).toBeFalsy();
  });

  it('shows what will happen and the conditions', () => {
    const view = renderConfirmModal({ ...input, stepTitle: 'Approve promotion', now: dateAt(0) });
    const texts = view.blocks.flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : []));
    expect(texts.join('\n')).toContain('*What will happen:* Promote the standby db-2 to primary.');
    expect(texts.join('\n')).toContain('*Conditions* (02:00 UTC)\n• *Replay lag:* 0 B / 0.0 s');
    expect(texts.join('\n')).toContain('*Step 4:* Approve promotion');
  });
});

describe('modal helpers', () => {
  it('builds the response_action errors body for the name input', () => {
    expect(modalValidationError('That is not orders-db.')).toEqual({
      response_action: 'errors',
      errors: { confirm_target: 'That is not orders-db.' },
    });
  });

  it.each<[string | null | undefined, boolean]>([
    ['orders-db', true],
    ['  orders-db ', true],
    ['Orders-db', false],
    ['orders', false],
    ['', false],
    [null, false],
    [undefined, false],
  ])('typed %j matches: %s', (typed, expected) => {
    expect(typedTargetMatches(typed, 'orders-db')).toBe(expected);
  });

  it.each([
    '',
    'nope',
    '[]',
    '{"runId":"r","step":1}',
    '{"runId":"r","step":"1","round":1}',
    '{"runId":1,"step":1,"round":1}',
  ])('refuses metadata %j', (value) => {
    expect(parseConfirmMetadata(value)).toBeNull();
  });
});
