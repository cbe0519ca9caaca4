// The targets file's `health` value: what it accepts, what it refuses, and secrets resolved at use;
// and the two-server form (from and to, or one value naming the server) of the volume swap.
import {
  healthSchema,
  sidedHealthSchemaWith,
  toHealthTarget,
  toSideHealthTarget,
  type HealthConfig,
} from '../../../src/config/health-schema';
import { SecretRef } from '../../../src/config/types';

const PASSWORD = 'hunter2-s3cret-pa55';

function messages(input: unknown): string[] {
  const result = healthSchema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('healthSchema', () => {
  it.each<[unknown, HealthConfig]>([
    ['env:DB_HEALTH', { kind: 'secret', ref: new SecretRef('DB_HEALTH') }],
    [{ postgres: 'env:PRIMARY_URL' }, { kind: 'postgres', url: new SecretRef('PRIMARY_URL') }],
    [{ tcp: 'db.internal:5432' }, { kind: 'tcp', host: 'db.internal', port: 5432 }],
    [{ tcp: '127.0.0.1:1' }, { kind: 'tcp', host: '127.0.0.1', port: 1 }],
    [{ tcp: '[::1]:65535' }, { kind: 'tcp', host: '::1', port: 65535 }],
    [{ http: 'http://127.0.0.1:8080/healthz' }, { kind: 'http', url: 'http://127.0.0.1:8080/healthz' }],
    [{ http: 'https://db.example.com/status' }, { kind: 'http', url: 'https://db.example.com/status' }],
  ])('accepts %j', (input, expected) => {
    expect(healthSchema.parse(input)).toEqual(expected);
  });

  it.each<[unknown, RegExp]>([
    [undefined, /is required/],
    [42, /must be env:NAME.*got 42/],
    [['env:X'], /got a list/],
    ['postgres://u@h/db', /env:NAME reference; secrets are never written inline/],
    ['env:1BAD', /env:NAME reference where NAME/],
    [{}, /is empty/],
    [{ tcp: 'a:1', http: 'http://a/' }, /has tcp and http: give exactly one/],
    [{ redis: 'env:X' }, /unknown key "redis"/],
    [{ postgres: 'postgres://u@h/db' }, /^postgres: must be an env:NAME reference/],
    [{ tcp: 'db.internal' }, /^tcp: must be host:port/],
    [{ tcp: 'db.internal:0' }, /^tcp: .*port must be a number from 1 to 65535/],
    [{ tcp: 'db.internal:65536' }, /port must be a number from 1 to 65535/],
    [{ tcp: 'db.internal:54x' }, /port must be a number from 1 to 65535/],
    [{ tcp: ':5432' }, /the host is empty/],
    [{ tcp: 'bad_host!:5432' }, /not a valid host name/],
    [{ tcp: '300.1.1.1:5432' }, /not a valid host name or IPv4/],
    [{ tcp: '::1:5432' }, /IPv6 host in brackets/],
    [{ tcp: 5432 }, /^tcp: must be host:port.*got 5432/],
    [{ http: 'ftp://example.com/' }, /^http: must be an http:\/\/ or https:\/\/ URL/],
    [{ http: 'db.example.com/health' }, /must be an http:\/\/ or https:\/\/ URL/],
    [{ http: 'http://' }, /not a valid http\(s\) URL|without a host/],
  ])('refuses %j', (input, expected) => {
    expect(messages(input).join('\n')).toMatch(expected);
  });

  it('refuses an http URL with credentials without repeating it', () => {
    const text = messages({ http: `https://user:${PASSWORD}@db.example.com/` }).join('\n');
    expect(text).toMatch(/must not contain credentials: write the URL as an env:NAME reference/);
    expect(text).not.toContain(PASSWORD);
  });
});

describe('toHealthTarget', () => {
  const env = {
    PG_URL: `postgres://app:${PASSWORD}@db.internal:5432/app`,
    PGQL_URL: `postgresql://app:${PASSWORD}@db.internal/app`,
    HTTP_URL: 'https://db.example.com/health',
    TCP_ADDR: 'db.internal:6432',
    BAD: `mysql://root:${PASSWORD}@db/x`,
    BAD_PORT: 'db.internal:99999',
    EMPTY: '',
  };
  const secret = (name: string): HealthConfig => healthSchema.parse(`env:${name}`);

  it('resolves env: values by what they hold', () => {
    expect(toHealthTarget(secret('PG_URL'), env)).toEqual({ kind: 'postgres', url: env.PG_URL });
    expect(toHealthTarget(secret('PGQL_URL'), env)).toEqual({ kind: 'postgres', url: env.PGQL_URL });
    expect(toHealthTarget(secret('HTTP_URL'), env)).toEqual({ kind: 'http', url: env.HTTP_URL });
    expect(toHealthTarget(secret('TCP_ADDR'), env)).toEqual({ kind: 'tcp', host: 'db.internal', port: 6432 });
  });

  it('resolves { postgres: env:NAME } and passes tcp and http through', () => {
    expect(toHealthTarget(healthSchema.parse({ postgres: 'env:PG_URL' }), env)).toEqual({
      kind: 'postgres',
      url: env.PG_URL,
    });
    expect(toHealthTarget(healthSchema.parse({ tcp: '10.0.0.5:5432' }), {})).toEqual({
      kind: 'tcp',
      host: '10.0.0.5',
      port: 5432,
    });
    expect(toHealthTarget(healthSchema.parse({ http: 'http://127.0.0.1/x' }), {})).toEqual({
      kind: 'http',
      url: 'http://127.0.0.1/x',
    });
  });

  it('resolves at use, not at parse time', () => {
    const config = secret('LATER_URL');
    expect(() => toHealthTarget(config, {})).toThrow('environment variable LATER_URL is not set');
    expect(toHealthTarget(config, { LATER_URL: 'db:5432' })).toEqual({ kind: 'tcp', host: 'db', port: 5432 });
  });

  it.each<[HealthConfig, RegExp]>([
    [
      healthSchema.parse('env:MISSING'),
      /environment variable MISSING is not set \(referenced as env:MISSING\)/,
    ],
    [healthSchema.parse('env:EMPTY'), /environment variable EMPTY is empty/],
    [
      healthSchema.parse('env:BAD'),
      /BAD .* must hold a postgres:\/\/, postgresql:\/\/, http:\/\/ or https:\/\/ URL/,
    ],
    [healthSchema.parse('env:BAD_PORT'), /BAD_PORT .*port must be a number from 1 to 65535/],
    [
      healthSchema.parse({ postgres: 'env:HTTP_URL' }),
      /HTTP_URL must hold a postgres:\/\/ or postgresql:\/\/ URL/,
    ],
  ])('throws a clear Error for %j, never with the value', (config, expected) => {
    let error: unknown;
    try {
      toHealthTarget(config, env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(expected);
    expect(message).not.toContain(PASSWORD);
    for (const value of Object.values(env)) if (value !== '') expect(message).not.toContain(value);
  });
});

describe('sidedHealthSchemaWith (two servers: from and to)', () => {
  const sided = sidedHealthSchemaWith({ instanceId: 'i-0123456789abcdef0', region: 'eu-west-1' });
  const vars = { instanceId: 'i-0bbbbbbbbbbbbbbbb', region: 'eu-west-1' };

  function refusal(input: unknown): string {
    const result = sided.safeParse(input);
    if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
    return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
  }

  it('takes a value per side, each resolved on its own', () => {
    const config = sided.parse({ from: { postgres: 'env:OLD_URL' }, to: 'env:NEW_URL' });
    expect(config).toEqual({
      kind: 'sides',
      from: { kind: 'postgres', url: new SecretRef('OLD_URL') },
      to: { kind: 'secret', ref: new SecretRef('NEW_URL') },
    });
    const env = { OLD_URL: 'postgres://bot@old.internal/db', NEW_URL: 'postgres://bot@new.internal/db' };
    expect(toSideHealthTarget(config, 'from', env, vars)).toEqual({ kind: 'postgres', url: env.OLD_URL });
    expect(toSideHealthTarget(config, 'to', env, vars)).toEqual({ kind: 'postgres', url: env.NEW_URL });
  });

  it('takes one value that names the server, filled per side', () => {
    const tcp = sided.parse({ tcp: '{instanceId}.{region}.compute.internal:5432' });
    expect(tcp).toEqual({
      kind: 'template',
      health: { kind: 'tcp', host: '{instanceId}.{region}.compute.internal', port: 5432 },
    });
    expect(toSideHealthTarget(tcp, 'to', {}, vars)).toEqual({
      kind: 'tcp',
      host: 'i-0bbbbbbbbbbbbbbbb.eu-west-1.compute.internal',
      port: 5432,
    });
    const http = sided.parse({ http: 'http://{instanceId}.internal:8008/health' });
    expect(toSideHealthTarget(http, 'from', {}, { ...vars, instanceId: 'i-0aaaaaaaaaaaaaaaa' })).toEqual({
      kind: 'http',
      url: 'http://i-0aaaaaaaaaaaaaaaa.internal:8008/health',
    });
  });

  it('fills an env: value that names the server, and refuses one that does not, without its value', () => {
    const config = sided.parse('env:DB_URL');
    const named = { DB_URL: `postgres://bot:${PASSWORD}@{instanceId}.internal/db` };
    expect(toSideHealthTarget(config, 'to', named, vars)).toEqual({
      kind: 'postgres',
      url: `postgres://bot:${PASSWORD}@i-0bbbbbbbbbbbbbbbb.internal/db`,
    });
    const fixed = { DB_URL: `postgres://bot:${PASSWORD}@db.internal/db` };
    expect(() => toSideHealthTarget(config, 'to', fixed, vars)).toThrow(
      /DB_URL .*names one address for both servers/,
    );
    expect(() => toSideHealthTarget(config, 'to', fixed, vars)).not.toThrow(PASSWORD);
  });

  it.each<[unknown, RegExp]>([
    [{ tcp: 'db.internal:5432' }, /^: names one address for both servers/],
    [{ http: 'https://db.example.com/health' }, /names one address for both servers/],
    [
      { tcp: '{nodeId}.internal:5432' },
      /^tcp: has unknown placeholder \{nodeId\}; available here: \{instanceId\}, \{region\}/,
    ],
    [{ from: { tcp: 'a.internal:5432' } }, /needs both from and to/],
    [{ from: { tcp: 'a:1' }, to: { tcp: 'b:1' }, tcp: 'c:1' }, /has "tcp" beside from\/to/],
    [{ from: { tcp: '{instanceId}:1' }, to: { tcp: 'b:1' } }, /^from.tcp: must be host:port/],
    [{ from: 'postgres://u@h/db', to: 'env:X' }, /^from: must be env:NAME/],
  ])('refuses %j', (input, expected) => {
    expect(refusal(input)).toMatch(expected);
  });

  it('leaves the one-server schema without placeholders', () => {
    expect(healthSchema.safeParse({ tcp: '{instanceId}.internal:5432' }).success).toBe(false);
  });
});
