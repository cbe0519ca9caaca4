// When maintenance windows are open. Pure: every function takes the instants it needs ("now"
// comes from the Clock port at the caller) and reads no clock, file or network.
import { CronExpressionParser } from 'cron-parser';

import type { MaintenanceWindow } from '../config/types';
import { clearOfTransition, nextOffsetChange } from './zone';

export type { MaintenanceWindow } from '../config/types';

/** One occurrence of a window: open from `start` (inclusive) to `end` (exclusive). */
export interface WindowOccurrence {
  start: Date;
  end: Date;
  /** The configured window it is an occurrence of (its time zone is how people read it). */
  window: MaintenanceWindow;
}

/**
 * Why a cron expression cannot be used in `timezone`, or null when it can: it parses and has at
 * least one occurrence. The config loader reports the reason under the window's path.
 */
export function cronProblem(cron: string, timezone: string): string | null {
  try {
    CronExpressionParser.parse(cron, { currentDate: new Date(0), tz: timezone }).next();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The starts of `window` at or after `from`, ascending, without end.
 *
 * The starts are the ones cron-parser yields when it iterates forward from before a DST change
 * (see clearOfTransition), which is:
 * - spring forward: a wall-clock time that does not exist that day (02:30 in Berlin on the last
 *   Sunday of March) starts at the same distance into the new hour (03:30 CEST), so the window
 *   still happens that day and lasts its full duration;
 * - fall back: a wall-clock time that happens twice (01:30 in New York on the first Sunday of
 *   November) starts once, at its first occurrence (01:30 EDT). cron-parser makes one exception:
 *   an expression with `*` hours (`0 * * * *`) also fires in the repeated hour.
 * Durations are elapsed time: a 2 h window that spans a DST change is still open for 2 hours.
 *
 * cron-parser 5 cannot step over some half-hour DST changes (Australia/Lord_Howe): it gives up
 * with "loop limit exceeded". The iteration then resumes just before the next change of the UTC
 * offset, so such a zone may lose the occurrences between the last one found and the change,
 * rather than failing every question about it.
 */
export function* startsFrom(window: MaintenanceWindow, from: Date): Generator<Date, void, undefined> {
  const wanted = from.getTime();
  const parse = (after: number) =>
    CronExpressionParser.parse(window.cron, { currentDate: new Date(after), tz: window.timezone });
  let cursor = clearOfTransition(window.timezone, wanted - 1);
  let expression = parse(cursor);
  for (;;) {
    let start: Date;
    try {
      start = expression.next().toDate();
    } catch (error) {
      const change = isLoopLimit(error) ? nextOffsetChange(window.timezone, cursor, RESUME_WITHIN_MS) : null;
      if (change === null || change - 1 <= cursor) throw error;
      cursor = change - 1;
      expression = parse(cursor);
      continue;
    }
    cursor = start.getTime();
    if (cursor >= wanted) yield start;
  }
}

const RESUME_WITHIN_MS = 400 * 86_400_000;

function isLoopLimit(error: unknown): boolean {
  return error instanceof Error && error.message.includes('loop limit exceeded');
}

function occurrence(window: MaintenanceWindow, start: Date): WindowOccurrence {
  return { start, end: new Date(start.getTime() + window.durationMs), window };
}

/** Later end first; for the same end, the earlier start (the longer occurrence). */
function endsLater(a: WindowOccurrence, b: WindowOccurrence): boolean {
  const byEnd = a.end.getTime() - b.end.getTime();
  return byEnd > 0 || (byEnd === 0 && a.start.getTime() < b.start.getTime());
}

/**
 * The occurrence open at `at` (start <= at < end), or null. When several are open (overlapping
 * windows, or a window whose occurrences overlap each other), the one that ends latest. Windows
 * that merely touch are not merged: at 03:59 of 02:00–04:00 followed by 04:00–06:00, this is the
 * first one.
 */
export function windowContaining(windows: readonly MaintenanceWindow[], at: Date): WindowOccurrence | null {
  const time = at.getTime();
  let best: WindowOccurrence | null = null;
  for (const window of windows) {
    // Occurrences still open at `at` started after at - duration.
    for (const start of startsFrom(window, new Date(time - window.durationMs + 1))) {
      if (start.getTime() > time) break;
      const candidate = occurrence(window, start);
      if (best === null || endsLater(candidate, best)) best = candidate;
    }
  }
  return best;
}

/**
 * The next `count` occurrences starting at or after `from`, of all windows merged, by start.
 * Occurrences of different windows with the same start count once (the one ending latest).
 */
export function nextWindows(
  windows: readonly MaintenanceWindow[],
  from: Date,
  count: number,
): WindowOccurrence[] {
  if (count <= 0) return [];
  const all: WindowOccurrence[] = [];
  for (const window of windows) {
    let taken = 0;
    for (const start of startsFrom(window, from)) {
      all.push(occurrence(window, start));
      if (++taken >= count) break;
    }
  }
  all.sort((a, b) => a.start.getTime() - b.start.getTime() || b.end.getTime() - a.end.getTime());
  const unique = all.filter(
    (candidate, index) => index === 0 || all[index - 1]?.start.getTime() !== candidate.start.getTime(),
  );
  return unique.slice(0, count);
}

/**
 * When `--next-window` starts: the first window start at or after `from`. A window that is open at
 * `from` but started before it is not used — a run started half-way into a window gets less time
 * than the window promises; run `start` for that. null when no window is configured.
 */
export function nextWindowStart(windows: readonly MaintenanceWindow[], from: Date): Date | null {
  return nextWindows(windows, from, 1)[0]?.start ?? null;
}

/** Milliseconds until the open window (windowContaining) closes; 0 when none is open. */
export function remainingMs(windows: readonly MaintenanceWindow[], at: Date): number {
  const open = windowContaining(windows, at);
  return open === null ? 0 : open.end.getTime() - at.getTime();
}

/** Does work of `estimateMs` started at `at` end inside the window open at `at`? */
export function fits(windows: readonly MaintenanceWindow[], at: Date, estimateMs: number): boolean {
  const open = windowContaining(windows, at);
  return open !== null && open.end.getTime() - at.getTime() >= estimateMs;
}
