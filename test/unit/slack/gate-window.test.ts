// The prompt of a window pause: a mutating step that did not fit in the maintenance window.
import type { Run } from '../../../src/engine/types';
import { messageViolations } from '../../../src/slack/render/blocks';
import { renderGatePrompt, type GatePromptInput } from '../../../src/slack/render/gate';
import { allText, at, buttonById, dateAt, makeRun, stepOf } from './fixtures';

const MESSAGE =
  'Fence old primary needs about 5 m (no earlier runs; default) but the maintenance window closes in 2 m. ' +
  'Next window that can hold it: Mon 3 Mar 02:00–04:00 UTC (in 23 h 58 m).';
const RESUME_AT = '2025-03-03T02:00:00.000Z';

/** Preflight done; the fence (an action, not destructive) paused for the window. */
function windowPausedRun(resumeAt: string | null): Run {
  const run = makeRun();
  const check = stepOf(run, 0);
  check.state = 'succeeded';
  check.attempt = 1;
  check.startedAt = at(0);
  check.finishedAt = at(800);
  const fence = stepOf(run, 1);
  fence.state = 'awaiting_approval';
  fence.attempt = 1;
  fence.gate = {
    round: 1,
    reason: 'window',
    message: MESSAGE,
    openedAt: at(1_000),
    expiresAt: at(1_000 + 15 * 60_000),
    requiredApprovals: 1,
    approvedBy: [],
    expired: false,
    resumeAt,
  };
  run.currentStep = 1;
  run.state = 'awaiting_approval';
  return run;
}

function input(run: Run): GatePromptInput {
  return {
    run,
    step: stepOf(run, 1),
    now: dateAt(60_000),
    approvers: ['U0ALICE', 'S0DBAONCALL'],
    conditions: [],
    whatWillHappen: 'Fence the old primary.',
  };
}

describe.each([
  ['with a next window', RESUME_AT],
  ['without a next window', null],
])('window pause prompt %s', (_name, resumeAt) => {
  const message = renderGatePrompt(input(windowPausedRun(resumeAt)));
  const text = allText(message.blocks ?? []);
  const approve = buttonById(message.blocks ?? [], 'cutover_approve');

  test('title (and the notification text) says the run paused for the window', () => {
    expect(message.text).toBe('Paused for the maintenance window on orders-db: Fence old primary');
    expect(text).toContain(':hourglass: Paused for the maintenance window — orders-db');
    expect(text).not.toContain('Approval needed —');
    expect(text).not.toContain('Needs a person');
  });

  test('the body quotes why the step was not started and what approving does', () => {
    expect(text).toContain(`*Fence old primary* was not started:\n> ${MESSAGE}`);
    expect(text).toContain('queues *Fence old primary* for the next window, where it is checked again');
    expect(text).toContain('Abort rolls back the completed steps instead.');
  });

  test('the button continues in the next window behind a confirm dialog (no modal: not destructive)', () => {
    expect(approve?.text.text).toBe('Continue in next window');
    expect(approve?.style).toBe('primary');
    expect(approve?.confirm).toBeDefined();
    expect(approve?.confirm?.title.text).toBe('Continue in next window?');
    expect(approve?.confirm?.confirm.text).toBe('Continue');
    expect(approve?.confirm?.deny.text).toBe('Cancel');
    expect(text).not.toContain('type the target');
    expect(buttonById(message.blocks ?? [], 'cutover_abort')).toBeDefined();
  });

  test('the confirm dialog (plain text) names the step, the target and when it continues', () => {
    const dialog = approve?.confirm?.text.text ?? '';
    expect(dialog).toBe(
      resumeAt
        ? '"Fence old primary" on orders-db: Continue at 2025-03-03 02:00 UTC.'
        : '"Fence old primary" on orders-db: Continue now.',
    );
    // Plain text shows Slack's date syntax literally: it must not be used here.
    expect(dialog).not.toContain('<!date');
  });

  test('the approving line names when it continues', () => {
    expect(text).toContain(resumeAt ? 'Approving (*Continue at <!date^' : 'Approving (*Continue now*)');
  });

  test('the message is within Slack limits', () => {
    expect(messageViolations(message)).toEqual([]);
  });
});
