// Window awareness while running: how long a step is expected to take, and whether it may start.
import type { TargetConfig } from '../../../src/config/types';
import { createRun } from '../../../src/engine/transition';
import type { Run, StepRecord, StepSpec } from '../../../src/engine/types';
import {
  DEFAULT_ACTION_ESTIMATE_MS,
  estimateStep,
  judgeWindow,
  LEARNED_SAMPLES,
} from '../../../src/orchestrator/window-guard';

const MIN = 60_000;
const HOUR = 60 * MIN;

const STEPS: StepSpec[] = [
  { name: 'check', kind: 'check', title: 'Check', executor: 'check' },
  { name: 'fence', kind: 'action', title: 'Fence the primary', executor: 'fence' },
  { name: 'promote', kind: 'action', title: 'Promote', executor: 'promote', estimateMs: 20 * MIN },
  { name: 'wait', kind: 'wait', title: 'Wait for lag', executor: 'wait' },
  { name: 'approve', kind: 'gate', title: 'Approve' },
];

/** Every night 02:00–02:30 UTC. */
const NIGHTLY = { cron: '0 2 * * *', durationMs: 30 * MIN, timezone: 'UTC' };

function target(overrides: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: 'orders-db',
    strategy: 'test',
    channel: 'C0OPS',
    approvers: ['U0ALICE'],
    approvalTimeoutMs: 15 * MIN,
    requiredApprovals: 1,
    allowSelfApproval: false,
    windows: [NIGHTLY],
    requireWindow: true,
    cooldownMs: 0,
    reminderMs: 15 * MIN,
    settings: {},
    ...overrides,
  };
}

function makeRun(): Run {
  return createRun({
    id: '7f3a9c21-4b5d-4e6f-8a9b-0c1d2e3f4a5b',
    plan: { strategy: 'test', target: 'orders-db', steps: STEPS },
    requestedBy: 'U0REQUEST',
    channel: 'C0OPS',
    policy: { approvalTimeoutMs: 15 * MIN, requiredApprovals: 1, allowSelfApproval: false },
    at: '2026-11-27T01:00:00.000Z',
  });
}

function step(run: Run, name: string): StepRecord {
  const found = run.steps.find((candidate) => candidate.spec.name === name);
  if (!found) throw new Error(name);
  return found;
}

/** A store that knows earlier durations per step name, and records what it was asked. */
function fakeStore(durations: Record<string, number[]> = {}) {
  const asked: { query: { target: string; strategy: string; step: string }; limit: number }[] = [];
  return {
    asked,
    recentStepDurations(query: { target: string; strategy: string; step: string }, limit: number) {
      asked.push({ query, limit });
      return Promise.resolve((durations[query.step] ?? []).slice(0, limit));
    },
  };
}

describe('estimateStep', () => {
  test('learned: the median of the earlier runs of this step on this target and strategy', async () => {
    const store = fakeStore({ fence: [4 * MIN, 9 * MIN, 2 * MIN] });
    const run = makeRun();
    expect(await estimateStep(store, run, step(run, 'fence'))).toEqual({
      ms: 4 * MIN,
      source: 'median of 3 earlier runs',
    });
    expect(store.asked).toEqual([
      { query: { target: 'orders-db', strategy: 'test', step: 'fence' }, limit: LEARNED_SAMPLES },
    ]);
  });

  test('learned, even count: the mean of the middle two; one sample is singular', async () => {
    const run = makeRun();
    expect(
      await estimateStep(fakeStore({ fence: [MIN, 3 * MIN, 5 * MIN, 100 * MIN] }), run, step(run, 'fence')),
    ).toEqual({ ms: 4 * MIN, source: 'median of 4 earlier runs' });
    expect(await estimateStep(fakeStore({ fence: [7 * MIN] }), run, step(run, 'fence'))).toEqual({
      ms: 7 * MIN,
      source: 'median of 1 earlier run',
    });
  });

  test('learned beats the strategy estimate; nonsense samples are ignored', async () => {
    const run = makeRun();
    const store = fakeStore({ promote: [Number.NaN, -5, 3 * MIN] });
    expect(await estimateStep(store, run, step(run, 'promote'))).toEqual({
      ms: 3 * MIN,
      source: 'median of 1 earlier run',
    });
  });

  test("without history: the strategy's estimate (spec.estimateMs), else the default", async () => {
    const run = makeRun();
    expect(await estimateStep(fakeStore(), run, step(run, 'promote'))).toEqual({
      ms: 20 * MIN,
      source: "the strategy's estimate",
    });
    expect(await estimateStep(fakeStore({ promote: [Number.NaN] }), run, step(run, 'promote'))).toEqual({
      ms: 20 * MIN,
      source: "the strategy's estimate",
    });
    expect(await estimateStep(fakeStore(), run, step(run, 'fence'))).toEqual({
      ms: DEFAULT_ACTION_ESTIMATE_MS,
      source: 'no earlier runs; default',
    });
    expect(DEFAULT_ACTION_ESTIMATE_MS).toBe(5 * MIN);
  });
});

