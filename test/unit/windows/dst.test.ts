// Windows across daylight-saving changes. 2026 dates:
// - Europe/Berlin: spring forward Sun 29 Mar 01:00 UTC (02:00 CET -> 03:00 CEST),
//                  fall back Sun 25 Oct 01:00 UTC (03:00 CEST -> 02:00 CET).
// - America/New_York: spring forward Sun 8 Mar 07:00 UTC (02:00 EST -> 03:00 EDT),
//                     fall back Sun 1 Nov 06:00 UTC (02:00 EDT -> 01:00 EST).
import { CronExpressionParser } from 'cron-parser';

import {
  formatWallClock,
  type MaintenanceWindow,
  nextWindows,
  nextWindowStart,
  windowContaining,
} from '../../../src/windows';

const H = 3_600_000;
const at = (iso: string) => new Date(iso);
const starts = (windows: MaintenanceWindow[], from: string, count: number) =>
  nextWindows(windows, at(from), count).map((o) => o.start.toISOString());
const rawNext = (cron: string, tz: string, from: string) =>
  CronExpressionParser.parse(cron, { currentDate: at(from), tz })
    .next()
    .toDate()
    .toISOString();

describe('spring forward: a wall-clock time that does not exist that day', () => {
  const berlin: MaintenanceWindow[] = [{ cron: '30 2 * * *', durationMs: H, timezone: 'Europe/Berlin' }];

  it('starts the 02:30 Berlin window at 03:30 CEST on the day of the change, for its full hour', () => {
    expect(starts(berlin, '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST, the same distance into the new hour
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    const shifted = windowContaining(berlin, at('2026-03-29T02:00:00Z'));
    expect(shifted?.end.toISOString()).toBe('2026-03-29T02:30:00.000Z');
    expect(formatWallClock(shifted!.start, 'Europe/Berlin')).toBe('Sun 29 Mar 03:30');
  });

  it('does the same in New York (02:30 EST does not exist on 8 March: 03:30 EDT)', () => {
    const ny: MaintenanceWindow[] = [{ cron: '30 2 * * *', durationMs: H, timezone: 'America/New_York' }];
    expect(starts(ny, '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-08T07:30:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
  });

  it('gives the same start whether asked before the change or from inside the missing hour', () => {
    // Raw cron-parser depends on where the iteration starts: from 03:29:59 CEST it skips the
    // shifted 03:30 start (03:29 is "after 02:30" on the wall clock). src/windows iterates from
    // a point clear of the change, so the answer does not depend on `from`.
    expect(rawNext('30 2 * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z')).toBe('2026-03-29T01:30:00.000Z');
    expect(rawNext('30 2 * * *', 'Europe/Berlin', '2026-03-29T01:29:59Z')).toBe('2026-03-30T00:30:00.000Z');
    expect(starts(berlin, '2026-03-29T01:29:59Z', 1)).toEqual(['2026-03-29T01:30:00.000Z']);
    expect(windowContaining(berlin, at('2026-03-29T01:45:00Z'))?.start.toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });
});

describe('fall back: a wall-clock time that happens twice', () => {
  const ny: MaintenanceWindow[] = [{ cron: '30 1 * * *', durationMs: H, timezone: 'America/New_York' }];

  it('opens the 01:30 New York window once, at the first 01:30 (EDT)', () => {
    expect(starts(ny, '2026-10-31T00:00:00Z', 3)).toEqual([
      '2026-10-31T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; the second 01:30 (EST, 06:30 UTC) starts nothing
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
  });

  it('keeps the duration in elapsed time: the hour ends at 01:30 EST, not at 02:30 on the wall clock', () => {
    expect(windowContaining(ny, at('2026-11-01T06:15:00Z'))?.start.toISOString()).toBe(
      '2026-11-01T05:30:00.000Z',
    );
    expect(windowContaining(ny, at('2026-11-01T06:30:00Z'))).toBeNull(); // 01:30 EST
    expect(windowContaining(ny, at('2026-11-01T06:45:00Z'))).toBeNull(); // 01:45 EST
  });

  it('does not start a second window when asked from inside the repeated hour', () => {
    // Raw cron-parser, started at 01:00 EST, yields the second 01:30; src/windows does not.
    expect(rawNext('30 1 * * *', 'America/New_York', '2026-11-01T06:00:00Z')).toBe(
      '2026-11-01T06:30:00.000Z',
    );
    expect(starts(ny, '2026-11-01T06:00:00Z', 1)).toEqual(['2026-11-02T06:30:00.000Z']);
    expect(nextWindowStart(ny, at('2026-11-01T05:30:00.001Z'))?.toISOString()).toBe(
      '2026-11-02T06:30:00.000Z',
    );
  });

  it('opens an every-hour window in both repeated hours (cron-parser fires `*` hours in each)', () => {
    const hourly: MaintenanceWindow[] = [
      { cron: '0 * * * *', durationMs: H / 2, timezone: 'America/New_York' },
    ];
    expect(starts(hourly, '2026-11-01T04:30:00Z', 3)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
    ]);
  });

  it('opens the 02:30 Berlin window once on 25 October, at 02:30 CEST', () => {
    const berlin: MaintenanceWindow[] = [{ cron: '30 2 * * *', durationMs: H, timezone: 'Europe/Berlin' }];
    expect(starts(berlin, '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });
});

describe('nextWindows across a DST change', () => {
  it.each([
    [
      'Europe/Berlin, spring',
      'Europe/Berlin',
      '2026-03-20T00:00:00Z',
      ['2026-03-22T03:00:00.000Z', '2026-03-29T02:00:00.000Z', '2026-04-05T02:00:00.000Z'],
    ],
    [
      'Europe/Berlin, autumn',
      'Europe/Berlin',
      '2026-10-17T00:00:00Z',
      ['2026-10-18T02:00:00.000Z', '2026-10-25T03:00:00.000Z', '2026-11-01T03:00:00.000Z'],
    ],
    [
      'America/New_York, spring',
      'America/New_York',
      '2026-03-01T12:00:00Z',
      ['2026-03-08T08:00:00.000Z', '2026-03-15T08:00:00.000Z', '2026-03-22T08:00:00.000Z'],
    ],
    [
      'America/New_York, autumn',
      'America/New_York',
      '2026-10-25T12:00:00Z',
      ['2026-11-01T09:00:00.000Z', '2026-11-08T09:00:00.000Z', '2026-11-15T09:00:00.000Z'],
    ],
  ])('keeps the local wall-clock time (%s)', (_name, timezone, from, expected) => {
    const windows: MaintenanceWindow[] = [{ cron: '0 4 * * SUN', durationMs: 2 * H, timezone }];
    const occurrences = nextWindows(windows, at(from), 3);
    expect(occurrences.map((o) => o.start.toISOString())).toEqual(expected);
    for (const o of occurrences) {
      expect(formatWallClock(o.start, timezone)).toMatch(/^Sun \d+ \w+ 04:00$/);
      expect(o.end.getTime() - o.start.getTime()).toBe(2 * H);
    }
  });

  it('keeps Asia/Kolkata (no DST) at the same UTC time all year', () => {
    const kolkata: MaintenanceWindow[] = [{ cron: '0 2 * * SUN', durationMs: H, timezone: 'Asia/Kolkata' }];
    expect(starts(kolkata, '2026-03-20T00:00:00Z', 3)).toEqual([
      '2026-03-21T20:30:00.000Z',
      '2026-03-28T20:30:00.000Z',
      '2026-04-04T20:30:00.000Z',
    ]);
  });
});

describe('a half-hour DST change (Australia/Lord_Howe, +11:00 -> +10:30 on Sun 5 Apr 2026 02:00)', () => {
  it('resumes after cron-parser gives up at the change instead of failing', () => {
    const lordHowe: MaintenanceWindow[] = [
      { cron: '0 2 * * SUN', durationMs: H, timezone: 'Australia/Lord_Howe' },
    ];
    // Raw cron-parser cannot get past the change from before it.
    expect(() => rawNext('0 2 * * SUN', 'Australia/Lord_Howe', '2026-03-30T00:00:00Z')).toThrow(
      /loop limit exceeded/,
    );
    expect(starts(lordHowe, '2026-03-30T00:00:00Z', 2)).toEqual([
      '2026-04-04T15:30:00.000Z', // Sun 5 Apr 02:00 +10:30
      '2026-04-11T15:30:00.000Z',
    ]);
  });
});
