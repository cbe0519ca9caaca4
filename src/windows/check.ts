// Is a requested start time acceptable for a target? Used by `/cutover schedule --at`.
import type { MaintenanceWindow } from '../config/types';
import { describeOccurrence } from './format';
import { nextWindows, type WindowOccurrence, windowContaining } from './windows';

/** How many upcoming window starts a refusal suggests. */
export const SUGGESTED_STARTS = 3;

export type ScheduleRefusal = 'invalid-time' | 'in-the-past' | 'outside-windows' | 'no-windows';

export type ScheduleCheck =
  | {
      ok: true;
      /** The window `at` falls in; null when it falls in none (allowed without requireWindow). */
      window: WindowOccurrence | null;
    }
  | {
      ok: false;
      reason: ScheduleRefusal;
      /** One or two sentences for people, the next valid starts included. */
      message: string;
      /** The next window starts at or after `now` (up to SUGGESTED_STARTS); empty without windows. */
      nextValid: WindowOccurrence[];
    };

export interface ScheduleCheckOptions {
  /** Named in messages: "outside every window of orders-db". */
  target?: string;
}

/**
 * May a run be scheduled to start at `at`? Refused when `at` is before `now`, or when
 * `requireWindow` is set and no window is open at `at`. A refusal lists the next window starts
 * from `now` — the times `--at` would be accepted for (with `requireWindow`), or that the windows
 * suggest (without).
 */
export function checkScheduleTime(
  windows: readonly MaintenanceWindow[],
  requireWindow: boolean,
  at: Date,
  now: Date,
  options: ScheduleCheckOptions = {},
): ScheduleCheck {
  const of = options.target === undefined ? 'the target' : options.target;
  const refuse = (reason: ScheduleRefusal, problem: string): ScheduleCheck => {
    const nextValid = nextWindows(windows, now, SUGGESTED_STARTS);
    const listed =
      nextValid.length === 0
        ? ''
        : ` Next window${nextValid.length === 1 ? '' : 's'}: ${nextValid
            .map((occurrence) => describeOccurrence(occurrence, now))
            .join('; ')}.`;
    return { ok: false, reason, message: `${problem}.${listed}`, nextValid };
  };

  if (Number.isNaN(at.getTime())) return refuse('invalid-time', 'That is not a valid time');
  if (at.getTime() < now.getTime()) {
    return refuse('in-the-past', `${at.toISOString()} is in the past (it is now ${now.toISOString()})`);
  }
  const window = windowContaining(windows, at);
  if (requireWindow && windows.length === 0) {
    return refuse('no-windows', `${of} requires a maintenance window but has none configured`);
  }
  if (requireWindow && window === null) {
    return refuse('outside-windows', `${at.toISOString()} is outside every window of ${of}`);
  }
  return { ok: true, window };
}
