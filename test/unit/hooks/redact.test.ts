import fc from 'fast-check';

import { OutputBuffer } from '../../../src/adapters/hooks/output-buffer';
import { redact, secretPatterns } from '../../../src/hooks/redact';

function collect(chunks: readonly string[], maxBytes: number, secrets: readonly string[] = []): string {
  const patterns = secretPatterns(secrets);
  const buffer = new OutputBuffer(
    maxBytes,
    patterns.reduce((max, p) => Math.max(max, Buffer.byteLength(p)), 0),
  );
  for (const chunk of chunks) buffer.push(Buffer.from(chunk));
  return buffer.text(patterns);
}

describe('redact', () => {
  it('replaces every occurrence of every secret of 4 characters or more', () => {
    expect(redact('pw=hunter2 again hunter2, short: abc', ['hunter2', 'abc'])).toBe(
      'pw=[redacted] again [redacted], short: abc',
    );
  });

  it('covers overlapping secrets and the URL-encoded and JSON forms of a secret', () => {
    expect(redact('xx-aaaa-bbbb-xx', ['aaaa-bb', 'a-bbbb'])).toBe('xx-[redacted]-xx');
    expect(redact('p=p%40ss%2Fword j="p@ss\\"word"', ['p@ss/word', 'p@ss"word'])).toBe(
      'p=[redacted] j="[redacted]"',
    );
  });

  it('removes the user:password part of URLs, whatever the secrets', () => {
    expect(
      redact(
        'connecting to postgres://app:hunter2@db:5432/orders and redis://:pw@cache:6379 ' +
          'and https://api.example/path?q=1 as git@example.com via ssh://deploy@host',
      ),
    ).toBe(
      'connecting to postgres://[redacted]@db:5432/orders and redis://[redacted]@cache:6379 ' +
        'and https://api.example/path?q=1 as git@example.com via ssh://deploy@host',
    );
    expect(redact('"amqp://u:p/w:x@mq"')).toBe('"amqp://[redacted]@mq"');
  });
});

describe('OutputBuffer', () => {
  it('redacts a secret split across two chunks', () => {
    expect(collect(['token is hun', 'ter2 ok\n'], 1024, ['hunter2'])).toBe('token is [redacted] ok\n');
    expect(collect(['postgres://app:hun', 'ter2@db/x\n'], 1024)).toBe('postgres://[redacted]@db/x\n');
  });

  it('keeps output that fits as it is', () => {
    expect(collect(['a'.repeat(50), 'b'.repeat(50)], 100)).toBe('a'.repeat(50) + 'b'.repeat(50));
  });

  it('keeps the start and the end of long output and says how much it left out', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
    const total = Buffer.byteLength(lines.join(''));
    const text = collect(lines, 200);
    expect(text.startsWith('line 0\nline 1\n')).toBe(true);
    expect(text.endsWith('line 1998\nline 1999\n')).toBe(true);
    expect(text).toContain(`… ${total - 200} bytes omitted …\n`);
    expect(text.length).toBeLessThan(260);
  });

  it('redacts a secret that a cut would split, on both sides of the cut', () => {
    const secret = 'S3CRET-VALUE-0123456789';
    // The head cut falls in the middle of the first secret, the tail cut in the middle of the last.
    const text = collect(['x'.repeat(40), secret, 'y'.repeat(5000), secret, 'z'.repeat(40)], 100, [secret]);
    expect(text).toMatch(/^x{40}\[redacted\]\n… \d+ bytes omitted …\n\[redacted\]z{40}$/);
    for (const part of ['S3CR', 'VALUE', '6789']) expect(text).not.toContain(part);
  });

  it('does so too when the middle was dropped while reading', () => {
    const secret = 'S3CRET-VALUE-0123456789';
    const chunks = ['x'.repeat(40), secret, ...Array.from({ length: 50 }, () => 'y'.repeat(1000)), secret];
    const text = collect([...chunks, 'z'.repeat(40)], 100, [secret]);
    expect(text).toMatch(/^x{40}\[redacted\]\n… 50\d{3} bytes omitted …\n\[redacted\]z{40}$/);
  });

  it('does not show half a multi-byte character at a cut', () => {
    const text = collect(['é'.repeat(100)], 51);
    expect(text).not.toContain('\ufffd');
    expect(text).toMatch(/^é+\n… \d+ bytes omitted …\né+$/);
  });

  it('never shows any part of a secret, however the output is chunked and cut', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '\n'), maxLength: 300 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '\n'), maxLength: 300 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 2, max: 400 }),
        (before, after, copies, splits, maxBytes) => {
          const secret = 'QWERTYUIOP';
          const full = before + Array.from({ length: copies + 1 }, () => secret).join(after) + after;
          const chunks: string[] = [];
          let at = 0;
          for (let i = 0; at < full.length; i += 1) {
            const size = splits[i % splits.length]!;
            chunks.push(full.slice(at, at + size));
            at += size;
          }
          const text = collect(chunks, maxBytes, [secret]);
          // Any 3 letters of the secret would be a leak: the filler has none of its letters.
          for (let i = 0; i + 3 <= secret.length; i += 1) expect(text).not.toContain(secret.slice(i, i + 3));
        },
      ),
    );
  });
});
