// The ack figure's other side, in its own process (so that neither the load nor Slack's side competes
// with the bot for its event loop): the local Slack Web API the bot posts its replies to, and the
// sender of signed requests that times each one. Driven over IPC by ack.ts.
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { SlackApiServer } from '../../src/console/slack-api-server';
import { signRequest, SlackRequestSender, type Actor } from '../../src/console/signed-requests';

/**
 * What the load sends. `read`: the read-only commands and a usage error, in turn (answered in the
 * ack). `act`: `/cutover start` of a busy target and Approve clicks, in turn (each answered with
 * one ephemeral message after the ack). `approve`: Approve clicks on open gates, one per value in
 * `gates` (each approval is committed before its ack).
 */
export type Mix = 'read' | 'act' | 'approve';

export type ClientRequest =
  | {
      type: 'load';
      seq: number;
      url: string;
      secret: string;
      total: number;
      concurrency: number;
      mix: Mix;
      /** The target `start` names (it has an active run: every start is refused). */
      target: string;
      /** `approve`: the Approve buttons' values, one per request. */
      gates?: string[];
      /** Paced: a request starts no sooner than this many ms after the previous one started. */
      intervalMs?: number;
    }
  | { type: 'stop' };

export type ClientReply =
  | { type: 'ready'; apiUrl: string; botToken: string }
  | {
      type: 'done';
      seq: number;
      /** Latencies (ms) by kind of request: `status`, `list`, …, `start`, `approve`. */
      byKind: Record<string, number[]>;
      failures: number;
      error?: string;
    };

const CHANNEL = 'C0BENCHACK';
const READ_COMMANDS: [kind: string, text: string][] = [
  ['status', 'status'],
  ['list', 'list'],
  ['help', 'help'],
  ['targets', 'targets'],
  ['usage error', 'strat the-db'],
];
let actionSeq = 0;

/** The i-th request of a mix, and its kind. */
function nextBody(
  sender: SlackRequestSender,
  actor: Actor,
  request: Extract<ClientRequest, { type: 'load' }>,
  i: number,
): [string, string] {
  if (request.mix === 'read') {
    const [kind, text] = READ_COMMANDS[i % READ_COMMANDS.length]!;
    return [kind, sender.slashCommandBody(actor, CHANNEL, text)];
  }
  if (request.mix === 'act' && i % 2 === 0) {
    return ['start', sender.slashCommandBody(actor, CHANNEL, `start ${request.target}`)];
  }
  actionSeq += 1;
  const gate = request.mix === 'approve' ? request.gates?.[i] : undefined;
  if (request.mix === 'approve' && gate === undefined) throw new Error(`no gate for request ${i}`);
  // `act`: an Approve click on a run that does not exist: read, refused, answered.
  const click = sender.buttonClickBody(actor, CHANNEL, {
    actionId: 'cutover_approve',
    value: gate ?? JSON.stringify({ runId: randomUUID(), step: 3, round: 1 }),
    messageTs: '1700000000.000100',
    // Unique per click: the dedupe key includes action_ts.
    actionTs: `${Math.floor(Date.now() / 1000)}.${String(actionSeq).padStart(6, '0')}`,
  });
  return [gate === undefined ? 'approve' : 'approval', click];
}

/**
 * Signs and posts like SlackRequestSender.send, over node:http with keep-alive (fetch costs this
 * process several times more CPU per request, which at 50 in flight made the sender the bottleneck).
 */
function post(url: URL, agent: Agent, secret: string, body: string): Promise<number> {
  const signed = signRequest(secret, body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...signed.headers, 'content-length': Buffer.byteLength(signed.body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(signed.body);
  });
}

/** `total` signed requests, `concurrency` in flight; latency from send to the full response. */
async function load(request: Extract<ClientRequest, { type: 'load' }>, actor: Actor): Promise<ClientReply> {
  const sender = new SlackRequestSender(request.url, request.secret);
  const url = new URL(request.url);
  const agent = new Agent({ keepAlive: true, maxSockets: request.concurrency });
  const byKind: Record<string, number[]> = {};
  let failures = 0;
  let next = 0;
  let lastStart = -Infinity;
  const worker = async (): Promise<void> => {
    while (next < request.total) {
      const i = next++;
      if (request.intervalMs) {
        const wait = lastStart + request.intervalMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        lastStart = performance.now();
      }
      const [kind, body] = nextBody(sender, actor, request, i);
      const started = performance.now();
      const status = await post(url, agent, request.secret, body);
      const elapsed = performance.now() - started;
      if (status !== 200) failures += 1;
      (byKind[kind] ??= []).push(elapsed);
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, () => worker()));
  agent.destroy();
  return { type: 'done', seq: request.seq, byKind, failures };
}

async function main(): Promise<void> {
  const teamId = process.argv[2] ?? 'T0BENCH';
  const userId = process.argv[3] ?? 'U0APPROVER';
  const actor: Actor = { userId, teamId };
  const slack = await SlackApiServer.start({ teamId });
  const send = (reply: ClientReply) => process.send?.(reply);
  process.on('message', (message: ClientRequest) => {
    if (message.type === 'stop') {
      void slack.close().finally(() => process.exit(0));
      return;
    }
    load(message, actor).then(send, (error: unknown) =>
      send({ type: 'done', seq: message.seq, byKind: {}, failures: -1, error: String(error) }),
    );
  });
  // The parent going away ends this process too.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', apiUrl: slack.url, botToken: slack.botToken });
}

void main();
