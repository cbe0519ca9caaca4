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

describe('readEnv', () => {
  it('applies the defaults: local console mode', () => {
    expect(readEnv({})).toEqual({
      slack: null,
      databaseUrl: 'postgres://localhost:5432/cutover',
      redisUrl: 'redis://127.0.0.1:6379',
      configPath: resolve(process.cwd(), 'cutover.yaml'),
      port: 3000,
      role: 'all',
      logLevel: 'info',
    });
  });

  it('treats empty variables as unset', () => {
    expect(readEnv({ PORT: '', SLACK_BOT_TOKEN: '', ROLE: ' ' })).toMatchObject({
      port: 3000,
      slack: null,
      role: 'all',
    });
  });

  it('reads Slack mode and every other variable', () => {
    const config = readEnv({
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
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.slack)).toBe(true);
  });

  it('resolves a relative CUTOVER_CONFIG against the working directory', () => {
    expect(readEnv({ CUTOVER_CONFIG: 'conf/targets.yaml' }).configPath).toBe(
      resolve(process.cwd(), 'conf/targets.yaml'),
    );
  });

  it('requires the signing secret in Slack mode', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      "SLACK_SIGNING_SECRET: is not set but SLACK_BOT_TOKEN is — copy the Signing Secret from the Slack app's Basic Information page, or unset SLACK_BOT_TOKEN to run the local console",
    ]);
  });

  it('refuses Slack settings without a bot token rather than silently running the console', () => {
    expect(problemsOf({ SLACK_SIGNING_SECRET: 'shh', SLACK_APP_TOKEN: 'xapp-1' })).toEqual([
      'SLACK_BOT_TOKEN: is not set but SLACK_SIGNING_SECRET and SLACK_APP_TOKEN are — set SLACK_BOT_TOKEN for Slack mode, or unset SLACK_SIGNING_SECRET and SLACK_APP_TOKEN to run the local console',
    ]);
  });

  it.each(['0', '65536', 'abc', '80.5', '-1'])('refuses PORT=%j', (port) => {
    expect(problemsOf({ PORT: port })).toEqual([
      `PORT: must be a whole number from 1 to 65535, got ${JSON.stringify(port)} — set it to the HTTP port to listen on, or unset it for 3000`,
    ]);
  });

  it('refuses a bad ROLE', () => {
    expect(problemsOf({ ROLE: 'both' })).toEqual([
      'ROLE: must be one of all, web, worker, got "both" — use all (default), web (Slack + HTTP only) or worker (jobs only)',
    ]);
  });

  it('lists every problem, without repeating URLs that may hold passwords', () => {
    const problems = problemsOf({
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
