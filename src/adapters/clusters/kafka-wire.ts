// The Kafka wire protocol, as much of it as the bot's admin requests need (kafka-admin.ts):
// big-endian integers, int16-length strings and int32-length arrays (the non-flexible encoding,
// request header v1, response header v0), and for APIs that only exist flexible (DescribeQuorum)
// unsigned-varint "compact" strings and arrays with tagged fields (request header v2, response
// header v1); one request per plaintext TCP connection.
//
// Why not a client library: on a real Kafka 4.4 cluster kafkajs and @platformatic/kafka both throw
// on a Metadata answer that carries a partition error, which is what an offline partition is
// (LEADER_NOT_AVAILABLE), so neither can read the one state a health check exists to report; and
// neither offers ElectLeaders (test/integration/clusters/kafka-client.test.ts, docs/architecture.md).
import { Socket } from 'node:net';

/** Error codes the bot's requests meet, by name (others are shown by number). */
const ERROR_NAMES: Record<number, string> = {
  [-1]: 'UNKNOWN_SERVER_ERROR',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  7: 'REQUEST_TIMED_OUT',
  9: 'REPLICA_NOT_AVAILABLE',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  35: 'UNSUPPORTED_VERSION',
  41: 'NOT_CONTROLLER',
  80: 'PREFERRED_LEADER_NOT_AVAILABLE',
  83: 'ELIGIBLE_LEADERS_NOT_AVAILABLE',
  84: 'ELECTION_NOT_NEEDED',
};

export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `error code ${code}`;
}

export class Writer {
  private readonly parts: Buffer[] = [];

  private fixed(bytes: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(bytes);
    write(b);
    this.parts.push(b);
    return this;
  }

  int8(value: number): this {
    return this.fixed(1, (b) => b.writeInt8(value));
  }

