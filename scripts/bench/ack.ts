// Figure 1: ack latency of signed slash commands and button clicks through the real HTTP receiver,
// at 1, 10 and 50 requests in flight, each kind beside the Bolt app that does the same for Slack:
//
// - read-only commands (help, targets, status, list) and a usage error, which the bot answers in
//   the ack's body, beside a bare Bolt app that acks and does nothing else;
// - `/cutover start` (of a target with a run already active: refused) and Approve clicks (on a run
//   that does not exist: refused), which the bot answers with one chat.postEphemeral after the
//   ack, beside a minimal Bolt app that acks and posts one ephemeral message;
// - and, for information, Approve clicks that approve: the approval is committed with its delivery
//   claim before the ack, so each of those acks waits for a commit.
//
// All apps get the same `authorize` (no per-request auth.test, see NOTES.md) and the same receiver
// settings. The bot's path adds its request guard, its handlers' work before the ack (a store read
// for a status, list or click) and after it (the delivery claim, the store, the reply). The sender
// and the Slack Web API run in a child process (ack-client.ts), so only the apps under test run on
// the measured event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { z } from 'zod';
import { createRun, transition } from '../../src/engine/transition';
import type { Plan } from '../../src/engine/types';
import { SLACK_EVENTS_PATH } from '../../src/slack/app';
import { encodeGateRef } from '../../src/slack/render/blocks';
import type { Strategy } from '../../src/strategies/types';
import type { ClientReply, ClientRequest, Mix } from './ack-client';
import {
  APPROVER,
  benchTarget,
  REQUESTER,
  SIGNING_SECRET,
  startBenchBotWithApi,
  summarize,
  TEAM,
} from './common';
import type { FigureOptions, Row, Summary } from './common';

const CHANNEL = 'C0BENCHACK';
const TARGET = 'ack-db';
/** The paced level: 50 requests a second, each after the previous one's handler work is done. */
const PACED_INTERVAL_MS = 20;

/** A run that waits at its first gate for ever: every later `start` of the target is refused. */
const gateFirst: Strategy = {
  name: 'gate-first',
  planVersion: 1,
  oldestPlanVersion: 1,
  summary: 'a gate nobody approves during the bench',
  configSchema: z.object({}).strict(),
  plan: (target): Plan => ({
    strategy: 'gate-first',
    target: target.name,
    steps: [{ name: 'hold', kind: 'gate', title: 'Hold' }],
  }),
  executors: {},
  preflight: () => Promise.resolve([]),
};

interface Listening {
  url: string;
  close(): Promise<void>;
}

/**
 * A plain Bolt app on the HTTP receiver that acks /cutover and every action; with `replies`, it
 * also posts one ephemeral message after each ack (what the bot does for start and clicks).
 */
async function startBolt(botToken: string, apiUrl: string, replies: boolean): Promise<Listening> {
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
  app.command('/cutover', async ({ ack, client, command }) => {
    await ack();
    if (replies)
      await client.chat.postEphemeral({ channel: command.channel_id, user: command.user_id, text: 'ok' });
  });
  app.action(/.*/, async ({ ack, client, body }) => {
    await ack();
    const channel = 'channel' in body ? body.channel?.id : undefined;
    if (replies && channel) await client.chat.postEphemeral({ channel, user: body.user.id, text: 'ok' });
  });
  const server: Server = createServer((req, res) => receiver.requestListener(req, res));
  return listenOnLoopback(server);
}

/** Listens on a free loopback port; the URL is the events path, as Slack would post to. */
async function listenOnLoopback(server: Server): Promise<Listening> {
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
async function startNullServer(): Promise<Listening> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  return listenOnLoopback(server);
}

type Samples = Record<string, number[]>;

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
    mix: Mix,
    total: number,
    concurrency: number,
    into: Samples,
    intervalMs?: number,
    gates?: string[],
  ): Promise<void> {
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
        mix,
        target: TARGET,
        ...(intervalMs ? { intervalMs } : {}),
        ...(gates ? { gates } : {}),
      };
      this.child.send(request);
    });
    this.waiting.delete(seq);
    if (reply.error) throw new Error(`ack client: ${reply.error}`);
    if (reply.failures > 0)
      throw new Error(`${reply.failures} of ${total} requests were not acknowledged with 200`);
    for (const [kind, values] of Object.entries(reply.byKind)) (into[kind] ??= []).push(...values);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' } satisfies ClientRequest);
    await exited;
  }
}

