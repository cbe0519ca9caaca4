// Window computation with fixed instants: no sleeping, no real time.
import {
  fits,
  type MaintenanceWindow,
  nextWindows,
  nextWindowStart,
  remainingMs,
  windowContaining,
} from '../../../src/windows';

const H = 3_600_000;
const M = 60_000;
const at = (iso: string) => new Date(iso);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
const spans = (occurrences: { start: Date; end: Date }[]) =>
  occurrences.map((o) => `${o.start.toISOString()} ${o.end.toISOString()}`);

const window = (cron: string, duration: number, timezone = 'UTC'): MaintenanceWindow => ({
  cron,
  durationMs: duration,
  timezone,
});

// Thursday 26 November 2026, 14:00 UTC.
const THURSDAY = at('2026-11-26T14:00:00Z');

describe('time zones', () => {
  it.each([
    // Sunday 29 November 02:00 local.
    ['UTC', '2026-11-29T02:00:00.000Z'],
    ['Europe/Berlin', '2026-11-29T01:00:00.000Z'], // CET, +01:00
    ['America/New_York', '2026-11-29T07:00:00.000Z'], // EST, -05:00
    ['Asia/Kolkata', '2026-11-28T20:30:00.000Z'], // IST, +05:30 (the UTC date is the day before)
  ])('"0 2 * * SUN" in %s starts at %s', (timezone, start) => {
    const windows = [window('0 2 * * SUN', 2 * H, timezone)];
    const [next] = nextWindows(windows, THURSDAY, 1);
    expect(iso(next?.start)).toBe(start);
    expect(next?.end.getTime()).toBe(new Date(start).getTime() + 2 * H);
    expect(next?.window).toBe(windows[0]);
  });

  it('reads the same cron in summer time with the summer offset', () => {
    const berlin = [window('0 2 * * SUN', 2 * H, 'Europe/Berlin')];
    const ny = [window('0 2 * * SUN', 2 * H, 'America/New_York')];
    const july = at('2026-07-01T00:00:00Z');
    expect(iso(nextWindowStart(berlin, july))).toBe('2026-07-05T00:00:00.000Z'); // CEST, +02:00
    expect(iso(nextWindowStart(ny, july))).toBe('2026-07-05T06:00:00.000Z'); // EDT, -04:00
  });

  it('accepts a 6-field cron with seconds', () => {
    expect(iso(nextWindowStart([window('30 0 2 * * *', H)], THURSDAY))).toBe('2026-11-27T02:00:30.000Z');
  });
});

describe('windowContaining', () => {
  const sunday = [window('0 2 * * SUN', 2 * H, 'Europe/Berlin')]; // 01:00–03:00 UTC in winter

  it('is open from the start (inclusive) to the end (exclusive)', () => {
    expect(windowContaining(sunday, at('2026-11-29T00:59:59.999Z'))).toBeNull();
    expect(iso(windowContaining(sunday, at('2026-11-29T01:00:00Z'))?.start)).toBe('2026-11-29T01:00:00.000Z');
    expect(iso(windowContaining(sunday, at('2026-11-29T02:59:59.999Z'))?.end)).toBe(
      '2026-11-29T03:00:00.000Z',
    );
    expect(windowContaining(sunday, at('2026-11-29T03:00:00Z'))).toBeNull();
  });

  it('finds an occurrence that crosses midnight, on either side', () => {
    const saturdayNight = [window('0 23 * * SAT', 3 * H)];
    for (const moment of ['2026-11-28T23:00:00Z', '2026-11-28T23:59:00Z', '2026-11-29T01:59:59Z']) {
      expect(spans([windowContaining(saturdayNight, at(moment))!])).toEqual([
        '2026-11-28T23:00:00.000Z 2026-11-29T02:00:00.000Z',
      ]);
    }
    expect(windowContaining(saturdayNight, at('2026-11-29T02:00:00Z'))).toBeNull();
  });

  it('picks the overlapping window that ends latest', () => {
    const windows = [window('0 2 * * *', 2 * H), window('0 3 * * *', 2 * H), window('0 2 * * *', 30 * M)];
    expect(spans([windowContaining(windows, at('2026-11-27T02:15:00Z'))!])).toEqual([
      '2026-11-27T02:00:00.000Z 2026-11-27T04:00:00.000Z',
    ]);
    expect(spans([windowContaining(windows, at('2026-11-27T03:30:00Z'))!])).toEqual([
      '2026-11-27T03:00:00.000Z 2026-11-27T05:00:00.000Z',
    ]);
  });

  it('picks the latest occurrence of a window whose occurrences overlap each other', () => {
    const hourlyNinetyMinutes = [window('0 * * * *', 90 * M)];
    expect(spans([windowContaining(hourlyNinetyMinutes, at('2026-11-27T01:15:00Z'))!])).toEqual([
      '2026-11-27T01:00:00.000Z 2026-11-27T02:30:00.000Z',
    ]);
  });

  it('does not merge windows that only touch', () => {
    const windows = [window('0 2 * * *', 2 * H), window('0 4 * * *', 2 * H)];
    expect(iso(windowContaining(windows, at('2026-11-27T03:59:00Z'))?.end)).toBe('2026-11-27T04:00:00.000Z');
    expect(iso(windowContaining(windows, at('2026-11-27T04:00:00Z'))?.end)).toBe('2026-11-27T06:00:00.000Z');
    expect(remainingMs(windows, at('2026-11-27T03:00:00Z'))).toBe(H);
  });

  it('is null without windows', () => {
    expect(windowContaining([], THURSDAY)).toBeNull();
  });
});