describe('judgeWindow', () => {
  const inWindow = new Date('2026-11-27T02:10:00.000Z'); // 20 min of the window left
  const nearEnd = new Date('2026-11-27T02:28:00.000Z'); // 2 min left
  const closed = new Date('2026-11-27T12:00:00.000Z');

  test('an action that fits in what is left of the open window may start', async () => {
    const run = makeRun();
    expect(await judgeWindow(fakeStore(), target(), run, step(run, 'fence'), inWindow)).toEqual({
      fits: true,
    });
  });

  test('exactly the time left still fits', async () => {
    const run = makeRun();
    const store = fakeStore({ fence: [20 * MIN] });
    expect(await judgeWindow(store, target(), run, step(run, 'fence'), inWindow)).toEqual({ fits: true });
  });

  test('an action that would overrun the window is not started; the message says why and when', async () => {
    const run = makeRun();
    const verdict = await judgeWindow(fakeStore(), target(), run, step(run, 'fence'), nearEnd);
    expect(verdict).toEqual({
      fits: false,
      message:
        'Fence the primary needs about 5 m (no earlier runs; default) but the maintenance window closes in 2 m. ' +
        'Next window that can hold it: Sat 28 Nov 02:00–02:30 UTC (in 23 h 32 m).',
      resumeAt: '2026-11-28T02:00:00.000Z',
      estimateMs: 5 * MIN,
    });
  });

  test('no window open: says so, with the next window', async () => {
    const run = makeRun();
    const store = fakeStore({ fence: [3 * MIN, 3 * MIN] });
    const verdict = await judgeWindow(store, target(), run, step(run, 'fence'), closed);
    expect(verdict).toEqual({
      fits: false,
      message:
        'Fence the primary needs about 3 m (median of 2 earlier runs) and no maintenance window is open. ' +
        'Next window that can hold it: Sat 28 Nov 02:00–02:30 UTC (in 14 h).',
      resumeAt: '2026-11-28T02:00:00.000Z',
      estimateMs: 3 * MIN,
    });
  });

  test('the next window is skipped when it is too short for the estimate', async () => {
    const run = makeRun();
    // Nightly 30 min, and a 4 h window on Sunday 29 Nov: a 40 min step waits for Sunday.
    const windows = [NIGHTLY, { cron: '0 3 * * 0', durationMs: 4 * HOUR, timezone: 'UTC' }];
    const store = fakeStore({ fence: [40 * MIN] });
    const verdict = await judgeWindow(store, target({ windows }), run, step(run, 'fence'), closed);
    expect(verdict).toMatchObject({
      fits: false,
      resumeAt: '2026-11-29T03:00:00.000Z',
      estimateMs: 40 * MIN,
    });
    if (verdict.fits) throw new Error('fits');
    expect(verdict.message).toContain('Next window that can hold it: Sun 29 Nov 03:00–07:00 UTC');
  });

  test('no window can ever hold it: resumeAt null and the message says so', async () => {
    const run = makeRun();
    const store = fakeStore({ fence: [2 * HOUR] });
    const verdict = await judgeWindow(store, target(), run, step(run, 'fence'), closed);
    expect(verdict).toMatchObject({ fits: false, resumeAt: null, estimateMs: 2 * HOUR });
    if (verdict.fits) throw new Error('fits');
    expect(verdict.message).toMatch(/and no maintenance window is open\. No later window can hold it\.$/);
  });

  test('the next window is named in its own time zone', async () => {
    const run = makeRun();
    const berlin = [{ cron: '0 3 * * *', durationMs: HOUR, timezone: 'Europe/Berlin' }];
    const verdict = await judgeWindow(
      fakeStore(),
      target({ windows: berlin }),
      run,
      step(run, 'fence'),
      closed,
    );
    expect(verdict).toMatchObject({ fits: false, resumeAt: '2026-11-28T02:00:00.000Z' });
    if (verdict.fits) throw new Error('fits');
    expect(verdict.message).toContain('Sat 28 Nov 03:00–04:00 Europe/Berlin');
  });

  describe('only first starts of action steps on requireWindow targets are judged', () => {
    test('a target without requireWindow, or without windows', async () => {
      const run = makeRun();
      expect(
        await judgeWindow(fakeStore(), target({ requireWindow: false }), run, step(run, 'fence'), closed),
      ).toEqual({ fits: true });
      expect(
        await judgeWindow(fakeStore(), target({ windows: [] }), run, step(run, 'fence'), closed),
      ).toEqual({ fits: true });
    });

    test.each(['check', 'wait', 'approve'])('a %s step', async (name) => {
      const run = makeRun();
      const store = fakeStore();
      expect(await judgeWindow(store, target(), run, step(run, name), closed)).toEqual({ fits: true });
      expect(store.asked).toEqual([]);
    });

    test('an action that already started (a retry finishes its work)', async () => {
      const run = makeRun();
      const fence = step(run, 'fence');
      fence.startedAt = '2026-11-27T02:20:00.000Z';
      expect(await judgeWindow(fakeStore(), target(), run, fence, closed)).toEqual({ fits: true });
    });

    test('an action a person overrode', async () => {
      const run = makeRun();
      const fence = step(run, 'fence');
      fence.humanOverride = true;
      expect(await judgeWindow(fakeStore(), target(), run, fence, closed)).toEqual({ fits: true });
    });
  });
});
