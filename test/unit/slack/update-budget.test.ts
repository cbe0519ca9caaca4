// The workspace-wide chat.update budget: a sliding minute with a share kept for real changes.
import { UpdateBudget } from '../../../src/ports/update-budget';

test('lag-only redraws stop at perMinute − reserved; changes may use the rest; the minute slides', () => {
  const budget = new UpdateBudget({ perMinute: 5, reservedForChanges: 2 });
  for (let i = 0; i < 3; i += 1) {
    expect(budget.notBefore(i * 1000, true)).toBe(0);
    budget.record(i * 1000);
  }
  // Three in the minute: a lag-only redraw waits until the oldest leaves it.
  expect(budget.notBefore(3000, true)).toBe(60_000);
  // A change may still go, twice.
  expect(budget.notBefore(3000, false)).toBe(0);
  budget.record(3000);
  budget.record(4000);
  expect(budget.notBefore(5000, false)).toBe(60_000);
  // Lag-only now needs three to leave: the third oldest at 2 s → 62 s.
  expect(budget.notBefore(5000, true)).toBe(62_000);
  // A minute after the first update, it has left the window.
  expect(budget.notBefore(60_000, false)).toBe(0);
});

test('a budget smaller than its reserve still lets one lag-only redraw a minute through', () => {
  const budget = new UpdateBudget({ perMinute: 2, reservedForChanges: 5 });
  expect(budget.notBefore(0, true)).toBe(0);
  budget.record(0);
  expect(budget.notBefore(1, true)).toBe(60_000);
  expect(budget.notBefore(1, false)).toBe(0);
});

test('paced: no 10 s holds more than its share of the minute, so a crowd of changes is spread out', () => {
  const budget = new UpdateBudget({ perMinute: 45, reservedForChanges: 15, paceWindowMs: 10_000 });
  // Changes: 45 a minute → 8 in any 10 s (rounded up).
  for (let i = 0; i < 8; i += 1) {
    expect(budget.notBefore(i, false)).toBe(0);
    budget.record(i);
  }
  expect(budget.notBefore(8, false)).toBe(10_000); // the first leaves the 10 s window at 10 s
  // Lag-only redraws: 30 a minute → 5 in any 10 s; the fourth newest leaves at 10 003.
  expect(budget.notBefore(8, true)).toBe(10_003);
});

test('paced, under demand that never stops: ≤ 45 in any minute, ≤ 8 in any 10 s, and no silent 10 s', () => {
  const budget = new UpdateBudget({ perMinute: 45, reservedForChanges: 15, paceWindowMs: 10_000 });
  const sent: number[] = [];
  let now = 0;
  while (now < 180_000) {
    const at = budget.notBefore(now, false);
    if (at === 0) {
      budget.record(now);
      sent.push(now);
      now += 1;
    } else {
      now = at;
    }
  }
  const inWindow = (from: number, ms: number) => sent.filter((t) => t >= from && t < from + ms).length;
  for (const from of sent) {
    expect(inWindow(from, 60_000)).toBeLessThanOrEqual(45);
    expect(inWindow(from, 10_000)).toBeLessThanOrEqual(8);
  }
  for (let from = 0; from < 170_000; from += 10_000) expect(inWindow(from, 10_000)).toBeGreaterThan(0);
  expect(inWindow(60_000, 60_000)).toBeGreaterThanOrEqual(40); // the minute is used, not wasted
});

test('take checks and records in one step: the sixth asker at the same moment waits', () => {
  const budget = new UpdateBudget({ perMinute: 5, reservedForChanges: 0 });
  const answers = Array.from({ length: 6 }, () => budget.takeNow(1_000, false));
  expect(answers).toEqual([0, 0, 0, 0, 0, 61_000]);
});
