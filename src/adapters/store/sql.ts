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

/** A parameterized statement ($1, $2, ... in `text`). */
export interface Statement {
  text: string;
  values: unknown[];
}

/** A quoted identifier, a string literal, or a parameter reference (only the last is renumbered). */
const TOKEN = /("(?:[^"]|"")*")|('(?:[^']|'')*')|\$(\d+)/g;

/**
 * Several writes as one statement, each a data-modifying WITH query: one round trip instead of one
 * each. They run on one snapshot and none sees another's changes, so each must change rows of its
 * own. No dollar-quoted text in them: only quoted identifiers and literals are skipped.
 */
export function asOneStatement(statements: readonly Statement[]): Statement {
  if (statements.length === 1 && statements[0]) return statements[0];
  if (statements.length === 0) throw new Error('no statement to run');
  const values: unknown[] = [];
  const queries = statements.map((statement, i) => {
    const shift = values.length;
    values.push(...statement.values);
    const text = statement.text.replace(TOKEN, (token, _ident, _literal, n: string | undefined) =>
      n === undefined ? token : `$${Number(n) + shift}`,
    );
    return `w${i} AS (${text})`;
  });
  return { text: `WITH ${queries.join(',\n')}\nSELECT 1`, values };
}
