// A broken targets file stops start-up with an error that names the file and the path inside it,
// before anything connects: no database is created, no table written, no job queued.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { ConfigError } from '../../../src/config/errors';
import { boot } from '../../../src/main/boot';
import { registryOf } from '../../../src/strategies/types';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { testDatabaseUrl } from '../../support/services/pg';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-startup-'));
// A database name nobody uses: if start-up wrote anything, this database would exist afterwards.
const untouchedDb = `cutover_never_${randomBytes(4).toString('hex')}`;
const world = new TestWorld(testDatabaseUrl, 'unused_world');
const strategies = registryOf([createTestStrategy(world)]);

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function envFor(configPath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    CUTOVER_CONFIG: configPath,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${untouchedDb}`,
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    LOG_LEVEL: 'silent',
    CUTOVER_LOCAL_CONSOLE: '1',
    ...extra,
  };
}

/** The bot as a process, with exactly `env` (nothing inherited but PATH and HOME). */
function runBot(env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.resolve(__dirname, '../../../src/main/index.ts')],
    {
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: result.status, stderr: result.stderr };
}

async function databaseExists(name: string): Promise<boolean> {
  const client = new Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

const header = 'defaults:\n  channel: C0TEST0001\n  approvers: [U0APPROVER]\ntargets:\n';

const broken: { name: string; yaml: string; env?: Record<string, string>; expected: RegExp }[] = [
  {
    name: 'bad YAML',
    yaml: `${header}  - name: a\n    strategy: [test\n`,
    expected: /line \d+, column \d+: YAML syntax error/,
  },
  {
    name: 'unknown strategy',
    yaml: `${header}  - name: a\n    strategy: blue-green\n`,
    expected: /targets\[0\]\.strategy: unknown strategy "blue-green"/,
  },
  {
    name: 'missing environment variable',
    yaml: `${header}  - name: a\n    strategy: test\n  - name: b\n    strategy: test\n    dsn: env:ORDERS_STANDBY_URL\n`,
    expected: /targets\[1\]\.dsn: environment variable ORDERS_STANDBY_URL is not set/,
  },
  {
    name: 'negative duration',
    yaml: `${header}  - name: a\n    strategy: test\n    approvalTimeout: -5m\n`,
    expected: /targets\[0\]\.approvalTimeout: .*negative/,
  },
];

afterAll(async () => {
  await world.close();
});

test.each(broken)(
  '$name: start-up refuses, names the file and path, writes nothing',
  async ({ yaml, expected, env }) => {
    const file = writeConfig(`${randomBytes(3).toString('hex')}.yaml`, yaml);
    const error = await boot(envFor(file, env), { strategies }).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(file);
    expect(message).toMatch(expected);
    expect(await databaseExists(untouchedDb)).toBe(false);
  },
);

test('the process exits with status 2 and prints the problem on a broken file', () => {
  const file = writeConfig('broken.yaml', `${header}  - name: a\n    strategy: [oops\n`);
  const result = runBot(envFor(file));
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('configuration error, not starting');
  expect(result.stderr).toContain(`${file}: line`);
});

test('without a Slack token and without CUTOVER_LOCAL_CONSOLE the bot refuses to start, saying what to set', async () => {
  const file = writeConfig('no-slack.yaml', `${header}  - name: a\n    strategy: test\n`);
  const { CUTOVER_LOCAL_CONSOLE: _console, ...withoutConsole } = envFor(file);
  const result = runBot({ ...withoutConsole, USER: 'cutover' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('configuration error, not starting');
  expect(result.stderr).toContain(
    'SLACK_BOT_TOKEN: is not set — set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to talk to Slack, or CUTOVER_LOCAL_CONSOLE=1',
  );
  expect(await databaseExists(untouchedDb)).toBe(false);
});

test('a database URL without a user and USER unset: a clear start-up error, not one from inside pg', async () => {
  const file = writeConfig('no-user.yaml', `${header}  - name: a\n    strategy: test\n`);
  const result = runBot(envFor(file, { DATABASE_URL: `postgres://127.0.0.1:5432/${untouchedDb}` }));
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(
    'DATABASE_URL: names no user, and neither PGUSER nor USER is set, so PostgreSQL would be asked for no user',
  );
  expect(result.stderr).not.toContain('startup packet');
  expect(await databaseExists(untouchedDb)).toBe(false);
});

test('a valid file boots the runtime; /healthz reports PostgreSQL, Redis and workers', async () => {
  const file = writeConfig('good.yaml', `${header}  - name: good-db\n    strategy: test\n    settle: 30s\n`);
  const schema = `t_boot_${randomBytes(4).toString('hex')}`;
  const runtime = await boot(envFor(file, { DATABASE_URL: testDatabaseUrl }), {
    strategies,
    runtime: { storeSchema: schema, queueName: `boot-${schema}`, httpPort: 0 },
  });
  try {
    expect(runtime.findTarget('good-db')?.settings).toMatchObject({ settle: 30_000 });
    // The local console, asked for: on loopback only.
    expect(runtime.localConsole).not.toBeNull();
    expect(runtime.http!.server.address()).toMatchObject({ address: '127.0.0.1' });
    const response = await fetch(`http://127.0.0.1:${runtime.http!.port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      checks: { postgres: true, redis: true, workers: true },
    });
  } finally {
    await runtime.close();
    const client = new Client({ connectionString: testDatabaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
});
