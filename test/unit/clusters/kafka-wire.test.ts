// The bot's Kafka requests where no real broker answers that way (test/integration/clusters/
// kafka-client.test.ts runs them against Kafka 4.4): answers to another request, cut short, or a
// refused election; no broker reachable at all; a broker that accepts and then says nothing.
import { createServer, type Server, type Socket } from 'node:net';
import {
  KafkaWireAdmin,
  describeQuorumRequest,
  electPreferredLeadersRequest,
  metadataRequest,
} from '../../../src/adapters/clusters/kafka-admin';
import {
  decodeResponse,
  encodeRequest,
  parseAddress,
  Reader,
  Writer,
} from '../../../src/adapters/clusters/kafka-wire';
import { freePort } from '../../support/services/redis-server';

it('frames a request: size, api key, version, correlation id, client id, body', () => {
  const frame = encodeRequest(electPreferredLeadersRequest([{ topic: 'ab', partitions: [7] }], 500), 9, 'c');
  const expected = new Writer()
    .int16(43)
    .int16(1)
    .int32(9)
    .string('c')
    .int8(0)
    .int32(1)
    .string('ab')
    .int32(1)
    .int32(7)
    .int32(500)
    .buffer();
  expect(frame.readInt32BE(0)).toBe(expected.length);
  expect(frame.subarray(4)).toEqual(expected);
});

it('frames a flexible request with header v2: no tagged fields after the client id, compact body', () => {
  const frame = encodeRequest(describeQuorumRequest(), 4, 'c');
  const expected = new Writer()
    .int16(55)
    .int16(1)
    .int32(4)
    .string('c')
    .uvarint(0) // header tagged fields
    .uvarint(2) // one topic
    .uvarint('__cluster_metadata'.length + 1)
    .buffer();
  expect(frame.subarray(4, 4 + expected.length)).toEqual(expected);
  expect(frame.subarray(4 + expected.length).toString('latin1')).toMatch(/^__cluster_metadata/);
});

it('reads unsigned varints and skips tagged fields it does not know', () => {
  const reader = new Reader(
    new Writer()
      .uvarint(300)
      .uvarint(2)
      .uvarint(0)
      .uvarint(2)
      .int16(7)
      .uvarint(5)
      .uvarint(1)
      .int8(1)
      .int32(9)
      .buffer(),
  );
  expect(reader.uvarint()).toBe(300);
  reader.skipTags();
  expect(reader.int32()).toBe(9);
  expect(reader.remaining()).toBe(0);
});

it('reads a DescribeQuorum answer: leader, voters and observers, past tagged fields', () => {
  const state = (w: Writer, id: number, caughtUp: number) =>
    w.int32(id).int32(0).int32(40).int32(0).int32(caughtUp).int32(0).int32(caughtUp).noTags();
  const w = new Writer().int32(3).noTags(); // response header v1
  w.int16(0).uvarint(2).compactString('__cluster_metadata').uvarint(2);
  w.int32(0).int16(0).int32(100).int32(7).int32(0).int32(40);
  state(w.uvarint(2), 100, 5000);
  state(w.uvarint(2), 1, 4990);
  w.uvarint(1).uvarint(0).uvarint(8).int32(0).int32(123); // a tagged HighWatermarkUpdateTimeMs
  w.noTags().noTags();
  expect(decodeResponse(describeQuorumRequest(), w.buffer(), 3)).toEqual({
    errorCode: 0,
    leaderId: 100,
    leaderEpoch: 7,
    highWatermark: 40,
    voters: [{ id: 100, logEndOffset: 40, lastFetchTimestamp: 5000, lastCaughtUpTimestamp: 5000 }],
    observers: [{ id: 1, logEndOffset: 40, lastFetchTimestamp: 4990, lastCaughtUpTimestamp: 4990 }],
  });
});

it('refuses an answer to another request and one cut short', () => {
  const request = metadataRequest(null);
  expect(() => decodeResponse(request, new Writer().int32(8).buffer(), 9)).toThrow(
    'Metadata: an answer to request 8, expected 9',
  );
  expect(() => decodeResponse(request, new Writer().int32(9).int32(0).int32(3).buffer(), 9)).toThrow(
    'Kafka answer ends early',
  );
});

it('throws on an election the cluster refuses as a whole', () => {
  const answer = new Writer().int32(5).int32(0).int16(31).int32(0).buffer();
  expect(() => decodeResponse(electPreferredLeadersRequest([], 1000), answer, 5)).toThrow(
    'ElectLeaders refused: CLUSTER_AUTHORIZATION_FAILED',
  );
});

it('reads host:port addresses, IPv6 in brackets', () => {
  expect(parseAddress('kafka-1.internal:9092')).toEqual({ host: 'kafka-1.internal', port: 9092 });
  expect(parseAddress('[::1]:9093')).toEqual({ host: '::1', port: 9093 });
  expect(() => parseAddress('kafka-1.internal')).toThrow('not a host:port Kafka address');
});

describe('KafkaWireAdmin without an answering broker', () => {
  let silent: Server | undefined;
  const accepted: Socket[] = [];

  afterEach(async () => {
    accepted.splice(0).forEach((socket) => socket.destroy());
    await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
    silent = undefined;
  });

  it('tries every broker and says what went wrong with each', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const admin = new KafkaWireAdmin({ brokers: [`127.0.0.1:${a}`, `127.0.0.1:${b}`], timeoutMs: 2_000 });
    const failure = admin.metadata(null);
    await expect(failure).rejects.toThrow(/^no Kafka broker answered Metadata: /);
    await expect(failure).rejects.toThrow(
      new RegExp(`127.0.0.1:${a}: connect ECONNREFUSED.*127.0.0.1:${b}: connect`),
    );
  });

  it('gives up on a broker that accepts the connection and never answers', async () => {
    silent = createServer((socket) => accepted.push(socket));
    const port = await new Promise<number>((resolve) =>
      silent!.listen(0, '127.0.0.1', () => resolve((silent!.address() as { port: number }).port)),
    );
    const admin = new KafkaWireAdmin({ brokers: [`127.0.0.1:${port}`], timeoutMs: 200 });
    await expect(admin.topicConfigs(['orders'], ['min.insync.replicas'])).rejects.toThrow(
      `DescribeConfigs: no answer from 127.0.0.1:${port} in 200 ms`,
    );
  });
});
