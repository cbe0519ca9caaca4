// Paths inside a config document, written the way an operator reads them: targets[1].postgres.standby

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Appends one segment to a formatted path. */
export function joinPath(base: string, segment: PropertyKey): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  const key = String(segment);
  // Keys with dots, spaces or the like are quoted so the path stays unambiguous.
  if (!PLAIN_KEY.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base === '' ? key : `${base}.${key}`;
}

export function formatPath(segments: readonly PropertyKey[], base = ''): string {
  return segments.reduce<string>((path, segment) => joinPath(path, segment), base);
}

/** A short description of a value for messages; never the content of objects. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
