// Tables for the pure formatters of the progress message.
import {
  etaToThreshold,
  formatAge,
  formatBytes,
  formatDuration,
  formatSeconds,
  sparkline,
} from '../../../src/slack/render/sparkline';

describe('sparkline', () => {
  it.each<[number[], number | undefined, string]>([
    [[], undefined, ''],
    [[1, 2, 3, 4, 5, 6, 7, 8], undefined, '▁▂▃▄▅▆▇█'],
    [[5, 5, 5], undefined, '▁▁▁'],
    [[0, 10], undefined, '▁█'],
    [[10, 0, 10], undefined, '█▁█'],
    [[1, Number.NaN, 3, Number.POSITIVE_INFINITY], undefined, '▁█'],
    [[1, 2, 3], 0, ''],
    [[1, 2, 3, 100], 2, '▁█'],
  ])('%j (width %s) -> %s', (values, width, expected) => {
    expect(width === undefined ? sparkline(values) : sparkline(values, width)).toBe(expected);
  });

  it('draws only the last `width` values, scaled among themselves', () => {
    const values = Array.from({ length: 30 }, (_, i) => i + 1);
    const line = sparkline(values);
    expect([...line]).toHaveLength(20);
    expect(line.startsWith('▁')).toBe(true);
    expect(line.endsWith('█')).toBe(true);
    expect([...sparkline(values, 5)]).toHaveLength(5);
  });
});

describe('formatBytes', () => {
  const KiB = 1024;
  const MiB = KiB * KiB;
  const GiB = MiB * KiB;
  it.each<[number, string]>([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1.0 kB'],
    [1536, '1.5 kB'],
    [MiB - 1, '1.0 MB'],
    [1.2 * MiB, '1.2 MB'],
    [16 * MiB, '16.0 MB'],
    [2.5 * GiB, '2.5 GB'],
    [5 * 1024 * GiB, '5120.0 GB'],
    [-2048, '-2.0 kB'],
    [Number.NaN, '?'],
  ])('%d -> %s', (n, expected) => {
    expect(formatBytes(n)).toBe(expected);
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0 ms'],
    [850, '850 ms'],
    [999.9, '999 ms'],
    [1000, '1.0 s'],
    [4200, '4.2 s'],
    [4290, '4.2 s'],
    [9999, '9.9 s'],
    [10_000, '10 s'],
    [40_000, '40 s'],
    [59_999, '59 s'],
    [60_000, '1m 00s'],
    [185_000, '3m 05s'],
    [3_599_999, '59m 59s'],
    [3_600_000, '1h 00m'],
    [3_720_000, '1h 02m'],
    [26 * 3_600_000, '26h 00m'],
    [-5, '0 ms'],
    [Number.NaN, '?'],
  ])('%d ms -> %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('formatSeconds and formatAge', () => {
  it.each<[number, string]>([
    [0, '0.0 s'],
    [0.8, '0.8 s'],
    [4.2, '4.2 s'],
    [42, '42 s'],
    [185, '3m 05s'],
  ])('formatSeconds(%d) -> %s', (s, expected) => {
    expect(formatSeconds(s)).toBe(expected);
  });

  it.each<[number, string]>([
    [185_000, '3m 05s'],
    [47 * 3_600_000, '47h 00m'],
    [76 * 3_600_000, '3d 04h'],
  ])('formatAge(%d) -> %s', (ms, expected) => {
    expect(formatAge(ms)).toBe(expected);
  });
});

describe('etaToThreshold', () => {
  const T = Date.parse('2025-03-02T02:00:00.000Z');
  const s = (sec: number, value: number) => ({ at: new Date(T + sec * 1000).toISOString(), value });
  const now = (sec: number) => new Date(T + sec * 1000);

  it.each<[string, { at: string; value: number }[], number, number, ReturnType<typeof etaToThreshold>]>([
    ['no samples', [], 10, 0, { kind: 'unknown' }],
    ['one sample under', [s(0, 5)], 10, 0, { kind: 'below' }],
    ['newest at the threshold', [s(0, 50), s(1, 30), s(2, 10)], 10, 2, { kind: 'below' }],
    ['two samples above', [s(0, 50), s(1, 40)], 10, 1, { kind: 'unknown' }],
    ['three samples at one instant', [s(0, 50), s(0, 40), s(0, 30)], 10, 0, { kind: 'unknown' }],
    ['falling 2/s, 40 to go', [s(0, 100), s(10, 80), s(20, 60)], 20, 20, { kind: 'eta', ms: 20_000 }],
    [
      'counts from now, not the newest sample',
      [s(0, 100), s(10, 80), s(20, 60)],
      20,
      25,
      { kind: 'eta', ms: 15_000 },
    ],
    ['overdue clamps to 0', [s(0, 100), s(10, 80), s(20, 60)], 20, 500, { kind: 'eta', ms: 0 }],
    ['rising', [s(0, 10), s(1, 20), s(2, 30)], 5, 2, { kind: 'rising' }],
    ['flat', [s(0, 50), s(1, 50), s(2, 50)], 10, 2, { kind: 'unknown' }],
    ['unsorted input', [s(20, 60), s(0, 100), s(10, 80)], 20, 20, { kind: 'eta', ms: 20_000 }],
  ])('%s', (_name, samples, threshold, nowSec, expected) => {
    expect(etaToThreshold(samples, threshold, now(nowSec))).toEqual(expected);
  });

  it('fits the slope to the recent samples only', () => {
    const rising = Array.from({ length: 10 }, (_, i) => s(i, 10 * (i + 1)));
    const falling = Array.from({ length: 10 }, (_, i) => s(10 + i, 100 - 5 * i));
    expect(etaToThreshold([...rising, ...falling], 5, now(19))).toEqual({ kind: 'eta', ms: 10_000 });
  });

  it('accepts Date times and a noisy fall', () => {
    const samples = [100, 90, 85, 70, 66, 50].map((value, i) => ({ at: new Date(T + i * 1000), value }));
    const eta = etaToThreshold(samples, 10, now(5));
    expect(eta.kind).toBe('eta');
    if (eta.kind === 'eta') expect(eta.ms).toBeGreaterThan(3000);
  });
});
