// The progress message: one per run, for every run state.
import type { Run, RunState } from '../../../src/engine/types';
import type { LagSample } from '../../../src/ports/run-store';
import { messageViolations, parseStepRef } from '../../../src/slack/render/blocks';
import { checklistLine, lagLine, renderProgress } from '../../../src/slack/render/progress';
import {
  abortedRun,
  allText,
  at,
  awaitingGateRun,
  buttonById,
  buttons,
  compensatingRun,
  dateAt,
  failedRun,
  makeRun,
  RUN_ID,
  runningRun,
  scheduledRun,
  stepOf,
  succeededRun,
} from './fixtures';

const NOW = dateAt(185_000); // 3m 05s after the run was created

const scenarios: Record<RunState, () => Run> = {
  scheduled: scheduledRun,
  running: runningRun,
  awaiting_approval: awaitingGateRun,
  compensating: compensatingRun,
  succeeded: succeededRun,
  failed: failedRun,
  aborted: abortedRun,
};

describe('renderProgress for each run state', () => {
  it.each<[RunState, string, string, boolean]>([
    ['scheduled', ':calendar:', 'Scheduled', true],
    ['running', ':large_blue_circle:', 'Running', true],
    ['awaiting_approval', ':raised_hand:', 'Awaiting approval', true],
    ['compensating', ':rewind:', 'Rolling back', false],
    ['succeeded', ':white_check_mark:', 'Succeeded', false],
    ['failed', ':x:', 'Failed', false],
    ['aborted', ':no_entry_sign:', 'Aborted', false],
  ])('%s: %s %s, abort button %s', (state, emoji, label, abortable) => {
    const run = scenarios[state]();
    expect(run.state).toBe(state);
    const message = renderProgress({ run, now: NOW });
    expect(messageViolations(message)).toEqual([]);

    const [head, fields] = message.blocks;
    expect(head).toMatchObject({ type: 'header', text: { text: 'Cutover orders-db — replica-promotion' } });
    expect(fields?.type).toBe('section');
    const text = allText(message.blocks);
    expect(text).toContain(`${emoji} ${label}`);
    expect(text).toContain('<@U0REQUEST>');
    expect(text).toContain('`7f3a9c21`');
    expect(message.text).toMatch(new RegExp(`^Cutover orders-db: ${label.toLowerCase()}`));

    const abort = buttonById(message.blocks, 'cutover_abort');
    if (!abortable) {
      expect(buttons(message.blocks)).toEqual([]);
      return;
    }
    expect(abort).toMatchObject({ style: 'danger', text: { text: 'Abort' } });
    expect(parseStepRef(abort?.value ?? '')).toEqual({ runId: RUN_ID, step: run.currentStep });
    expect(JSON.parse(abort?.value ?? '')).toEqual({ runId: RUN_ID, step: run.currentStep });
    expect(abort?.confirm?.text.text).toBe(
      'Abort this cutover? Completed steps with an undo will be rolled back.',
    );
    expect(abort?.confirm?.style).toBe('danger');
  });

  it('says when a scheduled run starts, and that abort cancels it', () => {
    expect(allText(renderProgress({ run: scheduledRun(), now: NOW }).blocks)).toContain(
      ':calendar: *Scheduled* to start at 2025-03-02 03:00 UTC (in 56m 55s). Abort cancels it.',
    );
  });

  it('says "awaiting approval" in the notification fallback', () => {
    expect(renderProgress({ run: awaitingGateRun(), now: NOW }).text).toBe(
      'Cutover orders-db: awaiting approval (Approve promotion)',
    );
  });

  it('counts elapsed time to now while active and to finishedAt once finished', () => {
    expect(allText(renderProgress({ run: awaitingGateRun(), now: NOW }).blocks)).toContain(
      '*Elapsed*\n3m 05s',
    );
    const done = renderProgress({ run: succeededRun(), now: dateAt(10 * 3_600_000) });
    expect(allText(done.blocks)).toContain('*Took*\n3m 05s');
  });

  it('shows an outcome line once finished, with the aborting user as a mention', () => {
    expect(allText(renderProgress({ run: abortedRun(), now: NOW }).blocks)).toContain(
      ':no_entry_sign: *Aborted* after 3m 20s: aborted by <@U0ALICE>: lag too high',
    );
    expect(allText(renderProgress({ run: failedRun(), now: NOW }).blocks)).toContain(
      ':x: *Failed* after 4.0 s: Fence old primary failed: primary unreachable',
    );
    expect(allText(renderProgress({ run: succeededRun(), now: NOW }).blocks)).toContain(
      ':white_check_mark: *Cutover complete* in 3m 05s.',
    );
    expect(allText(renderProgress({ run: runningRun(), now: NOW }).blocks)).not.toMatch(
      /Aborted|Failed|complete/,
    );
  });

  it('hides the Abort button once an abort is waiting for the current step', () => {
    const run = runningRun();
    run.abortRequested = { user: 'U0BOB', reason: 'changed my mind', at: at(3_000) };
    const message = renderProgress({ run, now: NOW });
    expect(buttons(message.blocks)).toEqual([]);
    expect(allText(message.blocks)).toContain('*Abort requested* by <@U0BOB>');
  });

  it('leaves the buttons out when asked (status replies)', () => {
    expect(buttons(renderProgress({ run: runningRun(), now: NOW, showActions: false }).blocks)).toEqual([]);
  });

  it('adds the details note as a context line', () => {
    const message = renderProgress({ run: runningRun(), now: NOW, detailsNote: 'Details in the thread' });
    expect(message.blocks).toContainEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Details in the thread' }],
    });
  });
});

