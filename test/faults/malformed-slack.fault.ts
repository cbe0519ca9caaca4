// Malformed Slack requests, correctly signed so that they get past verification and reach the
// handlers: random JSON (as an interactivity payload and as an Events API body), truncated bodies,
// huge fields and wrong types (fast-check). Each must be answered with a 2xx or 4xx, never a 5xx or
// a dropped connection; afterwards the bot still answers, and nothing changed: no run started, the
// run waiting at its gate is exactly as it was, no approval stored, only refusals audited.
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import IORedis from 'ioredis';
import { Client } from 'pg';
import type { Run } from '../../src/engine/types';
import { signRequest, type Actor } from '../../src/console/signed-requests';
import { testTarget } from '../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../support/services/pg';
import { freshQueueName, testRedisUrl } from '../support/services/redis';
import { untilRunState } from '../support/runtimes/run-state';
import {
  approver,
  bystander,
  CHANNEL,
  requester,
  SIGNING_SECRET,
  startSlackHarness,
  type SlackHarness,
} from '../support/fakes/slack-harness';
import { buttonsOf, ephemeralsTo, latestButton } from '../support/fakes/slack-messages';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import { spawnSlackBot } from './support/slack-bot';

const SUITE = 'malformed slack requests';
const schema = freshSchemaName('f_fuzz');
const NUM_RUNS = 250;
const BATCH = 25;
/** Slack's own limit on a message's text; a slash command's text cannot be longer. */
const SLACK_TEXT_LIMIT = 40_000;
/**
 * Keys Bolt classifies a bare object by (an options request, an action, an event); before the body
 * guard let through only what this app answers, such a body made Bolt's dispatch throw (HTTP 500).
 */
const BOLT_CLASSIFYING_KEYS = ['actions', 'event', 'name', 'command'];
/** Content types a malformed request may come with: Bolt reads a form only for exactly the first. */
const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/json',
  'text/plain',
  '',
];
let h: SlackHarness;
let gateRun: Run;
/** The confirmation modal the bot opened for the approver: its callback id and metadata are real. */
let modal: { callback_id: string; private_metadata: string };

beforeAll(async () => {
  h = await startSlackHarness({
    schema,
    queueName: freshQueueName('f-fuzz'),
    targets: [testTarget('fuzz-db', { polls: 0 }), testTarget('idle-db', { polls: 0 })],
  });
  expect((await h.sender.command(requester, CHANNEL, 'start fuzz-db')).status).toBe(200);
  const started = await waitFor('the run', async () => (await h.runtime.store.listRecentRuns(10))[0]);
  gateRun = await untilRunState(h.runtime.store, started.id, ['awaiting_approval']);
  const approve = await waitFor('approval prompt', async () =>
    latestButton(h.slack, CHANNEL, 'cutover_approve'),
  );
  // Clicking Approve only opens the modal: no state change, but a real view to deform.
  await h.sender.send(
    h.sender.buttonClickBody(approver, CHANNEL, {
      actionId: approve.actionId,
      value: approve.value,
      messageTs: approve.message.ts,
      triggerId: h.slack.issueTriggerId(approver.userId),
    }),
  );
  const opened = await waitFor('confirmation modal', async () => h.slack.callsTo('views.open')[0]);
  modal = opened.args['view'] as typeof modal;
  gateRun = (await h.runtime.store.getRun(gateRun.id))!;
});

afterAll(async () => {
  await h.close();
});

interface Counts {
  runs: number;
  approvals: number;
  decisions: number;
}

async function counts(): Promise<Counts> {
  const result = await h.runtime.store.pool.query<{ runs: string; approvals: string; decisions: string }>(
    `SELECT (SELECT count(*) FROM ${schema}.runs) AS runs,
            (SELECT count(*) FROM ${schema}.approvals) AS approvals,
            (SELECT count(*) FROM ${schema}.audit_events WHERE type NOT LIKE 'refused:%') AS decisions`,
  );
  const row = result.rows[0]!;
  return { runs: Number(row.runs), approvals: Number(row.approvals), decisions: Number(row.decisions) };
}

