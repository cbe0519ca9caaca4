import fc from 'fast-check';

import { closestNames, editDistance, orList, typoCutoff } from '../../../commands/grammar/suggest';

const SUBCOMMANDS = ['help', 'targets', 'plan', 'start', 'schedule', 'status', 'list', 'abort'];
const TARGETS = [
  'orders-db',
  'orders-db-replica',
  'billing-db',
  'users-db',
  'kafka-main',
  'nats',
  'sessions-redis',
];

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['start', 'start', 0],
    ['strat', 'start', 1], // transposition
    ['stat', 'start', 1], // insertion
    ['starts', 'start', 1], // deletion
    ['stort', 'start', 1], // substitution
    ['sttaus', 'status', 1],
    ['ca', 'abc', 3], // optimal string alignment: no edit of an already transposed pair
    ['kitten', 'sitting', 3],
    ['🚀a', 'a🚀', 1], // code points, not UTF-16 units
  ])('%j -> %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });

  it('is a symmetric premetric bounded by the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(editDistance(b, a)).toBe(d);
        expect(d === 0).toBe(a === b);
        expect(d).toBeGreaterThanOrEqual(Math.abs(Array.from(a).length - Array.from(b).length));
        expect(d).toBeLessThanOrEqual(Math.max(Array.from(a).length, Array.from(b).length));
      }),
    );
  });
});

describe('typoCutoff', () => {
  it('allows a third of the longer name, at least one edit', () => {
    expect(typoCutoff('a', 'b')).toBe(1);
    expect(typoCutoff('list', 'lsit')).toBe(1);
    expect(typoCutoff('sttaus', 'status')).toBe(2);
    expect(typoCutoff('orders-db', 'ordres-db')).toBe(3);
  });
});

describe('closestNames', () => {
  it.each<[string, readonly string[], number | undefined, string[]]>([
    // typos
    ['strat', SUBCOMMANDS, undefined, ['start']],
    ['lsit', SUBCOMMANDS, undefined, ['list']],
    ['abrot', SUBCOMMANDS, undefined, ['abort']],
    ['shcedule', SUBCOMMANDS, undefined, ['schedule']],
    ['halp', SUBCOMMANDS, undefined, ['help']],
    ['stat', SUBCOMMANDS, undefined, ['status', 'start']], // a prefix of status, one edit from start
    ['STRAT', SUBCOMMANDS, undefined, ['start']],
    // prefixes rank first: a shorter completion before a longer one
    ['st', SUBCOMMANDS, undefined, ['start', 'status']],
    ['sched', SUBCOMMANDS, undefined, ['schedule']],
    ['orders', TARGETS, undefined, ['orders-db', 'orders-db-replica']],
    // then substrings (the word inside a name, or a name at the start of the word)
    ['db', TARGETS, undefined, []], // two letters: too short for a substring match
    ['redis', TARGETS, undefined, ['sessions-redis']],
    ['billing-db-2', TARGETS, undefined, ['billing-db']],
    ['-db', TARGETS, 5, ['users-db', 'orders-db', 'billing-db', 'orders-db-replica']],
    // typos of target names
    ['ordres-db', TARGETS, undefined, ['orders-db']],
    ['order-db', TARGETS, undefined, ['orders-db']],
    ['kafak-main', TARGETS, undefined, ['kafka-main']],
    // nothing close
    ['promote', SUBCOMMANDS, undefined, []],
    ['x', SUBCOMMANDS, undefined, []],
    ['', SUBCOMMANDS, undefined, []],
    ['   ', SUBCOMMANDS, undefined, []],
    ['start', [], undefined, []],
    // exact (case-insensitive) match first; names come back as given, duplicates once
    ['Start', ['status', 'start', 'Start', 'start', 'starts'], undefined, ['Start', 'start', 'starts']],
    // max
    ['s', ['sa', 'sb', 'sc', 'sd'], undefined, ['sa', 'sb', 'sc']],
    ['s', ['sa', 'sb', 'sc', 'sd'], 1, ['sa']],
    ['s', ['sa', 'sb'], 0, []],
    ['s', ['sa', 'sb'], -1, []],
  ])('%j in %j (max %p) -> %j', (word, candidates, max, expected) => {
    expect(closestNames(word, candidates, max)).toEqual(expected);
  });

  it('ranks prefix matches before closer typo matches', () => {
    // "plan" is one edit from "pla"; "plan-b" and "planner" start with it and still come first.
    expect(closestNames('pla', ['plo', 'planner', 'plan-b'])).toEqual(['plan-b', 'planner', 'plo']);
  });

  it('only returns candidates, at most max, each once', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 10 }),
        fc.array(fc.string({ maxLength: 10 }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 5 }),
        (word, candidates, max) => {
          const names = closestNames(word, candidates, max);
          expect(names.length).toBeLessThanOrEqual(max);
          expect(new Set(names).size).toBe(names.length);
          for (const name of names) expect(candidates).toContain(name);
        },
      ),
    );
  });

  it('always finds a candidate one typo away from a name of 3+ characters', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z-]{2,20}$/),
        fc.nat(),
        fc.constantFrom('a', 'z', '-'),
        (name, at, c) => {
          const i = at % name.length;
          const typo = name.slice(0, i) + c + name.slice(i + 1);
          expect(closestNames(typo, ['zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', name], 3)).toContain(name);
        },
      ),
    );
  });

  it('stays fast on a long pasted word', () => {
    const started = Date.now();
    expect(closestNames('x'.repeat(100_000), TARGETS)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('orList', () => {
  it.each([
    [[], ''],
    [['a'], 'a'],
    [['a', 'b'], 'a or b'],
    [['a', 'b', 'c'], 'a, b or c'],
  ])('%j -> %j', (names, text) => {
    expect(orList(names)).toBe(text);
  });
});
