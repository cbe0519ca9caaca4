import fc from 'fast-check';

import {
  durationOrZeroSchema,
  durationSchema,
  parseDuration,
  parseSize,
  sizeSchema,
} from '../../../src/config/units';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['1m30s500ms', 90_500],
    [' 5s ', 5_000],
    ['0s', 0],
    ['-5m', -300_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    'abc',
    '',
    '1.5h',
    '30m1h',
    '1h1h',
    '5 minutes',
    '5M',
    'h',
    '-',
    '1h-30m',
    '99999999999999999999d',
  ])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(
      `expected a duration such as 30s, 15m or 2h, got ${JSON.stringify(text)}`,
    );
  });

  it('gives the exact message for garbage', () => {
    expect(() => parseDuration('abc')).toThrow(
      new Error('expected a duration such as 30s, 15m or 2h, got "abc"'),
    );
  });

  it.each([30, '30', 1.5])('refuses the bare number %j and asks for a unit', (value) => {
    expect(() => parseDuration(value)).toThrow(/add a unit/);
  });

  it('throws nothing but Error, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^-?[0-9]{0,4}(ms|s|m|h|d)?[0-9 ]{0,3}(ms|s|m|h|d)?$/)),
        (text) => {
          try {
            const ms = parseDuration(text);
            expect(Number.isSafeInteger(ms)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(Error);
          }
        },
      ),
    );
  });

  it('round-trips `${n}s`', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(parseDuration(`${n}s`)).toBe(n * 1000);
      }),
    );
  });
});

describe('parseSize', () => {
  it.each([
    ['16MB', 16 * 1024 ** 2],
    ['512kB', 512 * 1024],
    ['1GB', 1024 ** 3],
    ['1TB', 1024 ** 4],
    ['1KiB', 1024],
    ['16MiB', 16 * 1024 ** 2],
    ['2GiB', 2 * 1024 ** 3],
    ['100B', 100],
    ['4 kb', 4096],
    ['123', 123],
    [123, 123],
    ['0', 0],
  ] as const)('reads %j as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['abc', '', '1.5GB', '16XB', 'MB', '16 M B'])('refuses %j', (text) => {
    expect(() => parseSize(text)).toThrow(
      `expected a size such as 16MB, 512kB or 1GB, got ${JSON.stringify(text)}`,
    );
  });

  it('refuses a fractional number', () => {
    expect(() => parseSize(1.5)).toThrow('got 1.5');
  });
});

describe('durationSchema', () => {
  it('turns text into milliseconds', () => {
    expect(durationSchema.parse('15m')).toBe(900_000);
  });

  it.each([
    ['-5m', 'must not be negative, got "-5m"'],
    ['0s', 'must be longer than zero, got "0s"'],
    ['abc', 'expected a duration such as 30s, 15m or 2h, got "abc"'],
    [true, 'expected a duration such as 30s, 15m or 2h, got true'],
  ])('refuses %j with a clear message', (input, message) => {
    const result = durationSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([message]);
  });

  it('accepts zero in the allowZero variant, still not negatives', () => {
    expect(durationOrZeroSchema.parse('0s')).toBe(0);
    expect(durationOrZeroSchema.safeParse('-1s').success).toBe(false);
  });
});

describe('sizeSchema', () => {
  it('accepts text and numbers, refuses negatives', () => {
    expect(sizeSchema.parse('16MB')).toBe(16 * 1024 ** 2);
    expect(sizeSchema.parse(0)).toBe(0);
    expect(sizeSchema.safeParse('-1MB').error?.issues[0]?.message).toBe('must not be negative, got "-1MB"');
  });
});
