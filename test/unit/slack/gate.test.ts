// The approval prompt and what it becomes once decided.
import type { Run } from '../../../src/engine/types';
import { messageViolations, parseGateRef } from '../../../src/slack/render/blocks';
import {
  expiresIn,
  renderGateOutcome,
  renderGatePrompt,
  type GatePromptInput,
} from '../../../src/slack/render/gate';
import {
  allText,
  at,
  awaitingGateRun,
  buttonById,
  buttons,
  dateAt,
  RUN_ID,
  runningRun,
  stepOf,
} from './fixtures';

const OPENED = 120_000;

function promptInput(
  run: Run = awaitingGateRun(),
  overrides: Partial<GatePromptInput> = {},
): GatePromptInput {
  return {
    run,
    step: stepOf(run, run.currentStep),
    now: dateAt(OPENED + 60_000), // 14 minutes before the 15-minute expiry
    approvers: ['U0ALICE', 'S0DBAONCALL'],
    conditions: [
      { label: 'Replay lag', value: '0 B / 0.0 s' },
      { label: 'Old primary', value: 'fenced (read-only)' },
    ],
    whatWillHappen: 'Promote the standby db-2 to primary and route traffic to it.',
    irreversible: 'After promotion there is no automatic way back',
    ...overrides,
  };
}

function nonDestructiveGateRun(): Run {
  const run = awaitingGateRun();
  stepOf(run, 3).spec = { ...stepOf(run, 3).spec, destructive: false };
  return run;
}

function needsHumanRun(): Run {
  const run = runningRun();
  const fence = stepOf(run, 1);
  fence.state = 'awaiting_approval';
  fence.error = { class: 'needs_human', message: 'Primary still has 3 client connections' };
  fence.gate = {
    round: 2,
    reason: 'needs_human',
    message: 'Primary still has 3 client connections',
    openedAt: at(OPENED),
    expiresAt: null,
    requiredApprovals: 1,
    approvedBy: [],
    expired: false,
  };
  run.state = 'awaiting_approval';
  return run;
}

describe('renderGatePrompt', () => {
  it('says what will happen, to what, the conditions now, who asked and who may approve', () => {
    const message = renderGatePrompt(promptInput());
    expect(messageViolations(message)).toEqual([]);
    const text = allText(message.blocks);
    expect(message.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: ':raised_hand: Approval needed — orders-db' },
    });
    expect(text).toContain('*Step 4 of 5:* Approve promotion');
    expect(text).toContain('*Target:* `orders-db` (replica-promotion)');
    expect(text).toContain(
      '*What will happen:* Promote the standby db-2 to primary and route traffic to it.',
    );
    expect(text).toContain(':warning: *After promotion there is no automatic way back*');
    expect(text).toContain(
      '*Conditions now* (02:03 UTC)\n• *Replay lag:* 0 B / 0.0 s\n• *Old primary:* fenced (read-only)',
    );
    expect(text).toContain('*Requested by*\n<@U0REQUEST>');
    expect(text).toContain('*Approvals*\n0 of 1');
    expect(message.text).toBe('Approval needed on orders-db: Approve promotion');
  });

  it('renders group approvers as subteam mentions and users as user mentions', () => {
    const text = allText(renderGatePrompt(promptInput()).blocks);
    expect(text).toContain('*May approve*\n<@U0ALICE>, <!subteam^S0DBAONCALL>\n_not the requester_');
    const self = awaitingGateRun();
    self.policy.allowSelfApproval = true;
    expect(allText(renderGatePrompt(promptInput(self)).blocks)).not.toContain('not the requester');
  });

  it('gives the expiry as a Slack date token and as time left from `now`', () => {
    const expiresAt = dateAt(OPENED + 15 * 60_000);
    const unix = Math.floor(expiresAt.getTime() / 1000);
    const token = `<!date^${unix}^{date_short_pretty} {time}|2025-03-02 02:17 UTC>`;
    expect(allText(renderGatePrompt(promptInput()).blocks)).toContain(`*Expires*\n${token} (in 14 min)`);
    const later = renderGatePrompt(promptInput(undefined, { now: dateAt(OPENED + 14 * 60_000 + 30_000) }));
    expect(allText(later.blocks)).toContain(`${token} (in less than a minute)`);
    const past = renderGatePrompt(promptInput(undefined, { now: dateAt(OPENED + 16 * 60_000) }));
    expect(allText(past.blocks)).toContain(`*Expired*\n${token}`);
  });

  it('puts runId, step and round in the Approve value', () => {
    const approve = buttonById(renderGatePrompt(promptInput()).blocks, 'cutover_approve');
    expect(approve).toMatchObject({ style: 'primary', text: { text: 'Approve' } });
    expect(JSON.parse(approve?.value ?? '')).toEqual({ runId: RUN_ID, step: 3, round: 1 });
    expect(parseGateRef(approve?.value ?? '')).toEqual({ runId: RUN_ID, step: 3, round: 1 });
    const abort = buttonById(renderGatePrompt(promptInput()).blocks, 'cutover_abort');
    expect(abort?.style).toBe('danger');
    expect(JSON.parse(abort?.value ?? '')).toEqual({ runId: RUN_ID, step: 3 });
  });

  it('has no confirm dialog on a destructive gate (a modal asks for the name instead)', () => {
    const message = renderGatePrompt(promptInput());
    expect(buttonById(message.blocks, 'cutover_approve')?.confirm).toBeUndefined();
    expect(allText(message.blocks)).toContain("type the target's name");
  });

  it('has a confirm dialog on a non-destructive gate', () => {
    const approve = buttonById(
      renderGatePrompt(promptInput(nonDestructiveGateRun())).blocks,
      'cutover_approve',
    );
    expect(approve?.confirm).toMatchObject({
      title: { text: 'Approve this step?' },
      confirm: { text: 'Approve' },
      deny: { text: 'Cancel' },
    });
    expect(approve?.confirm?.text.text).toContain('Approve promotion');
  });

  it('titles a needs-human gate "Needs a person", shows its message and offers "Retry anyway"', () => {
    const run = needsHumanRun();
    const message = renderGatePrompt(
      promptInput(run, {
        whatWillHappen: 'Fence the primary even though clients are connected.',
        irreversible: undefined,
      }),
    );
    expect(messageViolations(message)).toEqual([]);
    expect(message.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: ':warning: Needs a person — orders-db' },
    });
    const text = allText(message.blocks);
    expect(text).toContain('> Primary still has 3 client connections');
    expect(text).toContain('retries *Fence old primary* with the override');
    expect(text).toContain('*Expires*\nNever: waits for a person');
    const approve = buttonById(message.blocks, 'cutover_approve');
    expect(approve?.text.text).toBe('Retry anyway');
    expect(JSON.parse(approve?.value ?? '')).toEqual({ runId: RUN_ID, step: 1, round: 2 });
    // An override is confirmed by typing the target's name in a modal, not by a dialog.
    expect(approve?.confirm).toBeUndefined();
    expect(text).toContain("Retry anyway opens a dialog in which you type the target's name (orders-db).");
    expect(message.text).toBe('Needs a person on orders-db: Primary still has 3 client connections');
  });

  it('shows approvals so far when more than one is required', () => {
    const run = awaitingGateRun();
    const gate = stepOf(run, 3).gate;
    if (!gate) throw new Error('no gate');
    gate.requiredApprovals = 2;
    gate.approvedBy = ['U0ALICE'];
    expect(allText(renderGatePrompt(promptInput(run)).blocks)).toContain('*Approvals*\n1 of 2: <@U0ALICE>');
  });

  it('offers no Approve button when the gate is no longer open', () => {
    const run = awaitingGateRun();
    const gate = stepOf(run, 3).gate;
    if (gate) gate.expired = true;
    const message = renderGatePrompt(promptInput(run));
    expect(buttons(message.blocks)).toEqual([]);
    expect(allText(message.blocks)).toContain('no longer open');
  });
});

