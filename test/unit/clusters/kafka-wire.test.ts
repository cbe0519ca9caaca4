// The bot's Kafka requests where no real broker answers that way (test/integration/clusters/
// kafka-client.test.ts runs them against Kafka 4.4): answers to another request, cut short, or a
// refused election; no broker reachable at all; a broker that accepts and then says nothing.
import { createServer, type Server, type Socket } from 'node:net';
import {
  KafkaWireAdmin,
  electPreferredLeadersRequest,
  metadataRequest,
} from '../../../src/adapters/clusters/kafka-admin';
import {
  decodeResponse,
  encodeRequest,
  parseAddress,
  Writer,
} from '../../../src/adapters/clusters/kafka-wire';
import { freePort } from '../../support/redis-server';

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