const all = (samples: Samples): number[] => Object.values(samples).flat();

function byKind(samples: Samples): Record<string, Summary> {
  return Object.fromEntries(Object.entries(samples).map(([kind, values]) => [kind, summarize(values)]));
}

/**
 * `count` runs of `gate-first`, one per gate target, each waiting at its open gate; returns the
 * values of their Approve buttons. Stored directly (no observers), so no prompt is posted for them
 * while the other levels are measured.
 */
async function openGates(
  bot: Awaited<ReturnType<typeof startBenchBotWithApi>>,
  count: number,
): Promise<string[]> {
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const target = bot.runtime.findTarget(gateTarget(i))!;
    const run = createRun({
      id: randomUUID(),
      plan: gateFirst.plan(target),
      requestedBy: REQUESTER,
      channel: CHANNEL,
      policy: { approvalTimeoutMs: 3_600_000, requiredApprovals: 1, allowSelfApproval: false },
      at: new Date().toISOString(),
    });
    const inserted = await bot.runtime.store.insertRun(run, REQUESTER);
    const started = await bot.runtime.store.applyEvent(
      run.id,
      { type: 'start', at: new Date().toISOString() },
      REQUESTER,
      transition,
    );
    if (!inserted.ok || !started.ok) throw new Error(`gate ${i} did not open`);
    values.push(encodeGateRef({ runId: run.id, step: 0, round: 1 }));
  }
  return values;
}

const gateTarget = (i: number): string => `ack-gate-${i}`;

/** What is measured, against what, with which mix of requests. */
const PAIRS = [
  {
    name: 'read-only',
    mix: 'read',
    subject: 'bot',
    baseline: 'bare',
    what: 'read-only commands and usage errors',
  },
  { name: 'acting', mix: 'act', subject: 'bot', baseline: 'replying', what: 'start and Approve' },
] as const;

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
      { prefix: 'ack', targets: [benchTarget(TARGET, 'gate-first', CHANNEL)], strategies: [gateFirst] },
      { url: apiUrl, botToken },
    );
    // The run every `start` of the bench finds active.
    const held = await bot.runtime.runs.start({
      target: bot.runtime.findTarget(TARGET)!,
      requestedBy: REQUESTER,
    });
    if (!held.ok) throw new Error(`the bench's held run did not start: ${held.message}`);
    // Timed for the breakdown: the delivery claim (after the ack for start and clicks).
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
    const bare = await startBolt(botToken, apiUrl, false);
    const replying = await startBolt(botToken, apiUrl, true);
    const floor = await startNullServer();
    try {
      const urls = { bot: bot.eventsUrl as string, bare: bare.url, replying: replying.url, floor: floor.url };
      // Warm-up: JIT, connection pools, the first store queries.
      for (const mix of ['read', 'act'] as const) {
        for (const url of Object.values(urls)) await client.load(url, mix, 100, 10, {});
      }
      const rows: Row[] = [];
      for (const { concurrency: c, intervalMs } of levels) {
        const paced = intervalMs !== undefined;
        const total = paced ? 100 : perRound(c);
        const samples: Record<string, Samples> = {};
        const runs: [key: string, url: string, mix: Mix][] = [
          ['bot read-only', urls.bot, 'read'],
          ['bare', urls.bare, 'read'],
          ['bot acting', urls.bot, 'act'],
          ['replying', urls.replying, 'act'],
          ['floor', urls.floor, 'read'],
        ];
        claims = [];
        for (let round = 0; round < rounds; round++) {
          // Alternate the order, so that none always runs right after another.
          const order = round % 2 === 0 ? runs : [...runs].reverse();
          for (const [key, url, mix] of order) {
            await client.load(url, mix, total, c, (samples[key] ??= {}), intervalMs);
          }
        }
        for (const pair of PAIRS) {
          const subject = samples[`bot ${pair.name}`] ?? {};
          const baseline = samples[pair.baseline] ?? {};
          const subjectAll = summarize(all(subject));
          const baselineAll = summarize(all(baseline));
          const ratio = subjectAll.p99 / baselineAll.p99;
          const against = pair.baseline === 'bare' ? 'bare Bolt' : 'Bolt acking and posting one ephemeral';
          rows.push({
            figure: 'ack',
            metric: `${pair.what}: ${paced ? `1 in flight, paced (a request every ${intervalMs} ms)` : `${c} in flight`}`,
            unit: 'ms',
            subject: subjectAll,
            baseline: baselineAll,
            ratio: { value: ratio, of: 'p99' },
            goal: `p99 ≤ 1.5× ${against}`,
            verdict: ratio <= 1.5 ? 'met' : 'missed',
            details: {
              byKind: byKind(subject),
              p50Ratio: subjectAll.p50 / baselineAll.p50,
              ...(pair.mix === 'act' ? { botDeliveryClaim: summarize(claims) } : {}),
              senderFloor: summarize(all(samples['floor'] ?? {})),
              rounds,
              requestsPerRound: total,
            },
          });
          options.log(
            `ack ${pair.name} c=${c}${paced ? ` paced ${intervalMs} ms` : ''}: bot p50 ${subjectAll.p50.toFixed(1)} p99 ${subjectAll.p99.toFixed(1)} | ${pair.baseline} p50 ${baselineAll.p50.toFixed(1)} p99 ${baselineAll.p99.toFixed(1)}`,
          );
        }
      }
      // Approve clicks that approve, beside the same replying app.
      rows.push(...(await benchApprovals(client, { url: apiUrl, botToken }, replying.url, rounds, options)));
      // Let the handlers' ephemeral replies finish before the runtime closes.
      await bot.runtime.notifier?.flush({ timeoutMs: 5_000 }).catch(() => undefined);
      return rows;
    } finally {
      await floor.close();
      await replying.close();
      await bare.close();
      await bot.close();
    }
  } finally {
    await client.stop();
  }
}