describe('expiresIn', () => {
  it.each<[number, string]>([
    [14 * 60_000 + 59_000, 'in 14 min'],
    [15 * 60_000, 'in 15 min'],
    [59_000, 'in less than a minute'],
    [62 * 60_000, 'in 1h 02m'],
    [0, ''],
    [-1000, ''],
  ])('%d ms left -> %s', (left, expected) => {
    expect(expiresIn(dateAt(left), dateAt(0))).toBe(expected);
  });
});

describe('renderGateOutcome', () => {
  const base = () => {
    const run = awaitingGateRun();
    return { run, step: stepOf(run, 3), whatWillHappen: 'Promote the standby.', approvers: ['U0ALICE'] };
  };

  it('replaces the buttons with "Approved by … at 02:14 UTC"', () => {
    const message = renderGateOutcome({
      ...base(),
      outcome: 'approved',
      by: 'U0ALICE',
      at: dateAt(14 * 60_000),
    });
    expect(messageViolations(message)).toEqual([]);
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.blocks[message.blocks.length - 1]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: ':white_check_mark: Approved by <@U0ALICE> at 02:14 UTC' }],
    });
    // Still the same prompt above the line.
    const text = allText(message.blocks);
    expect(text).toContain('*What will happen:* Promote the standby.');
    expect(text).toContain('<@U0ALICE>');
    expect(text).not.toContain('(in ');
    expect(message.text).toBe('Approve promotion on orders-db: approved');
  });

  it('offers "Ask again" (and nothing else) when expired', () => {
    const message = renderGateOutcome({ ...base(), outcome: 'expired', at: dateAt(OPENED + 15 * 60_000) });
    expect(messageViolations(message)).toEqual([]);
    expect(allText(message.blocks)).toContain(':hourglass: Expired at 02:17 UTC — nobody approved in time');
    expect(buttons(message.blocks)).toHaveLength(1);
    const again = buttonById(message.blocks, 'cutover_reask');
    expect(again?.text.text).toBe('Ask again');
    expect(JSON.parse(again?.value ?? '')).toEqual({ runId: RUN_ID, step: 3 });
    expect(buttonById(message.blocks, 'cutover_approve')).toBeUndefined();
  });

  it('says who aborted, and why a refusal happened', () => {
    const aborted = renderGateOutcome({ ...base(), outcome: 'aborted', by: 'U0BOB', at: dateAt(5 * 60_000) });
    expect(allText(aborted.blocks)).toContain(':no_entry_sign: Aborted by <@U0BOB> at 02:05 UTC');
    expect(buttons(aborted.blocks)).toEqual([]);
    const refused = renderGateOutcome({
      ...base(),
      outcome: 'refused',
      at: dateAt(5 * 60_000),
      reason: 'lag grew to 40 MB after approval',
    });
    expect(allText(refused.blocks)).toContain(
      ':no_entry: Refused at 02:05 UTC: lag grew to 40 MB after approval',
    );
  });

  it('works without the prompt details', () => {
    const run = awaitingGateRun();
    const message = renderGateOutcome({ run, step: stepOf(run, 3), outcome: 'aborted', at: dateAt(0) });
    expect(messageViolations(message)).toEqual([]);
    expect(allText(message.blocks)).toContain('*Step 4 of 5:* Approve promotion');
  });
});