  bool(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  int16(value: number): this {
    return this.fixed(2, (b) => b.writeInt16BE(value));
  }

  int32(value: number): this {
    return this.fixed(4, (b) => b.writeInt32BE(value));
  }

  /** A string, or null (length -1) where the field is nullable. */
  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = Buffer.from(value, 'utf8');
    this.int16(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  /** An array, or null (length -1) where the field is nullable. */
  array<T>(items: readonly T[] | null, write: (item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    items.forEach(write);
    return this;
  }

  /** An unsigned varint (flexible versions: compact lengths, tag counts). */
  uvarint(value: number): this {
    const bytes: number[] = [];
    let rest = value >>> 0;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    bytes.push(rest);
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  /** A compact string: its length + 1 as an unsigned varint, then the bytes. */
  compactString(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    this.uvarint(bytes.length + 1);
    this.parts.push(bytes);
    return this;
  }

  /** A compact array: its length + 1 as an unsigned varint, then the items. */
  compactArray<T>(items: readonly T[], write: (item: T) => void): this {
    this.uvarint(items.length + 1);
    items.forEach(write);
    return this;
  }

  /** No tagged fields (the bot sends none). */
  noTags(): this {
    return this.uvarint(0);
  }

  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class Reader {
  private offset = 0;

  constructor(private readonly data: Buffer) {}

  private take(bytes: number): number {
    if (this.offset + bytes > this.data.length) throw new Error('Kafka answer ends early');
    const at = this.offset;
    this.offset += bytes;
    return at;
  }

  int8(): number {
    return this.data.readInt8(this.take(1));
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    return this.data.readInt16BE(this.take(2));
  }

  int32(): number {
    return this.data.readInt32BE(this.take(4));
  }

  /** A nullable string: null for length -1. */
  string(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.take(length);
    return this.data.toString('utf8', at, at + length);
  }

  /** An array (a null one reads as empty). */
  array<T>(read: () => T): T[] {
    const length = this.int32();
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(read());
    return items;
  }

  int32s(): number[] {
    return this.array(() => this.int32());
  }

  /** A signed 64-bit integer as a number (offsets and millisecond timestamps fit in 2^53). */
  int64(): number {
    return Number(this.data.readBigInt64BE(this.take(8)));
  }

  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.data.readUInt8(this.take(1));
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error('Kafka answer has a varint longer than 5 bytes');
  }

  /** A compact nullable string: null for length 0 (-1 + 1). */
  compactString(): string | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    const at = this.take(length);
    return this.data.toString('utf8', at, at + length);
  }

  /** A compact array (a null one reads as empty). */
  compactArray<T>(read: () => T): T[] {
    const length = this.uvarint() - 1;
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(read());
    return items;
  }

  /** Tagged fields: skipped (none the bot needs). */
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      this.take(this.uvarint());
    }
  }

  remaining(): number {
    return this.data.length - this.offset;
  }
}

/** One request of one API version: how its body is written and its answer's body read. */
export interface WireRequest<T> {
  name: string;
  apiKey: number;
  version: number;
  /** A flexible version: request header v2 and response header v1 (tagged fields after each). */
  flexible?: boolean;
  encode(writer: Writer): void;
  decode(reader: Reader): T;
}

/**
 * The size-prefixed request: header v1 (api key, version, correlation id, client id), or v2 (the
 * same and no tagged fields) for a flexible version, then the body.
 */
export function encodeRequest(
  request: WireRequest<unknown>,
  correlationId: number,
  clientId: string,
): Buffer {
  const writer = new Writer()
    .int16(request.apiKey)
    .int16(request.version)
    .int32(correlationId)
    .string(clientId);
  if (request.flexible) writer.noTags();
  request.encode(writer);
  const body = writer.buffer();
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** The answer after its size prefix: header v0 (the correlation id; v1 adds tagged fields), then the body. */
export function decodeResponse<T>(request: WireRequest<T>, answer: Buffer, correlationId: number): T {
  const reader = new Reader(answer);
  const answeredTo = reader.int32();
  if (answeredTo !== correlationId)
    throw new Error(`${request.name}: an answer to request ${answeredTo}, expected ${correlationId}`);
  if (request.flexible) reader.skipTags();
  return request.decode(reader);
}

/** `host:port` (IPv6 hosts in brackets) as host and port. */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  if (colon <= 0 || !host || !Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`not a host:port Kafka address: ${address}`);
  return { host, port };
}

/** The broker could not be reached or gave no answer: another broker may answer. */
export class BrokerUnreachable extends Error {
  override name = 'BrokerUnreachable';
}

let lastCorrelationId = 0;

/**
 * Sends one request to `address` on a fresh connection and returns the decoded answer. A broker
 * that cannot be reached, closes the connection or does not answer within `timeoutMs` throws
 * BrokerUnreachable; an answer that cannot be read or refuses the request throws an Error.
 */
export async function send<T>(
  address: string,
  request: WireRequest<T>,
  { clientId, timeoutMs }: { clientId: string; timeoutMs: number },
): Promise<T> {
  const { host, port } = parseAddress(address);
  lastCorrelationId = (lastCorrelationId % 0x7fffffff) + 1;
  const correlationId = lastCorrelationId;
  const frame = encodeRequest(request, correlationId, clientId);
  const answer = await new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: BrokerUnreachable | null, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    socket.setTimeout(timeoutMs, () =>
      finish(new BrokerUnreachable(`${request.name}: no answer from ${address} in ${timeoutMs} ms`)),
    );
    socket.once('error', (error) =>
      finish(new BrokerUnreachable(`${request.name}: ${address}: ${error.message}`)),
    );
    socket.once('close', () =>
      finish(new BrokerUnreachable(`${request.name}: ${address} closed the connection`)),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      const all = Buffer.concat(chunks);
      const size = all.readInt32BE(0);
      if (received >= 4 + size) finish(null, all.subarray(4, 4 + size));
    });
    socket.connect(port, host, () => socket.write(frame));
  });
  return decodeResponse(request, answer, correlationId);
}
