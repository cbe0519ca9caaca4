// Lag against the configured limit. Lag that cannot be measured counts as too high.
import type { LagReading } from '../../ports/replication';

export interface LagLimit {
  bytes?: number;
  seconds?: number;
}

export function isUnderLimit(lag: LagReading, limit: LagLimit): boolean {
  if (lag.bytes === null || lag.seconds === null) return false;
  if (limit.bytes !== undefined && lag.bytes > limit.bytes) return false;
  if (limit.seconds !== undefined && lag.seconds > limit.seconds) return false;
  return true;
}

export function describeLag(lag: LagReading, limit: LagLimit): string {
  if (lag.bytes === null || lag.seconds === null) return 'lag cannot be measured (counts as too high)';
  const parts: string[] = [];
  if (limit.bytes !== undefined && lag.bytes > limit.bytes)
    parts.push(`${lag.bytes} bytes > ${limit.bytes} bytes`);
  if (limit.seconds !== undefined && lag.seconds > limit.seconds)
    parts.push(`${lag.seconds.toFixed(1)} s > ${limit.seconds} s`);
  return parts.length > 0
    ? `lag ${parts.join(' and ')}`
    : `lag ${lag.bytes} bytes / ${lag.seconds.toFixed(1)} s (under the limit)`;
}
