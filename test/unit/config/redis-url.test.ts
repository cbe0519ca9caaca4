// REDIS_URL forms: a plain Redis URL, or Sentinels naming the primary (redis+sentinel://).
import { parseRedisUrl } from '../../../src/config/redis-url';

describe('parseRedisUrl', () => {
  it.each(['redis://127.0.0.1:6379', 'rediss://cache.internal:6380/2', 'redis://:pw@h:1/0'])(
    'keeps %s as a plain URL',
    (url) => {
      expect(parseRedisUrl(url)).toEqual({ ok: true, endpoint: { kind: 'url', url } });
    },
  );

  it('reads the Sentinels, the master name, the database and both credentials', () => {
    expect(
      parseRedisUrl(
        'redis+sentinel://app:p%40ss@s1.internal:26380,[::1],10.0.0.3:5000/orders-cache/3?sentinelPassword=sp&sentinelUsername=su',
      ),
    ).toEqual({
      ok: true,
      endpoint: {
        kind: 'sentinel',
        sentinels: [
          { host: 's1.internal', port: 26380 },
          { host: '::1', port: 26379 },
          { host: '10.0.0.3', port: 5000 },
        ],
        name: 'orders-cache',
        db: 3,
        username: 'app',
        password: 'p@ss',
        sentinelUsername: 'su',
        sentinelPassword: 'sp',
      },
    });
    expect(parseRedisUrl('REDIS+SENTINEL://:secret@s1/mymaster')).toEqual({
      ok: true,
      endpoint: {
        kind: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'mymaster',
        db: 0,
        password: 'secret',
      },
    });
  });

  it.each([
    ['redis+sentinel://s1:26379', /needs the master name/],
    ['redis+sentinel://s1:26379/m/1/2', /a path other than/],
    ['redis+sentinel://s1:26379/m/x', /database number/],
    ['redis+sentinel://s1:99999/m', /not host or host:port/],
    ['redis+sentinel://s1,,s2/m', /not host or host:port/],
    ['redis+sentinel://s1/m?tls=1', /unknown parameter "tls"/],
    ['redis+sentinel:s1/m', /starts with redis\+sentinel:\/\//],
    ['http://cache:6379', /must start with redis:\/\//],
    ['cache:6379', /must start with redis:\/\/|is not a URL/],
  ])('refuses %s', (url, problem) => {
    const parsed = parseRedisUrl(url);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});
