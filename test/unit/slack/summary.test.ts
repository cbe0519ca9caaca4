// Replies to /cutover list, status, targets and plan.
import { messageViolations } from '../../../src/slack/render/blocks';
import type { TargetConfig } from '../../../src/config/types';
import {
  renderPlan,
  renderRunList,
  renderStatus,
  renderTargets,
  targetSummary,
} from '../../../src/slack/render/summary';
import { ManualClock } from '../../support/fakes/manual-clock';
import { abortedRun, allText, awaitingGateRun, buttons, dateAt, runningRun, succeededRun } from './fixtures';

const NOW = dateAt(2 * 3_600_000 + 3 * 60_000);

describe('renderRunList', () => {
  it('says "No runs yet." when there are none', () => {
    const message = renderRunList([], NOW);
    expect(message.text).toBe('No runs yet.');
    expect(allText(message.blocks)).toBe('No runs yet.');
  });

  it('has one line per run: short id, state emoji, target, strategy, age', () => {
    const message = renderRunList([awaitingGateRun(), succeededRun(), abortedRun()], NOW);
    expect(messageViolations(message)).toEqual([]);
    const text = allText(message.blocks);
    expect(text).toContain(
      '`7f3a9c21` :raised_hand: *orders-db* · replica-promotion · awaiting approval · 2h 03m ago',
    );
    expect(text).toContain(':white_check_mark: *orders-db*');
    expect(text).toContain(':no_entry_sign: *orders-db*');
    expect(message.text).toBe('3 recent cutover runs');
  });
});

describe('renderStatus', () => {
  it('is the progress message without buttons', () => {
    const message = renderStatus(runningRun(), NOW);
    expect(messageViolations(message)).toEqual([]);
    expect(buttons(message.blocks)).toEqual([]);
    expect(allText(message.blocks)).toContain(':large_blue_circle: Running');
  });
});

describe('renderTargets', () => {
  it('lists each target with its channel, approvers and next window', () => {
    const message = renderTargets([
      {
        name: 'orders-db',
        strategy: 'replica-promotion',
        channel: 'C0123456789',
        approvers: ['U0AAAAAAA', 'S0DBAONCALL'],
        nextWindow: 'Sun 02:00 UTC',
      },
      { name: 'events', strategy: 'rolling-replace', channel: 'C0123456789', approvers: [] },
    ]);
    expect(messageViolations(message)).toEqual([]);
    const text = allText(message.blocks);
    expect(text).toContain(
      '*orders-db* · replica-promotion · <#C0123456789> · approvers: <@U0AAAAAAA>, <!subteam^S0DBAONCALL> · next window: Sun 02:00 UTC',
    );
    expect(text).toContain('*events* · rolling-replace · <#C0123456789> · approvers: _no approvers_');
    expect(message.text).toBe('2 targets configured');
  });

  it('says when no target is configured', () => {
    expect(renderTargets([]).text).toBe('No targets configured.');
  });
});

describe('targetSummary (what /cutover targets shows, at the Clock’s now)', () => {
  const target = (overrides: Partial<TargetConfig> = {}): TargetConfig => ({
    name: 'orders-db',
    strategy: 'replica-promotion',
    channel: 'C0123456789',
    approvers: ['U0AAAAAAA'],
    approvalTimeoutMs: 15 * 60_000,
    requiredApprovals: 1,
    allowSelfApproval: false,
    windows: [{ cron: '0 2 * * SUN', durationMs: 2 * 3_600_000, timezone: 'Europe/Berlin' }],
    requireWindow: false,
    cooldownMs: 0,
    reminderMs: 15 * 60_000,
    settings: {},
    ...overrides,
  });
  const line = (config: TargetConfig, now: Date) =>
    allText(renderTargets([targetSummary(config, now)]).blocks);
  // Thursday 26 Nov 2026 21:00 UTC; the window opens Sun 29 Nov 02:00 CET (01:00 UTC).
  const clock = new ManualClock('2026-11-26T21:00:00Z');

  it('shows the next window in its time zone and how far away it is', () => {
    expect(line(target(), clock.now())).toContain(
      '*orders-db* · replica-promotion · <#C0123456789> · approvers: <@U0AAAAAAA> · next window: Sun 29 Nov 02:00–04:00 Europe/Berlin (in 2 d 4 h)',
    );
  });

  it('shows the open window and when it closes, then the next one once it has closed', () => {
    clock.set('2026-11-29T02:20:00Z');
    expect(line(target(), clock.now())).toContain(
      ' · window open now: Sun 29 Nov 02:00–04:00 Europe/Berlin, closes in 40 m',
    );
    clock.advance(40 * 60_000);
    expect(line(target(), clock.now())).toContain(
      ' · next window: Sun 6 Dec 02:00–04:00 Europe/Berlin (in 6 d 22 h)',
    );
  });

  it('says when runs must start inside a window, and nothing about windows when there are none', () => {
    clock.set('2026-11-26T21:00:00Z');
    expect(line(target({ requireWindow: true }), clock.now())).toContain(
      ' · next window (required): Sun 29 Nov',
    );
    const without = line(target({ windows: [] }), clock.now());
    expect(without).toContain('approvers: <@U0AAAAAAA>');
    expect(without).not.toContain('window');
  });
});

describe('renderPlan', () => {
  const plan = {
    target: 'orders-db',
    strategy: 'replica-promotion',
    steps: [
      { title: 'Check standby is streaming', kind: 'check' },
      { title: 'Fence old primary', kind: 'action', compensation: 'Unfence old primary' },
      { title: 'Approve promotion', kind: 'gate', destructive: true },
    ],
    preflight: [
      { name: 'standby reachable', ok: true, detail: 'db-2 in recovery, streaming' },
      { name: 'lag', ok: false, detail: '40.0 MB > 16.0 MB' },
    ],
    warnings: ['After promotion there is no automatic way back'],
  };

  it('is marked as a dry run and lists steps, preflight and warnings', () => {
    const message = renderPlan(plan);
    expect(messageViolations(message)).toEqual([]);
    expect(message.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: 'Plan: orders-db — replica-promotion' },
    });
    expect(message.blocks[1]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: ':test_tube: Dry run — nothing was changed' }],
    });
    const text = allText(message.blocks);
    expect(text).toContain('1. :mag: Check standby is streaming');
    expect(text).toContain('2. :gear: Fence old primary (undo: Unfence old primary)');
    expect(text).toContain('3. :raised_hand: Approve promotion :warning: _destructive');
    expect(text).toContain('*Preflight* (1 of 2 passed)');
    expect(text).toContain(':white_check_mark: *standby reachable* — db-2 in recovery, streaming');
    expect(text).toContain(':x: *lag* — 40.0 MB &gt; 16.0 MB');
    expect(text).toContain(':warning: After promotion there is no automatic way back');
    expect(buttons(message.blocks)).toEqual([]);
    expect(message.text).toBe('Plan for orders-db (replica-promotion): 3 steps, 1 preflight check failed');
  });

  it('handles an empty plan', () => {
    const message = renderPlan({ target: 't', strategy: 'in-place', steps: [], preflight: [] });
    expect(messageViolations(message)).toEqual([]);
    expect(allText(message.blocks)).toContain('_This plan has no steps._');
  });
});
