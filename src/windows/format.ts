// Window times as people read them: "Sun 29 Mar 02:00–04:00 Europe/Berlin (in 3 d 4 h)".
import type { MaintenanceWindow } from '../config/types';
import { nextWindows, type WindowOccurrence, windowContaining } from './windows';
import { wallClock } from './zone';

const MINUTE_MS = 60_000;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `3 d 4 h`, `4 h 5 m`, `12 m`; minutes rounded up, so "in 1 m" is never "in 0 m". */
export function formatSpan(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / MINUTE_MS));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return rest > 0 ? `${hours} h ${rest} m` : `${hours} h`;
  return `${rest} m`;
}

/** `Sun 29 Mar 02:00` in `timeZone`. */
export function formatWallClock(at: Date, timeZone: string): string {
  const c = wallClock(timeZone, at);
  return `${c.weekday} ${c.day} ${c.month} ${pad2(c.hour)}:${pad2(c.minute)}`;
}

/**
 * `Sun 29 Mar 02:00–04:00 Europe/Berlin`, in the window's own time zone; an occurrence that ends on
 * another day names it: `Sat 28 Mar 23:00–Sun 01:00 UTC`.
 */
export function formatOccurrence(occurrence: Pick<WindowOccurrence, 'start' | 'end' | 'window'>): string {
  const zone = occurrence.window.timezone;
  const start = wallClock(zone, occurrence.start);
  const end = wallClock(zone, occurrence.end);
  const sameDay = start.year === end.year && start.monthIndex === end.monthIndex && start.day === end.day;
  const endText = `${sameDay ? '' : `${end.weekday} `}${pad2(end.hour)}:${pad2(end.minute)}`;
  return `${formatWallClock(occurrence.start, zone)}–${endText} ${zone}`;
}

/** Where `now` stands relative to the occurrence: `in 3 d 4 h`, `open now, closes in 40 m`, `ended 2 h ago`. */
export function formatWhen(occurrence: Pick<WindowOccurrence, 'start' | 'end'>, now: Date): string {
  const t = now.getTime();
  if (t < occurrence.start.getTime()) return `in ${formatSpan(occurrence.start.getTime() - t)}`;
  if (t < occurrence.end.getTime()) return `open now, closes in ${formatSpan(occurrence.end.getTime() - t)}`;
  return `ended ${formatSpan(t - occurrence.end.getTime())} ago`;
}

/** `Sun 29 Mar 02:00–04:00 Europe/Berlin (in 3 d 4 h)`. */
export function describeOccurrence(occurrence: WindowOccurrence, now: Date): string {
  return `${formatOccurrence(occurrence)} (${formatWhen(occurrence, now)})`;
}

export type WindowStatus =
  | { kind: 'open'; occurrence: WindowOccurrence; text: string }
  | { kind: 'next'; occurrence: WindowOccurrence; text: string };

/**
 * For `/cutover targets`: the window open at `now` (`Sun 29 Mar 02:00–04:00 UTC, closes in 40 m`)
 * or else the next one (`Sun 29 Mar 02:00–04:00 UTC (in 3 d 4 h)`); null without windows.
 */
export function windowStatus(windows: readonly MaintenanceWindow[], now: Date): WindowStatus | null {
  const open = windowContaining(windows, now);
  if (open !== null) {
    const left = formatSpan(open.end.getTime() - now.getTime());
    return { kind: 'open', occurrence: open, text: `${formatOccurrence(open)}, closes in ${left}` };
  }
  const [next] = nextWindows(windows, now, 1);
  if (next === undefined) return null;
  return { kind: 'next', occurrence: next, text: describeOccurrence(next, now) };
}
