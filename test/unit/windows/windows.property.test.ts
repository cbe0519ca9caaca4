// Properties of window computation over random instants of 2026, DST changes included.
import fc from 'fast-check';

import {
  checkScheduleTime,
  fits,
  type MaintenanceWindow,
  nextWindows,
  remainingMs,
  windowContaining,
} from '../../../src/windows';

const H = 3_600_000;
const M = 60_000;
const YEAR_START = Date.UTC(2026, 0, 1);
const YEAR_END = Date.UTC(2027, 0, 1);

const windowArb: fc.Arbitrary<MaintenanceWindow> = fc.record({
  cron: fc.constantFrom(
    '0 2 * * SUN',
    '30 2 * * *', // does not exist on spring-forward days in Berlin and New York
    '30 1 * * *', // happens twice on fall-back days in New York
    '0 23 * * SAT', // crosses midnight
    '*/20 1-3 * * 0',
    '0 * * * *',
    '0 4 1 * *',
  ),
  durationMs: fc.constantFrom(20 * M, H, 2 * H, 3 * H, 26 * H),
  timezone: fc.constantFrom(
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
  ),
});
const windowsArb = fc.array(windowArb, { minLength: 1, maxLength: 3 });
// Instants near the 2026 DST changes are drawn more often than the rest of the year.
const DST_CHANGES = [
  Date.UTC(2026, 2, 8, 7),
  Date.UTC(2026, 2, 29, 1),
  Date.UTC(2026, 9, 25, 1),
  Date.UTC(2026, 10, 1, 6),
  Date.UTC(2026, 3, 4, 16, 30), // Adelaide (+10:30 -> +09:30)
];
const instantArb = fc.oneof(
  fc.integer({ min: YEAR_START, max: YEAR_END }),
  fc
    .tuple(fc.constantFrom(...DST_CHANGES), fc.integer({ min: -36 * H, max: 36 * H }))
    .map(([change, offset]) => change + Math.round(offset / 1000) * 1000),
);

describe('window properties', () => {
  it('every start returned by nextWindows is at or after `from`, increasing, and inside windowContaining', () => {
    fc.assert(
      fc.property(windowsArb, instantArb, (windows, t) => {
        const from = new Date(t);
        const occurrences = nextWindows(windows, from, 4);
        expect(occurrences).toHaveLength(4);
        let previous = -Infinity;
        for (const o of occurrences) {
          expect(o.start.getTime()).toBeGreaterThanOrEqual(t);
          expect(o.start.getTime()).toBeGreaterThan(previous);
          previous = o.start.getTime();
          const open = windowContaining(windows, o.start);
          expect(open).not.toBeNull();
          expect(open!.start.getTime()).toBeLessThanOrEqual(o.start.getTime());
          expect(open!.end.getTime()).toBeGreaterThanOrEqual(o.end.getTime());
        }
      }),
      { numRuns: 30 },
    );
  });

  it('gives the same occurrences whatever instant the question is asked from', () => {
    fc.assert(
      fc.property(windowsArb, instantArb, fc.integer({ min: 0, max: 10 * H }), (windows, t, gap) => {
        const early = nextWindows(windows, new Date(t), 8).map((o) => o.start.getTime());
        const later = new Date(t + gap);
        const fromLater = nextWindows(windows, later, 8).map((o) => o.start.getTime());
        const overlap = early.filter((start) => start >= later.getTime());
        expect(fromLater.slice(0, overlap.length)).toEqual(overlap);
      }),
      { numRuns: 30 },
    );
  });

  it('remainingMs and fits agree with windowContaining', () => {
    fc.assert(
      fc.property(windowsArb, instantArb, fc.integer({ min: 0, max: 4 * H }), (windows, t, estimate) => {
        const at = new Date(t);
        const open = windowContaining(windows, at);
        const left = remainingMs(windows, at);
        if (open === null) {
          expect(left).toBe(0);
          expect(fits(windows, at, estimate)).toBe(false);
        } else {
          expect(open.start.getTime()).toBeLessThanOrEqual(t);
          expect(left).toBe(open.end.getTime() - t);
          expect(left).toBeGreaterThan(0);
          expect(fits(windows, at, estimate)).toBe(estimate <= left);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('accepts every start a refusal suggests', () => {
    fc.assert(
      fc.property(
        windowsArb,
        instantArb,
        fc.integer({ min: -H, max: 20 * 86_400_000 }),
        (windows, t, ahead) => {
          const now = new Date(t);
          const check = checkScheduleTime(windows, true, new Date(t + ahead), now);
          if (check.ok) return;
          expect(check.nextValid.length).toBeGreaterThan(0);
          for (const suggestion of check.nextValid) {
            expect(checkScheduleTime(windows, true, suggestion.start, now).ok).toBe(true);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
