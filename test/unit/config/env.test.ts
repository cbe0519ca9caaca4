import { resolve } from 'node:path';

import { ConfigError, readEnv } from '../../../src/config/env';

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    readEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

/** What a shell usually has, and the local console asked for. */
const CONSOLE = { USER: 'dana', CUTOVER_LOCAL_CONSOLE: '1' };

describe('readEnv', () => {
  it('applies the defaults: local console mode, when asked for', () => {
    expect(readEnv(CONSOLE)).toEqual({
      slack: null,
      localConsole: true,
      databaseUrl: 'postgres://localhost:5432/cutover',
      redisUrl: 'redis://127.0.0.1:6379',
      configPath: resolve(process.cwd(), 'cutover.yaml'),
      port: 3000,
      role: 'all',
      logLevel: 'info',
      metrics: { token: null, listen: null },
    });
  });

  it('treats empty variables as unset', () => {
    expect(readEnv({ ...CONSOLE, PORT: '', SLACK_BOT_TOKEN: '', ROLE: ' ' })).toMatchObject({
      port: 3000,
      slack: null,
      role: 'all',
    });
  });

  it('refuses to start without Slack settings unless the local console is asked for, saying what to set', () => {
    for (const env of [{ USER: 'dana' }, { USER: 'dana', CUTOVER_LOCAL_CONSOLE: '0' }]) {
      expect(problemsOf(env)).toEqual([
        'SLACK_BOT_TOKEN: is not set — set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to talk to Slack, or CUTOVER_LOCAL_CONSOLE=1 to run the local console on this machine instead (loopback only, no Slack)',
      ]);
    }
    expect(readEnv({ ...CONSOLE, CUTOVER_LOCAL_CONSOLE: 'TRUE' }).localConsole).toBe(true);
  });

  it('refuses the local console next to Slack settings, with another ROLE, or spelled otherwise', () => {
    expect(problemsOf({ ...CONSOLE, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'shh' })).toEqual([
      'CUTOVER_LOCAL_CONSOLE: is on but SLACK_BOT_TOKEN is set — unset CUTOVER_LOCAL_CONSOLE to talk to Slack, or SLACK_BOT_TOKEN to run the local console',
    ]);
    expect(problemsOf({ ...CONSOLE, ROLE: 'worker' })).toEqual([
      'CUTOVER_LOCAL_CONSOLE: the local console runs with ROLE=all only, and ROLE is worker — unset ROLE, or set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET',
    ]);
    expect(problemsOf({ ...CONSOLE, CUTOVER_LOCAL_CONSOLE: 'yes' })).toEqual([
      expect.stringMatching(/^CUTOVER_LOCAL_CONSOLE: must be one of 1, 0, true, false, got "yes"/),
      expect.stringMatching(/^SLACK_BOT_TOKEN: is not set/),
    ]);
  });

  it('refuses a database URL without a user when neither PGUSER nor USER names one', () => {
    expect(problemsOf({ CUTOVER_LOCAL_CONSOLE: '1' })).toEqual([
      'DATABASE_URL: is not set, and its default (postgres://localhost:5432/cutover) names no user, and neither PGUSER nor USER is set, so PostgreSQL would be asked for no user — put the user in the URL (postgres://cutover@host:5432/cutover) or set PGUSER',
    ]);
    expect(
      problemsOf({ CUTOVER_LOCAL_CONSOLE: '1', DATABASE_URL: 'postgres://db:5432/cutover', USER: ' ' }),
    ).toEqual([expect.stringMatching(/^DATABASE_URL: names no user, and neither PGUSER nor USER is set/)]);
    for (const env of [
      { DATABASE_URL: 'postgres://bot@db/cutover' },
      { DATABASE_URL: 'postgres://db/cutover?user=bot' },
      { PGUSER: 'bot' },
      { USER: 'bot' },
    ]) {
      expect(readEnv({ CUTOVER_LOCAL_CONSOLE: '1', ...env }).localConsole).toBe(true);
    }
  });

  it('reads the /metrics protection', () => {
    expect(
      readEnv({ ...CONSOLE, METRICS_TOKEN: 'a-long-enough-token', METRICS_LISTEN: '[::1]:9464' }).metrics,
    ).toEqual({ token: 'a-long-enough-token', listen: { host: '::1', port: 9464 } });
    expect(readEnv({ ...CONSOLE, METRICS_LISTEN: '0.0.0.0:9464' }).metrics?.listen).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(problemsOf({ ...CONSOLE, METRICS_TOKEN: 'short', METRICS_LISTEN: '9464' })).toEqual([
      'METRICS_TOKEN: must be at least 16 characters — a token that short is guessed; unset it for no token',
      'METRICS_LISTEN: must be host:port such as 127.0.0.1:9464 or [::1]:9464, got "9464" — or unset it to serve /metrics on PORT',
    ]);
  });

  it('takes Redis Sentinel URLs and says what is wrong with a bad one, never repeating it', () => {
    expect(readEnv({ ...CONSOLE, REDIS_URL: 'redis+sentinel://s1:26379,s2/mymaster' }).redisUrl).toBe(
      'redis+sentinel://s1:26379,s2/mymaster',
    );
    const problems = problemsOf({ ...CONSOLE, REDIS_URL: 'redis+sentinel://:hunter2@s1:26379' });
    expect(problems).toEqual([
      expect.stringMatching(/^REDIS_URL: needs the master name the Sentinels monitor, as its path/),
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('reads Slack mode and every other variable', () => {
    const config = readEnv({
      USER: 'dana',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'shh',
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_API_URL: 'http://127.0.0.1:9000/api/',
      DATABASE_URL: 'postgresql://bot:pw@db:5432/cutover',
      REDIS_URL: 'rediss://cache:6380',
      CUTOVER_CONFIG: '/etc/cutover.yaml',
      PORT: '8080',
      ROLE: 'Worker',
      LOG_LEVEL: 'DEBUG',
      UNRELATED: 'ignored',
    });
    expect(config).toEqual({
      slack: {
        botToken: 'xoxb-1',
        signingSecret: 'shh',
        appToken: 'xapp-1',
        apiUrl: 'http://127.0.0.1:9000/api/',
      },
      databaseUrl: 'postgresql://bot:pw@db:5432/cutover',
      redisUrl: 'rediss://cache:6380',
      configPath: '/etc/cutover.yaml',
      port: 8080,
      role: 'worker',
      logLevel: 'debug',
      localConsole: false,
      metrics: { token: null, listen: null },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.slack)).toBe(true);
  });

  it('resolves a relative CUTOVER_CONFIG against the working directory', () => {
    expect(readEnv({ ...CONSOLE, CUTOVER_CONFIG: 'conf/targets.yaml' }).configPath).toBe(
      resolve(process.cwd(), 'conf/targets.yaml'),
    );
  });

  it('requires the signing secret in Slack mode', () => {
    expect(problemsOf({ USER: 'dana', SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      "SLACK_SIGNING_SECRET: is not set but SLACK_BOT_TOKEN is — copy the Signing Secret from the Slack app's Basic Information page, or unset SLACK_BOT_TOKEN and set CUTOVER_LOCAL_CONSOLE=1 to run the local console",
    ]);
  });

  it('refuses Slack settings without a bot token rather than silently running the console', () => {
    expect(problemsOf({ ...CONSOLE, SLACK_SIGNING_SECRET: 'shh', SLACK_APP_TOKEN: 'xapp-1' })).toEqual([
      'SLACK_BOT_TOKEN: is not set but SLACK_SIGNING_SECRET and SLACK_APP_TOKEN are — set SLACK_BOT_TOKEN for Slack mode, or unset SLACK_SIGNING_SECRET and SLACK_APP_TOKEN and set CUTOVER_LOCAL_CONSOLE=1 to run the local console',
    ]);
  });

  it.each(['0', '65536', 'abc', '80.5', '-1'])('refuses PORT=%j', (port) => {
    expect(problemsOf({ ...CONSOLE, PORT: port })).toEqual([
      `PORT: must be a whole number from 1 to 65535, got ${JSON.stringify(port)} — set it to the HTTP port to listen on, or unset it for 3000`,
    ]);
  });

  it('refuses a bad ROLE', () => {
    expect(
      problemsOf({ USER: 'dana', SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 'y', ROLE: 'both' }),
    ).toEqual([
      'ROLE: must be one of all, web, worker, got "both" — use all (default), web (Slack + HTTP only) or worker (jobs only)',
    ]);
  });

  it('lists every problem, without repeating URLs that may hold passwords', () => {
    const problems = problemsOf({
      USER: 'dana',
      DATABASE_URL: 'mysql://bot:hunter2@db/cutover',
      REDIS_URL: 'not a url',
      SLACK_API_URL: 'slack.example',
      LOG_LEVEL: 'loud',
      PORT: '99999',
      SLACK_BOT_TOKEN: 'xoxb-1',
    });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual([
      'SLACK_API_URL',
      'DATABASE_URL',
      'REDIS_URL',
      'PORT',
      'LOG_LEVEL',
      'SLACK_SIGNING_SECRET',
    ]);
    expect(problems.every((problem) => problem.includes(' — '))).toBe(true);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
