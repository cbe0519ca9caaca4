// Small SQL helpers shared by the store's modules.
import { createHash } from 'node:crypto';

/** Quotes an SQL identifier (schema, database name): `a"b` -> `"a""b"`. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('an SQL identifier cannot be empty');
  if (name.includes('\u0000')) throw new Error('an SQL identifier cannot contain NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** A stable 64-bit advisory-lock key (as a decimal string for a bigint parameter) for a purpose. */
export function advisoryLockKey(purpose: string): string {
  return createHash('sha256').update(purpose).digest().readBigInt64BE(0).toString();
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The constraint a PostgreSQL error names, if any. */
export function sqlConstraint(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'constraint' in error) {
    const constraint = error.constraint;
    if (typeof constraint === 'string') return constraint;
  }
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
