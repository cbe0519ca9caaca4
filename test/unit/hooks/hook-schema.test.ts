import { DEFAULT_HOOK_TIMEOUT_MS, hookSchema, toHookCommand } from '../../../src/config/hook-schema';
import { SecretRef } from '../../../src/config/types';

const SHELL_LINE = 'command is an argv array, not a shell line: write ["./script.sh", "arg"]';

function problems(input: unknown): { path: string; message: string }[] {
  const result = hookSchema.safeParse(input);
  return (result.error?.issues ?? []).map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

describe('hookSchema', () => {
  it('accepts an argv array and defaults the timeout to 5 minutes', () => {
    expect(hookSchema.parse({ command: ['./scripts/repoint.sh', '{standby.host}'] })).toEqual({
      command: ['./scripts/repoint.sh', '{standby.host}'],
      timeoutMs: 5 * 60_000,
    });
    expect(DEFAULT_HOOK_TIMEOUT_MS).toBe(300_000);
  });

  it('accepts a single program, a timeout, env and cwd', () => {
    const parsed = hookSchema.parse({
      command: ['./stop-db.sh'],
      timeout: '30s',
      env: { PGPASSWORD: 'env:ORDERS_PG_PASSWORD', MODE: 'fast', PGPORT: '5432' },
      cwd: '/srv/hooks',
    });
    expect(parsed).toEqual({
      command: ['./stop-db.sh'],
      timeoutMs: 30_000,
      env: { PGPASSWORD: new SecretRef('ORDERS_PG_PASSWORD'), MODE: 'fast', PGPORT: '5432' },
      cwd: '/srv/hooks',
    });
    expect(parsed.env?.PGPASSWORD).toBeInstanceOf(SecretRef);
  });

  it('allows an explicit shell as argv: the operator chose it', () => {
    expect(hookSchema.parse({ command: ['sh', '-c', 'pg_ctl stop; echo done | tee log'] }).command).toEqual([
      'sh',
      '-c',
      'pg_ctl stop; echo done | tee log',
    ]);
  });

  it.each([
    ['./repoint.sh 10.0.0.5'],
    ['pg_ctl stop;rm -rf x'],
    ['a|b'],
    ['a&&b'],
    ['echo $HOME'],
    ['$(reboot)'],
    ['x>out'],
    ['`id`'],
  ])('refuses the shell line %j in a single-element command', (line) => {
    expect(problems({ command: [line] })).toEqual([{ path: 'command', message: SHELL_LINE }]);
  });

  it('refuses a command written as a string, with the same advice', () => {
    expect(problems({ command: './repoint.sh 10.0.0.5' })).toEqual([
      { path: 'command', message: SHELL_LINE },
    ]);
  });

  it('refuses an empty argv and an empty program', () => {
    expect(problems({ command: [] })).toEqual([
      {
        path: 'command',
        message: 'must not be empty: list the program and its arguments, such as ["./script.sh", "arg"]',
      },
    ]);
    expect(problems({ command: ['', 'x'] })).toEqual([
      { path: 'command.0', message: 'the program (first element) must not be empty' },
    ]);
  });

  it('refuses a missing command, non-string arguments and unknown keys', () => {
    expect(problems({})).toEqual([{ path: 'command', message: 'is required' }]);
    expect(problems({ command: ['./x.sh', 5432] })).toEqual([
      { path: 'command.1', message: 'must be a string (quote numbers: "5432"), got 5432' },
    ]);
    expect(problems({ command: ['./x.sh'], shell: true })).toEqual([
      { path: '', message: 'Unrecognized key: "shell"' },
    ]);
    expect(problems({ command: ['./x.sh'], timeout: '0s' })[0]?.message).toBe(
      'must be longer than zero, got "0s"',
    );
  });

  it.each([
    ['PGPASSWORD', 'hunter2', 'its name says it holds a credential'],
    ['SLACK_BOT_TOKEN', 'abcdef', 'its name says it holds a credential'],
    ['AWS_SECRET_ACCESS_KEY', 'abc/def', 'its name says it holds a credential'],
    ['DSN', 'postgres://app:hunter2@db/orders', 'the value looks like a URL with a password'],
    ['CONNINFO', 'host=db password=hunter2', 'the value looks like a connection string with a password'],
    ['HOOK_ARG', 'xoxb-123-456-hunter2', 'the value looks like an API token'],
  ])('refuses an inline secret in env %s, without repeating it', (name, value, reason) => {
    const found = problems({ command: ['./x.sh'], env: { [name]: value } });
    expect(found).toEqual([
      {
        path: `env.${name}`,
        message: `looks like a secret (${reason}): write an env:NAME reference such as env:${name} and set that variable in the bot's environment; secrets are never written inline in the targets file`,
      },
    ]);
    expect(JSON.stringify(found)).not.toContain('hunter2');
  });

  it('accepts the same values as env:NAME references', () => {
    const parsed = hookSchema.parse({
      command: ['./x.sh'],
      env: { PGPASSWORD: 'env:PGPASSWORD', DSN: 'env:ORDERS_DSN' },
    });
    expect(parsed.env).toEqual({ PGPASSWORD: new SecretRef('PGPASSWORD'), DSN: new SecretRef('ORDERS_DSN') });
  });

  it('refuses malformed references, bad names and non-string values', () => {
    expect(problems({ command: ['./x.sh'], env: { A: 'env:1BAD' } })[0]).toEqual({
      path: 'env.A',
      message: expect.stringMatching(/^must be an env:NAME reference where NAME/),
    });
    expect(problems({ command: ['./x.sh'], env: { 'BAD-NAME': 'x' } })).toEqual([
      {
        path: 'env.BAD-NAME',
        message:
          'is not a valid environment variable name (letters, digits and _, not starting with a digit)',
      },
    ]);
    expect(problems({ command: ['./x.sh'], env: { PGPORT: 5432 } })).toEqual([
      { path: 'env.PGPORT', message: 'must be a string (quote numbers: "5432") or an env:NAME reference' },
    ]);
    expect(problems({ command: ['./x.sh'], cwd: '' })[0]?.path).toBe('cwd');
  });
});

describe('toHookCommand', () => {
  const config = hookSchema.parse({
    command: ['./repoint.sh', '{standby.host}'],
    timeout: '2m',
    env: { PGPASSWORD: 'env:ORDERS_PG_PASSWORD', API_URL: 'env:API_URL', MODE: 'fast' },
    cwd: '/srv/hooks',
  });

  it('resolves references at use time and lists the resolved values as secrets', () => {
    const { hook, secrets } = toHookCommand(config, {
      ORDERS_PG_PASSWORD: 'hunter2',
      API_URL: 'https://bot:s3cr3t@api.internal',
    });
    expect(hook).toEqual({
      command: ['./repoint.sh', '{standby.host}'],
      timeoutMs: 120_000,
      env: { PGPASSWORD: 'hunter2', API_URL: 'https://bot:s3cr3t@api.internal', MODE: 'fast' },
      cwd: '/srv/hooks',
    });
    expect(secrets).toEqual(['hunter2', 'https://bot:s3cr3t@api.internal']);
  });

  it('names the variable when a reference cannot be resolved', () => {
    expect(() => toHookCommand(config, { API_URL: 'x' })).toThrow(
      'hook environment variable PGPASSWORD: environment variable ORDERS_PG_PASSWORD is not set (referenced as env:ORDERS_PG_PASSWORD)',
    );
  });

  it('leaves env and cwd out when the config has none', () => {
    expect(toHookCommand(hookSchema.parse({ command: ['./x.sh'] }), {})).toEqual({
      hook: { command: ['./x.sh'], timeoutMs: 300_000 },
      secrets: [],
    });
  });
});
