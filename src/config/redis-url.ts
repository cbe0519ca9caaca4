// REDIS_URL: a plain `redis://` / `rediss://` URL, or a set of Redis Sentinels that name the primary.
//
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<master-name>[/<db>][?sentinelPassword=…]
//
// The hosts are the Sentinels (port 26379 unless given); the user and password are those of the
// Redis servers themselves; `sentinelUsername` / `sentinelPassword` authenticate to the Sentinels
// when they require it. Pure: no connection is made here. Problems never repeat the URL, which may
// carry a password.

export interface SentinelAddress {
  host: string;
  port: number;
}

export type RedisEndpoint =
  | { kind: 'url'; url: string }
  | {
      kind: 'sentinel';
      sentinels: SentinelAddress[];
      /** The name the Sentinels monitor the primary under. */
      name: string;
      db: number;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
    };

export const SENTINEL_SCHEME = 'redis+sentinel:';
export const DEFAULT_SENTINEL_PORT = 26379;
const SENTINEL_QUERY_KEYS = ['sentinelUsername', 'sentinelPassword'];

export type RedisUrlResult = { ok: true; endpoint: RedisEndpoint } | { ok: false; problem: string };

const refuse = (problem: string): RedisUrlResult => ({ ok: false, problem });

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`. */
function parseAddress(text: string): SentinelAddress | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/?#@\s]+))(?::(\d{1,5}))?$/.exec(text);
  if (!match) return null;
  const port = match[3] === undefined ? DEFAULT_SENTINEL_PORT : Number(match[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (match[1] ?? match[2])!, port };
}

function parseSentinelUrl(text: string): RedisUrlResult {
  const rest = text.slice(SENTINEL_SCHEME.length);
  if (!rest.startsWith('//')) return refuse('a Sentinel URL starts with redis+sentinel://');
  const afterSlashes = rest.slice(2);
  const authorityEnd = afterSlashes.search(/[/?#]/);
  const authority = authorityEnd < 0 ? afterSlashes : afterSlashes.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? '' : afterSlashes.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  const userInfo = at < 0 ? null : authority.slice(0, at);
  const hostList = at < 0 ? authority : authority.slice(at + 1);

  const sentinels: SentinelAddress[] = [];
  for (const item of hostList.split(',')) {
    const address = parseAddress(item.trim());
    if (!address) return refuse('names a Sentinel that is not host or host:port');
    sentinels.push(address);
  }

  const queryAt = tail.indexOf('?');
  const path = (queryAt < 0 ? tail : tail.slice(0, queryAt)).replace(/#.*$/, '');
  const query = new URLSearchParams(queryAt < 0 ? '' : tail.slice(queryAt + 1).replace(/#.*$/, ''));
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.length === 0)
    return refuse('needs the master name the Sentinels monitor, as its path (…/mymaster)');
  if (segments.length > 2) return refuse('has a path other than /<master-name> or /<master-name>/<db>');
  const name = decode(segments[0]!);
  if (name === null || name === '') return refuse('has a master name that is not valid');
  let db = 0;
  if (segments[1] !== undefined) {
    if (!/^\d{1,5}$/.test(segments[1])) return refuse('has a database number that is not a whole number');
    db = Number(segments[1]);
  }
  for (const key of query.keys()) {
    if (!SENTINEL_QUERY_KEYS.includes(key)) {
      return refuse(
        `has an unknown parameter ${JSON.stringify(key)} (known: ${SENTINEL_QUERY_KEYS.join(', ')})`,
      );
    }
  }

  let username: string | undefined;
  let password: string | undefined;
  if (userInfo !== null) {
    const colon = userInfo.indexOf(':');
    const user = decode(colon < 0 ? userInfo : userInfo.slice(0, colon));
    const secret = colon < 0 ? '' : decode(userInfo.slice(colon + 1));
    if (user === null || secret === null)
      return refuse('has a user or password that is not valid percent-encoding');
    if (user !== '') username = user;
    if (secret !== '') password = secret;
  }
  const sentinelUsername = query.get('sentinelUsername') ?? undefined;
  const sentinelPassword = query.get('sentinelPassword') ?? undefined;
  return {
    ok: true,
    endpoint: {
      kind: 'sentinel',
      sentinels,
      name,
      db,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
    },
  };
}

export function parseRedisUrl(text: string): RedisUrlResult {
  const trimmed = text.trim();
  if (trimmed.toLowerCase().startsWith(SENTINEL_SCHEME)) return parseSentinelUrl(trimmed);
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return refuse('is not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return refuse('must start with redis://, rediss:// or redis+sentinel://');
  }
  return { ok: true, endpoint: { kind: 'url', url: trimmed } };
}
