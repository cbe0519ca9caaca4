// The workspace-wide chat.update budget: a sliding minute with a share kept for real changes.
import { UpdateBudget } from '../../../src/slack/notifier/update-budget';

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