describe('checklist', () => {
  it('has one line per step: icon, title, duration, retries', () => {
    const message = renderProgress({ run: awaitingGateRun(), now: NOW });
    const text = allText(message.blocks);
    expect(text).toContain(':white_check_mark: Check standby is streaming — 850 ms');
    expect(text).toContain(':white_check_mark: Fence old primary — 4.2 s (1 retry)');
    expect(text).toContain(':white_check_mark: Wait for replay to catch up — 1m 54s');
    // The current step is bold; a gate's duration runs from when it opened.
    expect(text).toContain(':raised_hand: *Approve promotion* — 1m 05s');
    expect(text).toMatch(/:white_circle: Promote standby$/m);
  });

  it('names the undo of a compensated step and marks skipped ones', () => {
    const text = allText(renderProgress({ run: abortedRun(), now: NOW }).blocks);
    expect(text).toContain(
      ':leftwards_arrow_with_hook: Fence old primary — 4.2 s (1 retry) (undo: Unfence old primary)',
    );
    expect(text).toContain(':heavy_minus_sign: Promote standby');
  });

  it.each<[Parameters<typeof checklistLine>[1]['state'], string]>([
    ['pending', ':white_circle:'],
    ['queued', ':hourglass_flowing_sand:'],
    ['running', ':hourglass_flowing_sand:'],
    ['awaiting_approval', ':raised_hand:'],
    ['succeeded', ':white_check_mark:'],
    ['failed', ':x:'],
    ['skipped', ':heavy_minus_sign:'],
    ['compensating', ':rewind:'],
    ['compensated', ':leftwards_arrow_with_hook:'],
    ['compensation_failed', ':warning:'],
  ])('step state %s has icon %s', (state, icon) => {
    const run = makeRun();
    const step = stepOf(run, 1);
    step.state = state;
    expect(checklistLine(run, step, NOW).startsWith(`${icon} `)).toBe(true);
  });

  it('shows plural retries, approvers of a passed gate and a needs-human pause', () => {
    const run = succeededRun();
    stepOf(run, 4).retries = 3;
    expect(checklistLine(run, stepOf(run, 4), NOW)).toContain('(3 retries)');
    expect(checklistLine(run, stepOf(run, 3), NOW)).toContain('(approved by <@U0ALICE>)');

    const paused = runningRun();
    const fence = stepOf(paused, 1);
    fence.state = 'awaiting_approval';
    fence.gate = {
      round: 1,
      reason: 'needs_human',
      message: 'standby is 3 GB behind',
      openedAt: at(2_000),
      expiresAt: null,
      requiredApprovals: 1,
      approvedBy: [],
      expired: false,
    };
    expect(checklistLine(paused, fence, NOW)).toContain('— needs a person');
  });

  it('escapes mrkdwn control characters in titles', () => {
    const run = makeRun([{ name: 'a', kind: 'check', title: 'Check <primary> & <standby>', executor: 'a' }]);
    expect(checklistLine(run, stepOf(run, 0), NOW)).toBe(
      ':white_circle: Check &lt;primary&gt; &amp; &lt;standby&gt;',
    );
  });
});

describe('lag line', () => {
  const MiB = 1024 * 1024;
  const sample = (sec: number, bytes: number | null, seconds: number | null): LagSample => ({
    runId: RUN_ID,
    at: at(sec * 1000),
    bytes,
    seconds,
  });
  const falling = [
    sample(0, 3 * MiB, 2),
    sample(10, 2.5 * MiB, 1.6),
    sample(20, 2 * MiB, 1.2),
    sample(30, 1.2 * MiB, 0.8),
  ];

  it('shows bytes, seconds, a sparkline and the ETA to the threshold', () => {
    const line = lagLine({ samples: falling, maxBytes: 0.5 * MiB, maxSeconds: 5 }, dateAt(30_000));
    expect(line).toMatch(/^Lag: 1\.2 MB \/ 0\.8 s {2}[▁-█]{4} {2}ETA to threshold \d+ s$/);
  });

  it('says "under threshold" when both are under', () => {
    const line = lagLine({ samples: falling, maxBytes: 16 * MiB, maxSeconds: 5 }, dateAt(30_000));
    expect(line).toMatch(/ {2}under threshold$/);
  });

  it('says "rising" when the lag grows', () => {
    const rising = [sample(0, 1 * MiB, 1), sample(10, 2 * MiB, 1), sample(20, 3 * MiB, 1)];
    expect(lagLine({ samples: rising, maxBytes: MiB / 2, maxSeconds: 5 }, dateAt(20_000))).toMatch(
      / {2}rising$/,
    );
  });

  it('counts a newest sample with nulls as too high', () => {
    const line = lagLine({ samples: [...falling, sample(40, null, 0.5)], maxBytes: MiB }, dateAt(40_000));
    expect(line).toMatch(/^:warning: Lag: unknown — counts as too high/);
  });

  it('has no ETA without thresholds and no line without samples', () => {
    expect(lagLine({ samples: falling }, dateAt(30_000))).toMatch(/^Lag: 1\.2 MB \/ 0\.8 s {2}[▁-█]{4}$/);
    expect(lagLine({ samples: [] }, dateAt(0))).toBeNull();
  });

  it('is shown in the progress message of an active run only', () => {
    const lag = { samples: falling, maxBytes: 16 * MiB };
    expect(allText(renderProgress({ run: runningRun(), now: dateAt(30_000), lag }).blocks)).toContain(
      'Lag: 1.2 MB',
    );
    expect(allText(renderProgress({ run: succeededRun(), now: dateAt(30_000), lag }).blocks)).not.toContain(
      'Lag:',
    );
  });
});
