// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it throws on
// anything a Prometheus server would reject or that the format forbids (a sample before its TYPE, a
// TYPE given twice, a duplicate series, bad names, bad escapes, histograms whose buckets do not add up).

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

class ParseError extends Error {
  constructor(line: number, message: string, text: string) {
    super(`line ${line}: ${message}: ${JSON.stringify(text)}`);
  }
}

function parseValue(text: string): number | null {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** Reads `{a="x",b="y"}` from `text` at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(text: string, start: number, fail: (message: string) => never) {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq < 0) fail('label without "="');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(`bad label name "${name}"`);
    if (name in labels) fail(`label "${name}" given twice`);
    if (text[eq + 1] !== '"') fail(`label "${name}" value is not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) fail(`unterminated value of label "${name}"`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail(`bad escape in label "${name}"`);
        j += 2;
        continue;
      }
      if (c === '\n') fail('newline inside a label value');
      value += c;
      j += 1;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') fail('expected "," or "}" after a label');
  }
}

/** Which family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (!family) continue;
    if (family.type === 'histogram') return family;
    if (family.type === 'summary' && suffix !== '_bucket') return family;
  }
  return undefined;
}

function checkHistograms(family: Family): void {
  if (family.type !== 'histogram') return;
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: bucket without "le"`);
      const bound = parseValue(le);
      if (bound === null) throw new Error(`${family.name}: bad "le" ${le}`);
      entry.buckets.push([bound, sample.value]);
    } else if (sample.name === `${family.name}_count`) entry.count = sample.value;
    else if (sample.name === `${family.name}_sum`) entry.sum = sample.value;
    else throw new Error(`${family.name}: unexpected histogram sample ${sample.name}`);
  }
  for (const [key, entry] of series) {
    const where = `${family.name}${key}`;
    if (entry.count === undefined || entry.sum === undefined) throw new Error(`${where}: no _count or _sum`);
    const last = entry.buckets[entry.buckets.length - 1];
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${where}: no le="+Inf" bucket`);
    if (last[1] !== entry.count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${entry.count}`);
    for (let i = 1; i < entry.buckets.length; i += 1) {
      const [prevBound, prevCount] = entry.buckets[i - 1]!;
      const [bound, count] = entry.buckets[i]!;
      if (!(bound > prevBound)) throw new Error(`${where}: buckets not in increasing "le" order`);
      if (count < prevCount) throw new Error(`${where}: bucket counts are not cumulative`);
    }
  }
}

/** Parses `text`; throws on the first violation of the format. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  const helped = new Set<string>();
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const lines = text.split('\n');
  lines.pop(); // after the final newline
  lines.forEach((line, index) => {
    const n = index + 1;
    const fail = (message: string): never => {
      throw new ParseError(n, message, line);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!match) return; // a plain comment
      const [, keyword, name, rest = ''] = match as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) fail(`bad metric name "${name}"`);
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest)) fail(`unknown type "${rest}"`);
        const existing = families.get(name);
        if (existing && existing.samples.length > 0) fail(`TYPE of ${name} after its samples`);
        if (existing && existing.type !== 'untyped') fail(`TYPE of ${name} given twice`);
        families.set(name, { name, type: rest as MetricType, help: existing?.help ?? null, samples: [] });
      } else {
        if (helped.has(name)) fail(`HELP of ${name} given twice`);
        helped.add(name);
        const existing = families.get(name);
        if (existing) existing.help = rest;
        else families.set(name, { name, type: 'untyped', help: rest, samples: [] });
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) fail('a sample must start with a metric name');
    const name = nameMatch![0];
    let rest: string;
    let labels: Record<string, string> = {};
    if (line[name.length] === '{') {
      const parsed = parseLabels(line, name.length, fail);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    } else rest = line.slice(name.length);
    const fields = rest.split(' ');
    if (fields[0] !== '' || fields.length < 2 || fields.length > 3) fail('expected " value [timestamp]"');
    const value = parseValue(fields[1]!);
    if (value === null) fail(`bad value "${fields[1]}"`);
    if (fields[2] !== undefined && !/^-?\d+$/.test(fields[2])) fail(`bad timestamp "${fields[2]}"`);
    const family = familyOf(name, families);
    if (!family) fail(`sample of ${name} before its TYPE`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) fail('duplicate series');
    seenSeries.add(series);
    family!.samples.push({ name, labels, value: value! });
  });
  for (const family of families.values()) checkHistograms(family);
  return families;
}

/** The value of the sample `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = familyOf(name, families);
  const sample = family?.samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return sample?.value;
}