/** Well-formed requests to deform, all by someone who may not decide anything. */
function basePayloads(actor: Actor): Record<string, Record<string, unknown>> {
  const approve = latestButton(h.slack, CHANNEL, 'cutover_approve')!;
  const abort = buttonsOf(approve.message).find((button) => button.actionId === 'cutover_abort')!;
  const payloadOf = (body: string) =>
    JSON.parse(new URLSearchParams(body).get('payload') ?? '{}') as Record<string, unknown>;
  const click = (button: typeof approve) =>
    payloadOf(
      h.sender.buttonClickBody(actor, CHANNEL, {
        actionId: button.actionId,
        value: button.value,
        messageTs: button.message.ts,
      }),
    );
  return {
    approveClick: click(approve),
    abortClick: click(abort),
    submission: payloadOf(
      h.sender.viewSubmissionBody(actor, {
        id: 'V0FUZZ',
        callbackId: modal.callback_id,
        privateMetadata: modal.private_metadata,
        values: { confirm_target: { typed_target: 'fuzz-db' } },
      }),
    ),
  };
}

interface Deformed {
  what: string;
  body: string;
  contentType?: string;
}

/** Counterexamples print as what was deformed and the size, not a 400 kB body. */
function deformed(request: Deformed): Deformed {
  return Object.assign(request, {
    [fc.toStringMethod]: () => `${request.what} (${request.body.length} bytes)`,
    toString: () => `${request.what} (${request.body.length} bytes)`,
  });
}

const wrongValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
  fc.string({ maxLength: 20 }),
);

/** Sets `value` at a path of nested keys and indexes, creating nothing that is not there. */
function setAt(target: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  if (target === null || typeof target !== 'object') return target;
  const [head, ...rest] = path as [string, ...string[]];
  const copy: Record<string, unknown> = Array.isArray(target)
    ? ([...target] as unknown as Record<string, unknown>)
    : { ...target };
  if (!(head in copy)) return target;
  copy[head] = setAt(copy[head], rest, value);
  return copy;
}

/** Every path (keys and indexes) in a JSON value, for picking one to deform. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Object.entries(value as Record<string, unknown>).flatMap(([key, child]) =>
    pathsOf(child, [...prefix, key]),
  );
  return prefix.length > 0 ? [prefix, ...children] : children;
}

async function dropTable(table: string): Promise<void> {
  const client = new Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
  } finally {
    await client.end();
  }
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function deformations(): fc.Arbitrary<Deformed> {
  const bases = basePayloads(bystander);
  const baseNames = Object.keys(bases);
  const command = h.sender.slashCommandBody(bystander, CHANNEL, 'status fuzz-db');
  const wholeBodies = [
    command,
    ...Object.values(bases).map((payload) => form({ payload: JSON.stringify(payload) })),
  ];
  const basePick = fc.constantFrom(...baseNames);

  const randomJsonPayload = fc
    .json({ maxDepth: 4 })
    .map((json) => ({ what: 'random JSON payload', body: form({ payload: json }) }));
  const randomJsonBody = fc.json({ maxDepth: 4 }).map((json) => ({
    what: 'random JSON body',
    body: json,
    contentType: 'application/json',
  }));
  const truncated = fc
    .tuple(fc.constantFrom(...wholeBodies), fc.double({ min: 0, max: 1, noNaN: true }))
    .map(([body, cut]) => ({ what: 'truncated body', body: body.slice(0, Math.floor(body.length * cut)) }));
  const huge = fc
    .tuple(
      basePick,
      fc.nat(),
      fc.integer({ min: 10_000, max: 400_000 }),
      fc.constantFrom('x', 'é', '"', '\\', '%'),
    )
    .map(([name, pick, size, char]) => {
      const base = bases[name]!;
      const paths = pathsOf(base);
      const path = paths[pick % paths.length]!;
      return {
        what: `huge ${name}.${path.join('.')}`,
        body: form({ payload: JSON.stringify(setAt(base, path, char.repeat(size))) }),
      };
    });
  const hugeCommand = fc.integer({ min: 10_000, max: SLACK_TEXT_LIMIT - 10 }).map((size) => ({
    what: 'huge command text',
    body: h.sender.slashCommandBody(bystander, CHANNEL, `status ${'x'.repeat(size)}`),
  }));
  const wrongTypes = fc
    .tuple(basePick, fc.nat(), fc.nat(), wrongValue, wrongValue)
    .map(([name, a, b, v1, v2]) => {
      const base = bases[name]!;
      const paths = pathsOf(base);
      const first = paths[a % paths.length]!;
      const second = paths[b % paths.length]!;
      return {
        what: `wrong types ${name}.${first.join('.')}, .${second.join('.')}`,
        body: form({ payload: JSON.stringify(setAt(setAt(base, first, v1), second, v2)) }),
      };
    });
  const commandFields = Object.keys(Object.fromEntries(new URLSearchParams(command)));
  const brokenCommand = fc
    .tuple(fc.subarray(commandFields), fc.string({ maxLength: 30 }))
    .map(([dropped, text]) => {
      const params = new URLSearchParams(command);
      for (const field of dropped) params.delete(field);
      // A repeated field (an array where a string belongs), with text that starts nothing.
      params.append('user_id', text);
      return { what: `command without ${dropped.join(',') || 'nothing'}`, body: params.toString() };
    });
  // Arbitrary text under any content type; `name`, `event=x` or `actions=` as a flat form once got a 500.
  const keyish = fc.oneof(
    fc.constantFrom(...BOLT_CLASSIFYING_KEYS, 'payload', 'type'),
    fc.string({ maxLength: 8 }),
  );
  const flatForm = fc
    .array(fc.tuple(keyish, fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }))), { maxLength: 4 })
    .map((pairs) =>
      pairs
        .map(([key, value]) => (value === '' ? encodeURIComponent(key) : form({ [key]: value })))
        .join('&'),
    );
  const notForm = fc
    .tuple(fc.oneof(fc.string({ maxLength: 200 }), flatForm), fc.constantFrom(...CONTENT_TYPES))
    .map(([body, contentType]) => ({
      what: `arbitrary text (${contentType || 'no content type'})`,
      body,
      contentType,
    }));
  return fc
    .oneof(
      randomJsonPayload,
      randomJsonBody,
      truncated,
      huge,
      hugeCommand,
      wrongTypes,
      brokenCommand,
      notForm,
    )
    .map(deformed);
}

/** What was sent: small bodies in full (decoded), large ones by what was deformed and their size. */
function describe(request: Deformed): string {
  if (request.body.length > 600) return `${request.what} (${request.body.length} bytes)`;
  let shown = request.body;
  try {
    shown = new URLSearchParams(request.body).get('payload') ?? request.body;
  } catch {
    // not form-encoded: shown as is
  }
  return `${request.what}: ${shown}`;
}

