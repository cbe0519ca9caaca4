import { z } from 'zod';

import { findMissingSecrets, resolveSecret, secretRefSchema } from '../../../src/config/secrets';
import { SecretRef } from '../../../src/config/types';

describe('secretRefSchema', () => {
  it('turns env:NAME into a SecretRef', () => {
    const ref = secretRefSchema.parse('env:ORDERS_PRIMARY_URL');
    expect(ref).toBeInstanceOf(SecretRef);
    expect(ref.envName).toBe('ORDERS_PRIMARY_URL');
    expect(String(ref)).toBe('env:ORDERS_PRIMARY_URL');
  });

  it.each(['postgres://u:hunter2@db/orders', 'hunter2', 'ENV:X', 42])(
    'refuses %j without repeating it',
    (value) => {
      const result = secretRefSchema.safeParse(value);
      expect(result.error?.issues.map((issue) => issue.message)).toEqual([
        'must be an env:NAME reference; secrets are never written inline in the targets file',
      ]);
      expect(JSON.stringify(result.error?.issues)).not.toContain('hunter2');
    },
  );

  it.each(['env:', 'env:1ABC', 'env:A-B', 'env: A'])('refuses the malformed reference %j', (value) => {
    expect(secretRefSchema.safeParse(value).error?.issues[0]?.message).toMatch(
      /^must be an env:NAME reference where NAME/,
    );
  });
});

describe('resolveSecret', () => {
  const ref = new SecretRef('DB_URL');

  it('returns the value', () => {
    expect(resolveSecret(ref, { DB_URL: 'postgres://x' })).toBe('postgres://x');
  });

  it('throws a clear Error when unset or empty', () => {
    expect(() => resolveSecret(ref, {})).toThrow(
      'environment variable DB_URL is not set (referenced as env:DB_URL)',
    );
    expect(() => resolveSecret(ref, { DB_URL: '' })).toThrow('environment variable DB_URL is empty');
  });
});

describe('findMissingSecrets', () => {
  it('walks objects and arrays and reports unset or empty variables with their paths', () => {
    const value = {
      targets: [
        { postgres: { primary: new SecretRef('A'), standby: new SecretRef('B') } },
        {
          postgres: { primary: new SecretRef('C'), standby: new SecretRef('D') },
          hooks: [new SecretRef('E')],
        },
      ],
      'odd.key': new SecretRef('F'),
    };
    expect(findMissingSecrets(value, { A: 'a', B: 'b', C: 'c', D: '' })).toEqual([
      { path: 'targets[1].postgres.standby', envName: 'D' },
      { path: 'targets[1].hooks[0]', envName: 'E' },
      { path: '["odd.key"]', envName: 'F' },
    ]);
  });

  it('prefixes a base path and handles a bare SecretRef', () => {
    expect(findMissingSecrets({ x: new SecretRef('X') }, {}, 'targets[3]')).toEqual([
      { path: 'targets[3].x', envName: 'X' },
    ]);
    expect(findMissingSecrets(new SecretRef('X'), {})).toEqual([{ path: '', envName: 'X' }]);
  });

  it('works on schema output', () => {
    const schema = z.object({ urls: z.array(secretRefSchema) });
    expect(findMissingSecrets(schema.parse({ urls: ['env:A', 'env:B'] }), { A: '1' })).toEqual([
      { path: 'urls[1]', envName: 'B' },
    ]);
  });
});
