// Maintenance windows: when they are open, when the next one starts, and how to say so. Pure.
export {
  cronProblem,
  fits,
  type MaintenanceWindow,
  nextWindows,
  nextWindowStart,
  remainingMs,
  startsFrom,
  type WindowOccurrence,
  windowContaining,
} from './windows';
export {
  checkScheduleTime,
  type ScheduleCheck,
  type ScheduleCheckOptions,
  type ScheduleRefusal,
  SUGGESTED_STARTS,
} from './check';
export {
  describeOccurrence,
  formatOccurrence,
  formatSpan,
  formatWallClock,
  formatWhen,
  windowStatus,
  type WindowStatus,
} from './format';
export { isTimeZone } from './zone';
