// Figure 1: ack latency of signed slash commands and button clicks through the real HTTP receiver,
// at 1, 10 and 50 requests in flight, against a bare Bolt app that acks the same requests and does
// nothing else. Both apps get the same `authorize` (no per-request auth.test, see NOTES.md) and the
// same receiver settings. The bot's path adds its request guard, the delivery dedupe (an INSERT in
// PostgreSQL before any handler) and whatever its handlers do after ack() in the same process (a
// store read and a chat.postEphemeral). The sender and the Slack Web API run in a child process
// (ack-client.ts), so only the app under test runs on the measured event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { SLACK_EVENTS_PATH } from '../../src/slack/app';
import type { ClientReply, ClientRequest } from './ack-client';
import { APPROVER, benchTarget, SIGNING_SECRET, startBenchBotWithApi, summarize, TEAM } from './common';
import type { FigureOptions, Row } from './common';
import { chainStrategy } from './strategies';

const CHANNEL = 'C0BENCHACK';
/** The paced level: 50 requests a second, each after the previous one's handler work is done. */
const PACED_INTERVAL_MS = 20;

interface BareBolt {
  url: string;
  close(): Promise<void>;
}

/** A plain Bolt app on the HTTP receiver that acks /cutover and every action, nothing else. */
async function startBareBolt(botToken: string, apiUrl: string): Promise<BareBolt> {
  const receiver = new HTTPReceiver({
    signingSecret: SIGNING_SECRET,
    endpoints: SLACK_EVENTS_PATH,
    logLevel: LogLevel.ERROR,
    processBeforeResponse: false,
  });
  const app = new App({
    receiver,
    // The same authorize as the bot's (src/slack/app.ts): ids known up front, no auth.test per request.
    authorize: () =>
      Promise.resolve({ botToken, botId: 'B0CUTOVERBOT', botUserId: 'U0CUTOVERBOT', teamId: TEAM }),
    clientOptions: { slackApiUrl: apiUrl },
    logLevel: LogLevel.ERROR,
  });
  app.command('/cutover', async ({ ack }) => {
    await ack();
  });
  app.action(/.*/, async ({ ack }) => {
    await ack();
  });
  const server: Server = createServer((req, res) => receiver.requestListener(req, res));
  return listenOnLoopback(server);
}

/** Listens on a free loopback port; the URL is the events path, as Slack would post to. */
async function listenOnLoopback(server: Server): Promise<BareBolt> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${SLACK_EVENTS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A node:http server that answers 200 at once: the floor of the sender and loopback HTTP. */
async function startNullServer(): Promise<BareBolt> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  return listenOnLoopback(server);
}

/** The child process: Slack's side. */
class AckClient {
  private seq = 0;
  private readonly waiting = new Map<number, (reply: Extract<ClientReply, { type: 'done' }>) => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ClientReply) => {
      if (message.type === 'done') this.waiting.get(message.seq)?.(message);
    });
  }

  static async start(): Promise<{ client: AckClient; apiUrl: string; botToken: string }> {
    const child = fork(join(__dirname, 'ack-client.ts'), [TEAM, APPROVER], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Extract<ClientReply, { type: 'ready' }>>((resolve, reject) => {
      child.once('message', (message: ClientReply) => {
        if (message.type === 'ready') resolve(message);
      });
      child.once('exit', (code) => reject(new Error(`ack client exited with ${code}`)));
    });
    return { client: new AckClient(child), apiUrl: ready.apiUrl, botToken: ready.botToken };
  }

  async load(
    url: string,
    total: number,
    concurrency: number,
    into: { slash: number[]; click: number[] },
    intervalMs?: number,
  ) {
    const seq = ++this.seq;
    const reply = await new Promise<Extract<ClientReply, { type: 'done' }>>((resolve) => {
      this.waiting.set(seq, resolve);
      const request: ClientRequest = {
        type: 'load',
        seq,
        url,
        secret: SIGNING_SECRET,
        total,
        concurrency,
        ...(intervalMs ? { intervalMs } : {}),
      };
      this.child.send(request);
    });
    this.waiting.delete(seq);
    if (reply.error) throw new Error(`ack client: ${reply.error}`);
    if (reply.failures > 0)
      throw new Error(`${reply.failures} of ${total} requests were not acknowledged with 200`);
    into.slash.push(...reply.slash);
    into.click.push(...reply.click);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' } satisfies ClientRequest);
    await exited;
  }
}

