// A hook's combined stdout+stderr, bounded: it keeps the start and the end (where the command says
// what it is doing and how it failed) and counts what it drops in between. Redaction happens once, on
// the assembled text, with a margin around every cut so a secret straddling a cut is still recognised.
import { renderRedacted, secretRanges } from '../../hooks/redact';

/** Extra bytes kept beyond each cut so that URL credentials of any sensible length are seen whole. */
const BASE_MARGIN_BYTES = 1024;

interface Slice {
  from: number;
  to: number;
}

export class OutputBuffer {
  private readonly headKeep: number;
  private readonly tailKeep: number;
  private readonly headCap: number;
  private readonly tailCap: number;
  private head: Buffer[] = [];
  private headLength = 0;
  private tail: Buffer[] = [];
  private tailLength = 0;
  private total = 0;

  /**
   * @param maxBytes the most bytes of output shown (before redaction, which changes lengths a little)
   * @param longestSecretBytes the byte length of the longest pattern that will be redacted
   */
  constructor(
    private readonly maxBytes: number,
    longestSecretBytes = 0,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 2) {
      throw new Error(`maxOutputBytes must be a whole number of at least 2, got ${maxBytes}`);
    }
    const margin = BASE_MARGIN_BYTES + longestSecretBytes;
    this.headKeep = Math.floor(maxBytes / 2);
    this.tailKeep = maxBytes - this.headKeep;
    this.headCap = this.headKeep + margin;
    this.tailCap = this.tailKeep + margin;
  }

  get totalBytes(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headLength < this.headCap) {
      const take = Math.min(rest.length, this.headCap - this.headLength);
      this.head.push(rest.subarray(0, take));
      this.headLength += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    this.tail.push(rest);
    this.tailLength += rest.length;
    // Compact now and then, not on every chunk.
    if (this.tailLength > 2 * this.tailCap) {
      const kept = Buffer.concat(this.tail).subarray(this.tailLength - this.tailCap);
      this.tail = [kept];
      this.tailLength = kept.length;
    }
  }

  /** The output as text, secrets (see `secretPatterns`) and URL passwords redacted, middle cut if too long. */
  text(patterns: readonly string[]): string {
    const head = Buffer.concat(this.head);
    const tail = Buffer.concat(this.tail);
    const contiguous = head.length + tail.length === this.total;
    if (this.total <= this.maxBytes)
      return render(Buffer.concat([head, tail]), patterns, [{ from: 0, to: this.total }])[0] ?? '';

    const omitted = this.total - this.headKeep - this.tailKeep;
    let start: string;
    let end: string;
    if (contiguous) {
      const all = Buffer.concat([head, tail]);
      [start = '', end = ''] = render(all, patterns, [
        { from: 0, to: this.headKeep },
        { from: all.length - this.tailKeep, to: all.length },
      ]);
    } else {
      [start = ''] = render(head, patterns, [{ from: 0, to: this.headKeep }]);
      [end = ''] = render(tail, patterns, [{ from: tail.length - this.tailKeep, to: tail.length }]);
    }
    return `${start}${start.endsWith('\n') ? '' : '\n'}… ${omitted} bytes omitted …\n${end}`;
  }
}

/** Decodes `bytes` once, finds the secrets in all of it, and renders each byte slice. */
function render(bytes: Buffer, patterns: readonly string[], slices: readonly Slice[]): string[] {
  const text = new TextDecoder().decode(bytes);
  const ranges = secretRanges(text, patterns);
  return slices.map(({ from, to }) => {
    // A slice that starts inside a multi-byte character starts after it instead.
    let first = from;
    while (first < to && ((bytes[first] ?? 0) & 0xc0) === 0x80) first += 1;
    return renderRedacted(text, ranges, charIndex(bytes, first, text), charIndex(bytes, to, text));
  });
}

/**
 * The index in the decoded text where byte `offset` falls; a character cut by the offset is left
 * out (a streaming decoder holds back an incomplete sequence, and decoding is prefix-consistent).
 */
function charIndex(bytes: Buffer, offset: number, text: string): number {
  if (offset >= bytes.length) return text.length;
  if (offset <= 0) return 0;
  return new TextDecoder().decode(bytes.subarray(0, offset), { stream: true }).length;
}
