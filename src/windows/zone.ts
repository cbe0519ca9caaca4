// Wall-clock arithmetic for IANA time zones with nothing but Intl (no I/O, no current time).

const HOUR_MS = 3_600_000;

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = partsFormatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Is `zone` an IANA time zone this runtime knows (`UTC`, `Europe/Berlin`)? */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export interface WallClock {
  /** `Sun` */
  weekday: string;
  year: number;
  /** `Mar` */
  month: string;
  monthIndex: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The wall-clock reading of `at` in `timeZone`. */
export function wallClock(timeZone: string, at: Date | number): WallClock {
  const parts = partsFormatter(timeZone).formatToParts(new Date(at));
  const text = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((part) => part.type === type)?.value ?? '';
  const month = text('month');
  return {
    weekday: text('weekday'),
    year: Number(text('year')),
    month,
    monthIndex: MONTHS.indexOf(month),
    day: Number(text('day')),
    hour: Number(text('hour')),
    minute: Number(text('minute')),
    second: Number(text('second')),
  };
}

/** Offset of `timeZone` from UTC at instant `at`, in milliseconds (Berlin in summer: +2 h). */
export function utcOffsetMs(timeZone: string, at: number): number {
  const clock = wallClock(timeZone, at);
  const local = Date.UTC(clock.year, clock.monthIndex, clock.day, clock.hour, clock.minute, clock.second);
  return local - Math.floor(at / 1000) * 1000;
}

/** How far from a UTC-offset change an instant must be to count as clear of it. */
const TRANSITION_MARGIN_MS = 4 * HOUR_MS;

/**
 * An instant at or before `at` that is at least four hours away from any change of the zone's
 * UTC offset (a DST change). cron-parser computes on wall-clock time, and what it yields around a
 * DST change depends on where the iteration started: started inside the changed hour it may skip
 * or repeat a time that an iteration started earlier would not. Starting every iteration clear of
 * a change makes the occurrences a property of the cron expression alone.
 */
export function clearOfTransition(timeZone: string, at: number): number {
  let anchor = at;
  for (let attempt = 0; attempt < 8; attempt++) {
    if (
      utcOffsetMs(timeZone, anchor - TRANSITION_MARGIN_MS) ===
      utcOffsetMs(timeZone, anchor + TRANSITION_MARGIN_MS)
    ) {
      return anchor;
    }
    anchor -= 2 * TRANSITION_MARGIN_MS;
  }
  return anchor;
}

/**
 * The first instant after `after` (within `withinMs`) at which the zone's UTC offset differs from
 * its offset at `after`, to the second; null when there is none.
 */
export function nextOffsetChange(timeZone: string, after: number, withinMs: number): number | null {
  const STEP = 3 * HOUR_MS;
  const offset = utcOffsetMs(timeZone, after);
  let low = after;
  let high = Number.NaN;
  for (let t = after + STEP; t <= after + withinMs + STEP; t += STEP) {
    if (utcOffsetMs(timeZone, t) !== offset) {
      high = t;
      break;
    }
    low = t;
  }
  if (Number.isNaN(high)) return null;
  while (high - low > 1000) {
    const middle: number = low + Math.floor((high - low) / 2);
    if (utcOffsetMs(timeZone, middle) === offset) low = middle;
    else high = middle;
  }
  return high;
}
