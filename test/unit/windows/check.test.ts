// checkScheduleTime: what `/cutover schedule --at` accepts, and what a refusal suggests instead.
import { checkScheduleTime, type MaintenanceWindow, SUGGESTED_STARTS } from '../../../src/windows';
import { ManualClock } from '../../support/fakes/manual-clock';

const H = 3_600_000;
const windows: MaintenanceWindow[] = [
  { cron: '0 2 * * SAT,SUN', durationMs: 2 * H, timezone: 'Europe/Berlin' },
  { cron: '0 22 * * WED', durationMs: H, timezone: 'America/New_York' },
];
// Thursday 26 Nov 2026 14:00 UTC.
const clock = new ManualClock('2026-11-26T14:00:00Z');
const starts = (check: ReturnType<typeof checkScheduleTime>) =>
  check.ok ? [] : check.nextValid.map((o) => o.start.toISOString());

describe('checkScheduleTime', () => {
  it('accepts a time inside a window and says which', () => {
    const check = checkScheduleTime(windows, true, new Date('2026-11-28T01:30:00Z'), clock.now());
    expect(check.ok).toBe(true);
    expect(check.ok && check.window?.start.toISOString()).toBe('2026-11-28T01:00:00.000Z');
  });

  it('accepts a time outside the windows when the target does not require one', () => {
    expect(checkScheduleTime(windows, false, new Date('2026-11-27T12:00:00Z'), clock.now())).toEqual({
      ok: true,
      window: null,
    });
    expect(checkScheduleTime([], false, new Date('2026-11-27T12:00:00Z'), clock.now())).toEqual({
      ok: true,
      window: null,
    });
  });

  it('accepts now', () => {
    expect(checkScheduleTime(windows, false, clock.now(), clock.now()).ok).toBe(true);
  });

  it('refuses a time outside every window of a target that requires one, listing the next 3 starts', () => {
    const check = checkScheduleTime(windows, true, new Date('2026-11-27T12:00:00Z'), clock.now(), {
      target: 'orders-db',
    });
    expect(check).toMatchObject({ ok: false, reason: 'outside-windows' });
    expect(starts(check)).toEqual([
      '2026-11-28T01:00:00.000Z', // Sat 02:00 CET
      '2026-11-29T01:00:00.000Z', // Sun 02:00 CET
      '2026-12-03T03:00:00.000Z', // Wed 22:00 EST
    ]);
    expect(SUGGESTED_STARTS).toBe(3);
    expect(!check.ok && check.message).toBe(
      '2026-11-27T12:00:00.000Z is outside every window of orders-db. Next windows: ' +
        'Sat 28 Nov 02:00–04:00 Europe/Berlin (in 1 d 11 h); ' +
        'Sun 29 Nov 02:00–04:00 Europe/Berlin (in 2 d 11 h); ' +
        'Wed 2 Dec 22:00–23:00 America/New_York (in 6 d 13 h).',
    );
  });

  it('refuses a time at the end of a window (the end is not inside)', () => {
    const check = checkScheduleTime(windows, true, new Date('2026-11-28T03:00:00Z'), clock.now());
    expect(check).toMatchObject({ ok: false, reason: 'outside-windows' });
  });

  it('refuses a time in the past, listing the next starts from now', () => {
    clock.set('2026-11-28T01:30:00Z'); // inside Saturday's window
    const check = checkScheduleTime(windows, false, new Date('2026-11-28T01:00:00Z'), clock.now());
    expect(check).toMatchObject({ ok: false, reason: 'in-the-past' });
    // The open window started before now: the suggestions are the starts still to come.
    expect(starts(check)).toEqual([
      '2026-11-29T01:00:00.000Z',
      '2026-12-03T03:00:00.000Z',
      '2026-12-05T01:00:00.000Z',
    ]);
    expect(!check.ok && check.message).toMatch(
      /^2026-11-28T01:00:00\.000Z is in the past \(it is now 2026-11-28T01:30:00\.000Z\)\. Next windows: Sun 29 Nov 02:00/,
    );
  });

  it('refuses a time in the past with no suggestion when the target has no windows', () => {
    clock.set('2026-11-26T14:00:00Z');
    const check = checkScheduleTime([], false, new Date('2026-11-26T13:59:59.999Z'), clock.now());
    expect(check).toEqual({
      ok: false,
      reason: 'in-the-past',
      message: '2026-11-26T13:59:59.999Z is in the past (it is now 2026-11-26T14:00:00.000Z).',
      nextValid: [],
    });
  });

  it('refuses everything for a target that requires a window but has none', () => {
    const check = checkScheduleTime([], true, new Date('2026-11-27T12:00:00Z'), clock.now(), { target: 'x' });
    expect(check).toMatchObject({
      ok: false,
      reason: 'no-windows',
      message: 'x requires a maintenance window but has none configured.',
    });
  });

  it('refuses an invalid date instead of failing', () => {
    clock.set('2026-11-26T14:00:00Z');
    const check = checkScheduleTime(windows, false, new Date('not a date'), clock.now());
    expect(check).toMatchObject({ ok: false, reason: 'invalid-time' });
    expect(starts(check)).toHaveLength(3);
  });
});
