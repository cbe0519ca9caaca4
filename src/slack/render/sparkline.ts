// Small pure formatters for the progress message: sparklines, sizes, durations and a lag ETA.

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * One bar per value for the last `width` values, scaled between their minimum and maximum.
 * Non-finite values are ignored; no values gives ''; equal values give flat low bars.
 */
export function sparkline(values: number[], width = 20): string {
  const recent = values.filter((v) => Number.isFinite(v)).slice(-Math.max(0, Math.floor(width)));
  if (width < 1 || recent.length === 0) return '';
  const min = Math.min(...recent);
  const max = Math.max(...recent);
  const span = max - min;
  return recent
    .map((v) => BARS[span === 0 ? 0 : Math.round(((v - min) / span) * (BARS.length - 1))] ?? BARS[0])
    .join('');
}

const BYTE_UNITS = ['kB', 'MB', 'GB'] as const;

/** "512 B", "1.5 kB", "16.0 MB", "2.3 GB" (1024-based; GB is the largest unit). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const sign = n < 0 ? '-' : '';
  let value = Math.abs(n);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unit = 0;
  value /= 1024;
  // Move up while the value would print as 1024.0 or more in this unit.
  while (unit < BYTE_UNITS.length - 1 && Math.round(value * 10) / 10 >= 1024) {
    value /= 1024;
    unit += 1;
  }
  return `${sign}${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * "850 ms", "4.2 s" (under 10 s), "42 s", "3m 05s", "1h 02m". Rounds down, like a clock; negative
 * durations (clock skew) count as 0.
 */
export function formatDuration(ms: number): string {
  if (Number.isNaN(ms)) return '?';
  const t = Math.max(0, ms);
  if (t < 1000) return `${Math.floor(t)} ms`;
  if (t < 10_000) return `${(Math.floor(t / 100) / 10).toFixed(1)} s`;
  if (t < 60_000) return `${Math.floor(t / 1000)} s`;
  if (!Number.isFinite(t)) return '∞';
  const totalSeconds = Math.floor(t / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m ${pad2(totalSeconds % 60)}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h ${pad2(totalMinutes % 60)}m`;
}

/** Replication lag in seconds: "0.8 s", "12 s", "3m 05s". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (Math.abs(seconds) < 10) return `${seconds.toFixed(1)} s`;
  return formatDuration(seconds * 1000);
}

/** Age for lists: like `formatDuration`, with days past 48 hours ("3d 04h"). */
export function formatAge(ms: number): string {
  const hours = Math.floor(Math.max(0, ms) / 3_600_000);
  if (hours < 48) return formatDuration(ms);
  return `${Math.floor(hours / 24)}d ${pad2(hours % 24)}h`;
}

export type Eta = { kind: 'below' } | { kind: 'eta'; ms: number } | { kind: 'rising' } | { kind: 'unknown' };

/** How many of the newest samples the slope is fitted to. */
export const ETA_RECENT_SAMPLES = 10;

/**
 * When will the value reach `threshold` (at or under counts as reached)?
 * - `below`: the newest sample is already at or under the threshold;
 * - `eta`: least-squares slope over the recent samples is falling; ms from `now`, from the newest value;
 * - `rising`: the slope is rising;
 * - `unknown`: fewer than 3 usable samples, all at the same instant, or a flat slope.
 */
export function etaToThreshold(
  samples: { at: Date | string; value: number }[],
  threshold: number,
  now: Date,
): Eta {
  const points = samples
    .map((s) => ({ t: (s.at instanceof Date ? s.at : new Date(s.at)).getTime(), v: s.value }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v))
    .sort((a, b) => a.t - b.t);
  const newest = points[points.length - 1];
  if (!newest) return { kind: 'unknown' };
  if (newest.v <= threshold) return { kind: 'below' };
  const recent = points.slice(-ETA_RECENT_SAMPLES);
  const first = recent[0];
  if (recent.length < 3 || !first || newest.t - first.t <= 0) return { kind: 'unknown' };

  // Least squares on times relative to the first sample (keeps the numbers small).
  const n = recent.length;
  const meanT = recent.reduce((s, p) => s + (p.t - first.t), 0) / n;
  const meanV = recent.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of recent) {
    const dt = p.t - first.t - meanT;
    num += dt * (p.v - meanV);
    den += dt * dt;
  }
  const slope = num / den; // value per ms
  if (!Number.isFinite(slope) || slope === 0) return { kind: 'unknown' };
  if (slope > 0) return { kind: 'rising' };
  const fromNewest = (newest.v - threshold) / -slope;
  const ms = Math.max(0, Math.round(fromNewest - (now.getTime() - newest.t)));
  return { kind: 'eta', ms };
}
