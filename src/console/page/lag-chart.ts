// The lag chart the page shows next to a run's progress message: an SVG of the run's replication lag
// over time (bytes; seconds when the target reports no bytes; lagging replicas for a cluster).
import { el, svg } from './dom';
import type { LagSample, PageRun, RunLag } from './types';

export function formatBytes(n: number | null): string {
  if (n === null || !isFinite(n)) return '?';
  if (Math.abs(n) < 1024) return Math.round(n) + ' B';
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (u < units.length - 1 && Math.abs(v) >= 1024) {
    v /= 1024;
    u += 1;
  }
  return v.toFixed(1) + ' ' + units[u];
}

export function formatSeconds(s: number | null): string {
  if (s === null || !isFinite(s)) return '?';
  return s < 10 ? s.toFixed(1) + ' s' : Math.round(s) + ' s';
}

/** The chart of `run`, or null for a finished run without samples (nothing to show). */
export function drawChart(run: PageRun, lag: RunLag): HTMLElement | null {
  const samples = lag.samples || [];
  const box = el('div', 'lag-chart');
  box.setAttribute('data-run', run.id);
  const newest = samples[samples.length - 1];
  if (newest === undefined) {
    if (!run.active) return null;
    box.appendChild(el('div', 'lag-caption', 'Lag ' + run.shortId + ': no samples yet'));
    return box;
  }
  // A cluster (rolling-replace) reports lagging replicas instead of bytes/seconds.
  const useReplicas = samples.some((s) => typeof s.laggingReplicas === 'number');
  const useBytes = samples.some((s) => s.bytes !== null);
  const value = (s: LagSample): number | null => {
    if (useReplicas) return typeof s.laggingReplicas === 'number' ? s.laggingReplicas : null;
    return useBytes ? s.bytes : s.seconds;
  };
  const fmt: (n: number | null) => string = useReplicas ? String : useBytes ? formatBytes : formatSeconds;
  const limit = useReplicas ? undefined : useBytes ? lag.limits.maxBytes : lag.limits.maxSeconds;
  const hasLimit = typeof limit === 'number' && isFinite(limit);
  const times = samples.map((s) => Date.parse(s.at));
  const t0 = times[0] as number;
  const t1 = Math.max(times[times.length - 1] as number, t0 + 1000);
  const known = samples.map(value).filter((v): v is number => v !== null);
  const highest = Math.max(...known.concat([0]));
  // A limit far above every sample would flatten them into a line at 0: the chart then scales to
  // the samples and names the limit in its caption instead.
  const limitShown = hasLimit && limit <= highest * 20;
  const top = Math.max(1, highest, limitShown ? limit : 0) * 1.15;
  const W = 320;
  const H = 120;
  const L = 44;
  const R = 8;
  const T = 8;
  const B = 18;
  const x = (t: number): number => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v: number): number => T + (1 - v / top) * (H - T - B);
  const chart = svg('svg', {
    viewBox: '0 0 ' + W + ' ' + H,
    width: W,
    height: H,
    role: 'img',
    class: 'lag-svg',
  });
  chart.appendChild(svg('title', {}, 'Replication lag of run ' + run.shortId));
  chart.appendChild(svg('rect', { x: L, y: T, width: W - L - R, height: H - T - B, class: 'lag-plot' }));
  chart.appendChild(svg('text', { x: L - 4, y: T + 8, class: 'lag-axis', 'text-anchor': 'end' }, fmt(top)));
  chart.appendChild(svg('text', { x: L - 4, y: H - B, class: 'lag-axis', 'text-anchor': 'end' }, fmt(0)));
  const span = Math.round((t1 - t0) / 1000);
  chart.appendChild(svg('text', { x: L, y: H - 4, class: 'lag-axis' }, '-' + span + ' s'));
  chart.appendChild(svg('text', { x: W - R, y: H - 4, class: 'lag-axis', 'text-anchor': 'end' }, 'now'));
  if (limitShown) {
    chart.appendChild(svg('line', { x1: L, x2: W - R, y1: y(limit), y2: y(limit), class: 'lag-threshold' }));
    chart.appendChild(
      svg(
        'text',
        { x: W - R - 2, y: y(limit) - 3, class: 'lag-threshold-label', 'text-anchor': 'end' },
        'max ' + fmt(limit),
      ),
    );
  }
  // One polyline per run of known samples; unknown samples (counted as too high) are red ticks.
  let points: string[] = [];
  const flush = (): void => {
    if (points.length === 1) {
      const p = (points[0] as string).split(',');
      chart.appendChild(svg('circle', { cx: p[0] as string, cy: p[1] as string, r: 2, class: 'lag-dot' }));
    } else if (points.length > 1) {
      chart.appendChild(svg('polyline', { points: points.join(' '), class: 'lag-line' }));
    }
    points = [];
  };
  samples.forEach((s, i) => {
    const v = value(s);
    const t = times[i] as number;
    if (v === null) {
      flush();
      chart.appendChild(svg('line', { x1: x(t), x2: x(t), y1: T, y2: T + 6, class: 'lag-unknown' }));
      return;
    }
    points.push(x(t).toFixed(1) + ',' + y(v).toFixed(1));
  });
  flush();
  let caption = 'Lag ' + run.shortId + ': ';
  if (useReplicas) caption = 'Lagging replicas ' + run.shortId + ': ' + String(value(newest));
  else if (newest.bytes === null || newest.seconds === null) caption += 'unknown (counts as too high)';
  else caption += formatBytes(newest.bytes) + ' / ' + formatSeconds(newest.seconds);
  if (hasLimit && !limitShown) caption += ' (limit ' + fmt(limit) + ', far above)';
  caption += ' · ' + samples.length + ' samples';
  box.appendChild(el('div', 'lag-caption', caption));
  box.appendChild(chart);
  return box;
}
