// synchronous_standby_names, read as PostgreSQL reads it: a standby promoted with a setting that names
// servers which will not stream from it waits on every commit for acknowledgements that never come.
// Pure: parsed and judged here, read and cleared through the ReplicationPort.

export interface SyncStandbys {
  method: 'first' | 'any';
  /** How many of `names` must acknowledge a commit. */
  count: number;
  /** Application names; `*` matches any standby. */
  names: string[];
}

const NAME = /^\s*("(?:[^"]|"")*"|[^\s,()"]+)\s*/;

function parseNames(text: string): string[] | null {
  const names: string[] = [];
  let rest = text;
  for (;;) {
    const match = NAME.exec(rest);
    if (!match?.[1]) return null;
    const raw = match[1];
    names.push(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw);
    rest = rest.slice(match[0].length);
    if (rest === '') return names;
    if (!rest.startsWith(',')) return null;
    rest = rest.slice(1);
  }
}

/** Null for an empty setting (no synchronous replication); throws on one PostgreSQL would not accept. */
export function parseSyncStandbys(setting: string): SyncStandbys | null {
  const text = setting.trim();
  if (text === '') return null;
  const counted = /^(?:(FIRST|ANY)\s+)?(\d+)\s*\((.*)\)$/is.exec(text);
  if (counted) {
    const names = parseNames(counted[3] ?? '');
    if (!names) throw new Error(`cannot read synchronous_standby_names = '${setting}'`);
    const method = counted[1]?.toUpperCase() === 'ANY' ? 'any' : 'first';
    return { method, count: Number(counted[2]), names };
  }
  const names = parseNames(text);
  if (!names) throw new Error(`cannot read synchronous_standby_names = '${setting}'`);
  // A plain list is FIRST 1 (the first listed that is connected).
  return { method: 'first', count: 1, names };
}

/**
 * Whether commits on the server would complete with these standbys streaming from it: at least
 * `count` of them must match the names (case-insensitively, as PostgreSQL compares them).
 */
export function satisfiedBy(sync: SyncStandbys | null, followers: readonly string[]): boolean {
  if (sync === null || sync.count === 0) return true;
  const wanted = sync.names.map((name) => name.toLowerCase());
  const matching = wanted.includes('*')
    ? followers.length
    : followers.filter((follower) => wanted.includes(follower.toLowerCase())).length;
  return matching >= sync.count;
}
