// How windows read in Slack, as the Clock moves (a ManualClock: no sleeping).
import {
  describeOccurrence,
  formatOccurrence,
  formatSpan,
  type MaintenanceWindow,
  nextWindows,
  windowStatus,
} from '../../../src/windows';
import { ManualClock } from '../../support/fakes/manual-clock';

const H = 3_600_000;
const M = 60_000;

describe('formatSpan', () => {
  it.each([
    [0, '1 m'],
    [1, '1 m'],
    [59 * M, '59 m'],
    [60 * M, '1 h'],
    [61 * M, '1 h 1 m'],
    [59 * M + 1, '1 h'],
    [24 * H, '1 d'],
    [3 * 24 * H + 4 * H + 59 * M, '3 d 4 h'],
  ])('%d ms reads "%s"', (ms, text) => {
    expect(formatSpan(ms)).toBe(text);
  });
});

describe('formatOccurrence', () => {
  it('uses the window’s own time zone', () => {
    const berlin: MaintenanceWindow[] = [
      { cron: '0 2 * * SUN', durationMs: 2 * H, timezone: 'Europe/Berlin' },
    ];
    const [next] = nextWindows(berlin, new Date('2026-11-26T14:00:00Z'), 1);
    expect(formatOccurrence(next!)).toBe('Sun 29 Nov 02:00–04:00 Europe/Berlin');
    const kolkata: MaintenanceWindow[] = [
      { cron: '30 9 * * MON', durationMs: 90 * M, timezone: 'Asia/Kolkata' },
    ];
    expect(formatOccurrence(nextWindows(kolkata, new Date('2026-11-26T14:00:00Z'), 1)[0]!)).toBe(
      'Mon 30 Nov 09:30–11:00 Asia/Kolkata',
    );
  });

  it('names the end day of an occurrence that crosses midnight', () => {
    const ny: MaintenanceWindow[] = [
      { cron: '0 23 * * SAT', durationMs: 3 * H, timezone: 'America/New_York' },
    ];
    const [next] = nextWindows(ny, new Date('2026-11-26T14:00:00Z'), 1);
    expect(formatOccurrence(next!)).toBe('Sat 28 Nov 23:00–Sun 02:00 America/New_York');
  });
});

describe('windowStatus and describeOccurrence as the clock moves', () => {
  const windows: MaintenanceWindow[] = [
    { cron: '0 2 * * SUN', durationMs: 2 * H, timezone: 'Europe/Berlin' },
  ];
  // Thursday 26 Nov 2026 21:00 UTC; the window opens Sun 29 Nov 01:00 UTC (02:00 CET).
  const clock = new ManualClock('2026-11-26T21:00:00Z');

  it('shows the next window, then the open one, then the one after', () => {
    expect(windowStatus(windows, clock.now())).toMatchObject({
      kind: 'next',
      text: 'Sun 29 Nov 02:00–04:00 Europe/Berlin (in 2 d 4 h)',
    });

    clock.set('2026-11-29T01:40:00Z');
    expect(windowStatus(windows, clock.now())).toMatchObject({
      kind: 'open',
      text: 'Sun 29 Nov 02:00–04:00 Europe/Berlin, closes in 1 h 20 m',
    });

    clock.advance(80 * M); // the window closes
    expect(windowStatus(windows, clock.now())).toMatchObject({
      kind: 'next',
      text: 'Sun 6 Dec 02:00–04:00 Europe/Berlin (in 6 d 22 h)',
    });
  });

  it('says when an occurrence is open or over', () => {
    const [next] = nextWindows(windows, new Date('2026-11-26T21:00:00Z'), 1);
    expect(describeOccurrence(next!, new Date('2026-11-29T02:30:00Z'))).toBe(
      'Sun 29 Nov 02:00–04:00 Europe/Berlin (open now, closes in 30 m)',
    );
    expect(describeOccurrence(next!, new Date('2026-11-29T05:00:00Z'))).toBe(
      'Sun 29 Nov 02:00–04:00 Europe/Berlin (ended 2 h ago)',
    );
  });

  it('is null without windows', () => {
    expect(windowStatus([], clock.now())).toBeNull();
  });
});