async function post(request: Deformed): Promise<number> {
  const signed = signRequest(SIGNING_SECRET, request.body, request.contentType);
  const response = await fetch(h.eventsUrl, {
    method: 'POST',
    headers: signed.headers,
    body: signed.body,
    signal: AbortSignal.timeout(10_000),
  });
  await response.text();
  return response.status;
}

faultTest(
  SUITE,
  `${NUM_RUNS} malformed, signed requests (random JSON, truncated, huge fields, wrong types)`,
  async (fault) => {
    const before = await counts();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const statuses: Record<string, number> = {};
    const ephemeralsBefore = ephemeralsTo(h.slack, bystander.userId).length;
    try {
      await fc.assert(
        // Batches sent at once: Bolt answers an unhandled request with 404 only after 3 s.
        fc.asyncProperty(fc.array(deformations(), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          fault.faultsInjected += batch.length;
          const answers = await Promise.all(
            batch.map((request) =>
              post(request).then(
                (status) => ({ request, status: String(status) }),
                (error: Error) => ({
                  request,
                  status: `no answer (${error.name}: ${String((error.cause as Error | undefined)?.message ?? error.message)})`,
                }),
              ),
            ),
          );
          for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1;
          // Answered, with a 2xx (an ack, possibly an ephemeral error) or a 4xx; never a server error.
          const bad = answers.filter(({ status }) => !/^[24]\d\d$/.test(status));
          expect(bad.map(({ request, status }) => `${describe(request)} → ${status}`)).toEqual([]);
        }),
        // No shrinking: a batch is 25 requests and an unhandled one takes 3 s; the message lists the bad ones.
        // The seed is the run's FC_SEED (test/support/fast-check-seed.ts); a failure prints it.
        { numRuns: NUM_RUNS / BATCH, endOnFailure: true },
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
      fault.note = `statuses ${JSON.stringify(statuses)}; ephemeral answers ${ephemeralsTo(h.slack, bystander.userId).length - ephemeralsBefore}`;
    }

    // Still alive and answering.
    expect((await h.sender.command(bystander, CHANNEL, 'help')).status).toBe(200);
    // Nothing changed: the handlers' async work after the ack has had time to do anything it would.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await counts()).toEqual(before);
    expect(await h.runtime.store.getRun(gateRun.id)).toEqual(gateRun);
    expect(await h.world.effects(gateRun.id)).not.toContain('switch');
    expect(unhandled).toEqual([]);
  },
  120_000,
);

faultTest(
  SUITE,
  'signed bodies that are not objects (JSON null, payload=null): the process survives',
  async (fault) => {
    // Each body goes to a bot process that is alive: after a crash the next body gets a fresh one.
    const bodies: { label: string; body: string; contentType: string }[] = [
      ...['[]', '1', '"x"', 'true', 'null'].map((json) => ({
        label: `JSON body ${json}`,
        body: json,
        contentType: 'application/json',
      })),
      ...['[]', '1', '"x"', 'null'].map((json) => ({
        label: `payload=${json}`,
        body: form({ payload: json }),
        contentType: 'application/x-www-form-urlencoded',
      })),
    ];
    const results: string[] = [];
    let bot: {
      child: ChildProcess;
      eventsUrl: string;
      schema: string;
      queue: string;
      stderr: string;
    } | null = null;
    const stopBot = async () => {
      if (!bot) return;
      const { child, schema: childSchema, queue } = bot;
      bot = null;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
        return;
      }
      // It crashed: remove what it left.
      await dropSchema(childSchema);
      await dropTable(`${childSchema}_world`);
      const redis = new IORedis(testRedisUrl(0));
      const keys = await redis.keys(`bull:${queue}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    };
    try {
      for (const { label, body, contentType } of bodies) {
        if (!bot) {
          const childSchema = freshSchemaName('f_fuzz_child');
          const queue = freshQueueName('f-fuzz-child');
          const spawned = spawnSlackBot({ FAULT_SCHEMA: childSchema, FAULT_QUEUE: queue });
          const started = { child: spawned.child, eventsUrl: await spawned.eventsUrl };
          const current = { ...started, schema: childSchema, queue, stderr: '' };
          started.child.stderr?.on('data', (chunk: Buffer) => (current.stderr += chunk.toString()));
          bot = current;
        }
        fault.faultsInjected++;
        const signed = signRequest(SIGNING_SECRET, body, contentType);
        const status = await fetch(bot.eventsUrl, {
          method: 'POST',
          headers: signed.headers,
          body: signed.body,
          signal: AbortSignal.timeout(5_000),
        }).then(
          (response) => String(response.status),
          (error: unknown) => `no answer (${(error as Error).name})`,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        const { child } = bot;
        const alive = child.exitCode === null && child.signalCode === null;
        if (!alive) {
          const reason =
            /TypeError[^\n]*/.exec(bot.stderr)?.[0] ?? `exit ${child.exitCode ?? child.signalCode}`;
          results.push(`${label} → ${status}, process died (${reason})`);
          await stopBot();
        } else {
          results.push(`${label} → ${status}`);
        }
      }
    } finally {
      await stopBot();
      fault.note = results.join('; ');
    }
    expect(results.filter((line) => !/ → [24]\d\d$/.test(line))).toEqual([]);
  },
  90_000,
);

faultTest(
  SUITE,
  'payloads Bolt would classify but cannot dispatch (wrong-typed user/channel/actions/view; bare actions/event/name): 4xx, not 500',
  async (fault) => {
    const before = await counts();
    const bases = basePayloads(bystander);
    const cases: [string, string, unknown][] = [];
    for (const name of ['approveClick', 'abortClick'])
      for (const [key, value] of [
        ['user', null],
        ['channel', null],
        ['actions', null],
        ['actions', 1],
        ['actions', {}],
        ['actions', true],
      ] as const)
        cases.push([name, key, value]);
    cases.push(['submission', 'user', null], ['submission', 'view', null]);
    // A bare object with a key Bolt classifies by, and nothing else.
    for (const key of BOLT_CLASSIFYING_KEYS)
      for (const value of [null, 1, 'x']) cases.push(['bare', key, value]);
    const answers = await Promise.all(
      cases.map(async ([name, key, value]) => {
        fault.faultsInjected++;
        const payload = name === 'bare' ? { [key]: value } : setAt(bases[name], [key], value);
        const body = form({ payload: JSON.stringify(payload) });
        const status = await post({ what: `${name}.${key}`, body }).then(
          String,
          (error: Error) => error.name,
        );
        return `${name}.${key}=${JSON.stringify(value)} → ${status}`;
      }),
    );
    const wrong = answers.filter((line) => !/ → [24]\d\d$/.test(line));
    fault.note = wrong.length === 0 ? `${answers.length} answered 2xx/4xx` : wrong.join('; ');
    expect(wrong).toEqual([]);
    expect(await counts()).toEqual(before);
  },
  60_000,
);