/**
 * Approve clicks that approve: the approval and its delivery claim are committed before the ack
 * (issue 21), so each ack waits for a commit the replying baseline never makes. Closed loops at 1
 * and 10 in flight, each click on a gate of its own, in a bot of its own so that its hundreds of
 * gate targets and runs never reach the other figures.
 */
async function benchApprovals(
  client: AckClient,
  api: { url: string; botToken: string },
  replyingUrl: string,
  rounds: number,
  options: FigureOptions,
): Promise<Row[]> {
  const levels = [1, 10];
  const perRound = options.quick ? 50 : 100;
  const gates = rounds * perRound * levels.length;
  const bot = await startBenchBotWithApi(
    {
      prefix: 'ackgate',
      targets: Array.from({ length: gates }, (_, i) => benchTarget(gateTarget(i), 'gate-first', CHANNEL)),
      strategies: [gateFirst],
    },
    api,
  );
  try {
    const values = await openGates(bot, gates);
    const rows: Row[] = [];
    for (const c of levels) {
      const subject: Samples = {};
      const baseline: Samples = {};
      for (let round = 0; round < rounds; round++) {
        const clicks = values.splice(0, perRound);
        const pair: [Samples, string][] = [
          [subject, bot.eventsUrl as string],
          [baseline, replyingUrl],
        ];
        for (const [into, url] of round % 2 === 0 ? pair : [...pair].reverse()) {
          await client.load(url, 'approve', clicks.length, c, into, undefined, clicks);
        }
      }
      const subjectAll = summarize(all(subject));
      const baselineAll = summarize(all(baseline));
      rows.push({
        figure: 'ack',
        metric: `Approve that approves (committed before the ack): ${c} in flight`,
        unit: 'ms',
        subject: subjectAll,
        baseline: baselineAll,
        ratio: { value: subjectAll.p99 / baselineAll.p99, of: 'p99' },
        goal: 'info: the commit is the price of an approval that survives a crash',
        verdict: 'info',
        details: { p50Ratio: subjectAll.p50 / baselineAll.p50, rounds, requestsPerRound: perRound },
      });
      options.log(
        `ack approvals c=${c}: bot p50 ${subjectAll.p50.toFixed(1)} p99 ${subjectAll.p99.toFixed(1)} | replying p50 ${baselineAll.p50.toFixed(1)} p99 ${baselineAll.p99.toFixed(1)}`,
      );
    }
    await bot.runtime.notifier?.flush({ timeoutMs: 5_000 }).catch(() => undefined);
    return rows;
  } finally {
    await bot.close();
  }
}
