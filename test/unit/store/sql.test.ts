// The store's statement batching: parameters renumbered, quoted names and literals left alone.
import { asOneStatement } from '../../../src/adapters/store/sql';

describe('asOneStatement', () => {
  it('leaves a single statement as it is', () => {
    const only = { text: 'UPDATE t SET a = $1 WHERE id = $2', values: [1, 2] };
    expect(asOneStatement([only])).toBe(only);
  });

  it('renumbers each statement’s parameters after the ones before it', () => {
    expect(
      asOneStatement([
        { text: 'UPDATE "s"."runs" SET a = $2 WHERE id = $1', values: ['r', 'a'] },
        { text: 'UPDATE "s"."steps" SET b = $3 WHERE run_id = $1 AND idx = $2', values: ['r', 0, 'b'] },
        {
          text: 'INSERT INTO "s"."audit" (x, y) VALUES ($1, COALESCE($2::timestamptz, now()))',
          values: ['x', null],
        },
      ]),
    ).toEqual({
      text:
        'WITH w0 AS (UPDATE "s"."runs" SET a = $2 WHERE id = $1),\n' +
        'w1 AS (UPDATE "s"."steps" SET b = $5 WHERE run_id = $3 AND idx = $4),\n' +
        'w2 AS (INSERT INTO "s"."audit" (x, y) VALUES ($6, COALESCE($7::timestamptz, now())))\n' +
        'SELECT 1',
      values: ['r', 'a', 'r', 0, 'b', 'x', null],
    });
  });

  it('does not touch $n inside a quoted identifier or a string literal', () => {
    const batched = asOneStatement([
      { text: 'UPDATE "a$1"."t" SET v = $1', values: [1] },
      { text: `UPDATE "we""ird$2".t SET v = $1, w = 'cost $1 '' $2'`, values: [2] },
    ]);
    expect(batched.text).toBe(
      'WITH w0 AS (UPDATE "a$1"."t" SET v = $1),\n' +
        `w1 AS (UPDATE "we""ird$2".t SET v = $2, w = 'cost $1 '' $2')\n` +
        'SELECT 1',
    );
    expect(batched.values).toEqual([1, 2]);
  });

  it('refuses an empty batch', () => {
    expect(() => asOneStatement([])).toThrow(/no statement/);
  });
});