describe('nextWindows', () => {
  it('merges all windows by start, without duplicates, and counts from `from` inclusive', () => {
    const windows = [
      window('0 2 * * SAT,SUN', 2 * H),
      window('0 2 * * SUN', 4 * H), // same start on Sunday, longer: kept
      window('0 12 * * FRI', H),
    ];
    expect(spans(nextWindows(windows, at('2026-11-27T12:00:00Z'), 5))).toEqual([
      '2026-11-27T12:00:00.000Z 2026-11-27T13:00:00.000Z',
      '2026-11-28T02:00:00.000Z 2026-11-28T04:00:00.000Z',
      '2026-11-29T02:00:00.000Z 2026-11-29T06:00:00.000Z',
      '2026-12-04T12:00:00.000Z 2026-12-04T13:00:00.000Z',
      '2026-12-05T02:00:00.000Z 2026-12-05T04:00:00.000Z',
    ]);
  });

  it('does not list a window that started before `from`, even while it is open', () => {
    const daily = [window('0 2 * * *', 2 * H)];
    expect(spans(nextWindows(daily, at('2026-11-27T02:00:00.001Z'), 1))).toEqual([
      '2026-11-28T02:00:00.000Z 2026-11-28T04:00:00.000Z',
    ]);
  });

  it('gives nothing for no windows or a count of zero', () => {
    expect(nextWindows([], THURSDAY, 3)).toEqual([]);
    expect(nextWindows([window('0 2 * * *', H)], THURSDAY, 0)).toEqual([]);
  });
});

describe('nextWindowStart (for --next-window)', () => {
  const daily = [window('0 2 * * *', 2 * H, 'Europe/Berlin')]; // 01:00–03:00 UTC in winter

  it('is the next start at or after `from`', () => {
    expect(iso(nextWindowStart(daily, THURSDAY))).toBe('2026-11-27T01:00:00.000Z');
    expect(iso(nextWindowStart(daily, at('2026-11-27T01:00:00Z')))).toBe('2026-11-27T01:00:00.000Z');
  });

  it('skips a window already open: the run would not get the whole window', () => {
    expect(iso(nextWindowStart(daily, at('2026-11-27T01:30:00Z')))).toBe('2026-11-28T01:00:00.000Z');
  });

  it('is null without windows', () => {
    expect(nextWindowStart([], THURSDAY)).toBeNull();
  });
});

describe('remainingMs and fits', () => {
  const daily = [window('0 2 * * *', 2 * H)];

  it('measure what is left of the open window', () => {
    expect(remainingMs(daily, at('2026-11-27T03:15:00Z'))).toBe(45 * M);
    expect(remainingMs(daily, at('2026-11-27T04:00:00Z'))).toBe(0);
    expect(fits(daily, at('2026-11-27T03:15:00Z'), 45 * M)).toBe(true);
    expect(fits(daily, at('2026-11-27T03:15:00Z'), 45 * M + 1)).toBe(false);
    expect(fits(daily, at('2026-11-27T02:00:00Z'), 2 * H)).toBe(true);
  });

  it('say no outside every window, even for no work', () => {
    expect(remainingMs(daily, THURSDAY)).toBe(0);
    expect(fits(daily, THURSDAY, 0)).toBe(false);
    expect(fits([], THURSDAY, 0)).toBe(false);
  });
});