export async function benchAck(options: FigureOptions): Promise<Row[]> {
  // Closed loops (the next request leaves as soon as the previous answer is in), and one paced level:
  // one request every PACED_INTERVAL_MS, 1 in flight, as people clicking are (still far faster).
  const levels: { concurrency: number; intervalMs?: number }[] = [
    { concurrency: 1 },
    { concurrency: 10 },
    { concurrency: 50 },
    { concurrency: 1, intervalMs: PACED_INTERVAL_MS },
  ];
  const rounds = options.quick ? 2 : 4;
  // Per round and subject: enough requests that 50 in flight is sustained for a while.
  const perRound = (c: number): number => (options.quick ? Math.max(60, c * 3) : Math.max(100, c * 5));

  const { client, apiUrl, botToken } = await AckClient.start();
  try {
    const bot = await startBenchBotWithApi(
      {
        prefix: 'ack',
        targets: [benchTarget('ack-db', 'chain', CHANNEL)],
        strategies: [chainStrategy(1, () => undefined)],
      },
      { url: apiUrl, botToken },
    );
    // The only PostgreSQL work before the bot acks: the delivery claim. Timed for the breakdown.
    let claims: number[] = [];
    const store = bot.runtime.store;
    const claim = store.claimSlackDelivery.bind(store);
    store.claimSlackDelivery = async (key) => {
      const started = performance.now();
      try {
        return await claim(key);
      } finally {
        claims.push(performance.now() - started);
      }
    };
    const bare = await startBareBolt(botToken, apiUrl);
    const floor = await startNullServer();
    try {
      const urls = { bot: bot.eventsUrl as string, bare: bare.url, floor: floor.url };
      // Warm-up: JIT, connection pools, the first store queries.
      for (const url of Object.values(urls)) await client.load(url, 100, 10, { slash: [], click: [] });
      const rows: Row[] = [];
      for (const { concurrency: c, intervalMs } of levels) {
        const paced = intervalMs !== undefined;
        const samples = {
          bot: { slash: [] as number[], click: [] as number[] },
          bare: { slash: [] as number[], click: [] as number[] },
          floor: { slash: [] as number[], click: [] as number[] },
        };
        claims = [];
        for (let round = 0; round < rounds; round++) {
          // Alternate which one goes first, so neither always runs right after the other.
          // The null server is only a calibration of the sender, reported in the details.
          const order =
            round % 2 === 0 ? (['bot', 'bare', 'floor'] as const) : (['floor', 'bare', 'bot'] as const);
          for (const name of order) {
            await client.load(urls[name], paced ? 100 : perRound(c), c, samples[name], intervalMs);
          }
        }
        const botAll = summarize([...samples.bot.slash, ...samples.bot.click]);
        const bareAll = summarize([...samples.bare.slash, ...samples.bare.click]);
        const ratio = botAll.p99 / bareAll.p99;
        const met = ratio <= 1.5 && (c !== 50 || botAll.p99 < 50);
        rows.push({
          figure: 'ack',
          metric: paced
            ? `ack latency, 1 in flight, paced (a request every ${intervalMs} ms)`
            : `ack latency, ${c} in flight`,
          unit: 'ms',
          subject: botAll,
          baseline: bareAll,
          ratio: { value: ratio, of: 'p99' },
          goal: `p99 ≤ 1.5× bare Bolt${c === 50 ? ' and < 50 ms' : ''}`,
          verdict: met ? 'met' : 'missed',
          details: {
            slashCommand: { bot: summarize(samples.bot.slash), bare: summarize(samples.bare.slash) },
            buttonClick: { bot: summarize(samples.bot.click), bare: summarize(samples.bare.click) },
            p50Ratio: botAll.p50 / bareAll.p50,
            botDeliveryClaim: summarize(claims),
            senderFloor: summarize([...samples.floor.slash, ...samples.floor.click]),
            rounds,
            requestsPerRound: paced ? 100 : perRound(c),
          },
        });
        options.log(
          `ack c=${c}${paced ? ` paced ${intervalMs} ms` : ''}: bot p50 ${botAll.p50.toFixed(1)} p99 ${botAll.p99.toFixed(1)} | bare p50 ${bareAll.p50.toFixed(1)} p99 ${bareAll.p99.toFixed(1)}`,
        );
      }
      // Let the handlers' ephemeral replies finish before the runtime closes.
      await bot.runtime.notifier?.flush({ timeoutMs: 5_000 }).catch(() => undefined);
      return rows;
    } finally {
      await floor.close();
      await bare.close();
      await bot.close();
    }
  } finally {
    await client.stop();
  }
}
