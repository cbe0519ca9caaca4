// Secrets appear in the targets file only as `env:NAME` references, resolved from the environment
// when used, so the file can be committed and reviewed without leaking credentials.
import { z } from 'zod';

import { isPlainObject } from './freeze';
import { joinPath } from './paths';
import { SecretRef } from './types';

const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
const INLINE_REFUSED = 'must be an env:NAME reference; secrets are never written inline in the targets file';

// Messages never repeat the value: if it is refused it may well be the secret itself.
export const secretRefSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : INLINE_REFUSED) })
  .transform((text, ctx) => {
    const match = ENV_REFERENCE.exec(text);
    if (match?.[1] !== undefined) return new SecretRef(match[1]);
    ctx.addIssue({
      code: 'custom',
      message: text.startsWith('env:')
        ? `must be an env:NAME reference where NAME is letters, digits and _ and does not start with a digit, got ${JSON.stringify(text)}`
        : INLINE_REFUSED,
    });
    return z.NEVER;
  });

export function isSecretSet(ref: SecretRef, env: NodeJS.ProcessEnv): boolean {
  const value = env[ref.envName];
  return value !== undefined && value !== '';
}

export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv): string {
  const value = env[ref.envName];
  if (value === undefined || value === '') {
    throw new Error(
      `environment variable ${ref.envName} is ${value === undefined ? 'not set' : 'empty'} (referenced as ${ref.toString()})`,
    );
  }
  return value;
}

/** Every SecretRef inside `value` (plain objects and arrays, walked recursively), with its path. */
export function findSecretRefs(value: unknown, basePath = ''): { path: string; ref: SecretRef }[] {
  const found: { path: string; ref: SecretRef }[] = [];
  const seen = new Set<object>(); // a parsed tree has no cycles, but a hand-built value might
  const walk = (node: unknown, path: string): void => {
    if (node instanceof SecretRef) {
      found.push({ path, ref: node });
      return;
    }
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) node.forEach((item, index) => walk(item, joinPath(path, index)));
    else if (isPlainObject(node))
      for (const [key, child] of Object.entries(node)) walk(child, joinPath(path, key));
  };
  walk(value, basePath);
  return found;
}

/**
 * Every SecretRef inside `value` whose variable is unset or empty, with its path
 * (`targets[1].postgres.standby`, prefixed by `basePath`).
 */
export function findMissingSecrets(
  value: unknown,
  env: NodeJS.ProcessEnv,
  basePath = '',
): { path: string; envName: string }[] {
  return findSecretRefs(value, basePath)
    .filter(({ ref }) => !isSecretSet(ref, env))
    .map(({ path, ref }) => ({ path, envName: ref.envName }));
}

/** The values of every secret `value` refers to that is set: what must never appear in output. */
export function secretValues(value: unknown, env: NodeJS.ProcessEnv): string[] {
  return findSecretRefs(value)
    .filter(({ ref }) => isSecretSet(ref, env))
    .map(({ ref }) => resolveSecret(ref, env));
}
