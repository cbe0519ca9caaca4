// The Slack notifier against the real PostgreSQL store and the local Slack Web API server.
import { randomUUID } from 'node:crypto';
import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';

import { PgRunStore } from '../../../src/adapters/store/pg-run-store';
import { PgSlackMessageStore } from '../../../src/adapters/store/slack-messages';
import {
  SlackApiServer,
  type ConsoleMessage,
  type RecordedCall,
} from '../../../src/console/slack-api-server';
import { createRun, transition } from '../../../src/engine/transition';
import type { Effect, GatePolicy, Plan, Run, RunEvent, StepSpec } from '../../../src/engine/types';
import type { Logger } from '../../../src/ports/logger';
import { createSlackClient, SlackNotifier, type SlackNotifierDeps } from '../../../src/slack/notifier';
import { UpdateBudget } from '../../../src/ports/update-budget';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { waitFor } from '../../support/wait-for';

const schema = freshSchemaName('t_notifier');
const REQUESTER = 'U0REQUESTER';
const APPROVER = 'U0APPROVER';
const POLICY: GatePolicy = { approvalTimeoutMs: 15 * 60_000, requiredApprovals: 1, allowSelfApproval: false };

let store: PgRunStore;
let messageStore: PgSlackMessageStore;
let server: SlackApiServer;
const notifiers: SlackNotifier[] = [];

/** The WebClient logs Slack's error answers through its own logger; keep test output clean. */
const silentSlack: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

function recordingLogger(entries: LogEntry[] = []): Logger & { entries: LogEntry[] } {
  const log = (level: LogEntry['level']) => (obj: object, msg?: string) => {
    entries.push(msg === undefined ? { level, obj } : { level, obj, msg });
  };
  const logger: Logger & { entries: LogEntry[] } = {
    entries,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

function makeNotifier(overrides: Partial<SlackNotifierDeps> = {}): SlackNotifier & { entries: LogEntry[] } {
  const log = recordingLogger();
  const notifier = new SlackNotifier({
    client: createSlackClient(server.botToken, server.url, { logger: silentSlack }),
    store,
    messages: messageStore,
    clock: { now: () => new Date() },
    log,
    describeGate: () => ({
      approvers: [APPROVER],
      conditions: [{ label: 'Replication lag', value: '0 B / 0.0 s' }],
      whatWillHappen: 'The standby is promoted and takes writes.',
      irreversible: 'After promotion there is no automatic way back.',
    }),
    ...overrides,
  });
  notifiers.push(notifier);
  return Object.assign(notifier, { entries: log.entries });
}

function checks(n: number): StepSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `check-${i + 1}`,
    kind: 'check' as const,
    title: `Check ${i + 1}`,
    executor: 'check',
  }));
}

const GATED: StepSpec[] = [
  { name: 'in-sync', kind: 'check', title: 'Standby is in sync', executor: 'inSync' },
  { name: 'approve', kind: 'gate', title: 'Approve promotion' },
  { name: 'promote', kind: 'action', title: 'Promote the standby', executor: 'promote' },
];

async function newRun(channel: string, steps: StepSpec[], policy: GatePolicy = POLICY): Promise<Run> {
  const plan: Plan = { strategy: 'replica-promotion', target: `db-${randomUUID().slice(0, 8)}`, steps };
  const run = createRun({
    id: randomUUID(),
    plan,
    requestedBy: REQUESTER,
    channel,
    policy,
    at: new Date().toISOString(),
  });
  expect(await store.insertRun(run, REQUESTER)).toEqual({ ok: true });
  return run;
}

type EventInput = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'at'> & { at?: string }
    : never
  : never;

/** What RunService does: apply the event, then tell the observer (without waiting for it). */
async function apply(
  notifier: SlackNotifier,
  runId: string,
  event: EventInput,
): Promise<{ run: Run; effects: Effect[] }> {
  const full: RunEvent = { ...event, at: event.at ?? new Date().toISOString() };
  const outcome = await store.applyEvent(runId, full, 'test', transition);
  if (!outcome.ok) throw new Error(`${full.type} refused: ${outcome.error}`);
  notifier.runChanged(outcome.run, outcome.effects, full.type);
  return outcome;
}

/** Starts the run and drives the first check step to success (opens the gate of GATED). */
async function passStep(
  notifier: SlackNotifier,
  runId: string,
  step: number,
): Promise<{ run: Run; effects: Effect[] }> {
  await apply(notifier, runId, { type: 'step_started', step, attempt: 1 });
  return apply(notifier, runId, { type: 'step_succeeded', step, attempt: 1 });
}

function callsIn(method: string, channel: string): RecordedCall[] {
  return server.callsTo(method).filter((c) => c.args['channel'] === channel);
}

function topLevel(channel: string): ConsoleMessage[] {
  return server.messages(channel).filter((m) => m.thread_ts === undefined);
}

function thread(channel: string, ts: string): ConsoleMessage[] {
  return server.messages(channel).filter((m) => m.thread_ts === ts);
}

/** Every text in a message's blocks (and its fallback), joined: what a person reads. */
function textOf(message: ConsoleMessage | undefined): string {
  if (message === undefined) return '';
  const out: string[] = [message.text];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') out.push(inner);
        else walk(inner);
      }
    }
  };
  walk(message.blocks ?? []);
  return out.join('\n');
}

function actionIds(message: ConsoleMessage | undefined): string[] {
  const ids: string[] = [];
  for (const block of (message?.blocks ?? []) as Array<{
    type: string;
    elements?: Array<{ action_id?: string }>;
  }>) {
    if (block.type !== 'actions') continue;
    for (const element of block.elements ?? []) if (element.action_id) ids.push(element.action_id);
  }
  return ids;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  store = await PgRunStore.open({ connectionString: testDatabaseUrl, schema, poolSize: 6 });
  messageStore = new PgSlackMessageStore(store.pool, store.schema);
  server = await SlackApiServer.start();
});

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
});

afterAll(async () => {
  await server.close();
  await store.close();
  await dropSchema(schema);
});

describe('PgSlackMessageStore', () => {
  it('gives a (run, key) to exactly one of many concurrent claimers and remembers where it was posted', async () => {
    const run = await newRun('C0STORE01', checks(1));
    const claims = await Promise.all(Array.from({ length: 8 }, () => messageStore.claim(run.id, 'progress')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await messageStore.get(run.id, 'progress')).toEqual({ channel: null, ts: null });
    expect(await messageStore.claim(run.id, 'gate:1:1', 'C0STORE01')).toBe(true);
    expect(await messageStore.get(run.id, 'gate:1:1')).toEqual({ channel: 'C0STORE01', ts: null });
    await messageStore.setTs(run.id, 'progress', 'C0STORE01', '1700000000.000100');
    expect(await messageStore.get(run.id, 'progress')).toEqual({
      channel: 'C0STORE01',
      ts: '1700000000.000100',
    });
    expect(await messageStore.get(run.id, 'gate:9:9')).toBeNull();
    expect(await messageStore.get('not-a-uuid', 'progress')).toBeNull();
  });
});

describe('SlackNotifier', () => {
  it('coalesces 20 transitions into one post and at most one update a second, showing the latest state', async () => {
    const channel = 'C0COALESCE';
    const notifier = makeNotifier({ lagLimits: () => ({ maxBytes: 512 * 1024 }) });
    const run = await newRun(channel, checks(12));
    for (const [i, mb] of [3, 2, 1].entries()) {
      const at = new Date(Date.now() - (3 - i) * 1000).toISOString();
      await store.recordLagSample({ runId: run.id, at, bytes: mb * 1024 * 1024, seconds: mb });
    }

    const t0 = Date.now();
    await apply(notifier, run.id, { type: 'start' });
    for (let step = 0; step < 9; step += 1) await passStep(notifier, run.id, step);
    await apply(notifier, run.id, { type: 'step_started', step: 9, attempt: 1 });
    // 20 transitions, normally within 300 ms (more on a loaded machine; the checks below hold either way).
    const burstMs = Date.now() - t0;

    await sleep(Math.max(0, t0 + 1000 - Date.now()));
    const firstSecond = (method: string) => callsIn(method, channel).filter((c) => c.at < t0 + 1000);
    expect(firstSecond('chat.postMessage')).toHaveLength(1);
    expect(firstSecond('chat.update').length).toBeLessThanOrEqual(1);

    await notifier.flush({ timeoutMs: 10_000 });
    expect(callsIn('chat.postMessage', channel)).toHaveLength(1);
    const post = callsIn('chat.postMessage', channel)[0]!;
    const updates = callsIn('chat.update', channel);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThanOrEqual(1 + Math.ceil(burstMs / 1000));
    // One write of the message per second: its post, then each update.
    [post, ...updates].forEach((call, i, all) => {
      if (i > 0) expect(call.at - all[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    });

    const [progress] = topLevel(channel);
    expect(topLevel(channel)).toHaveLength(1);
    expect((await messageStore.get(run.id, 'progress'))?.ts).toBe(progress!.ts);
    const shown = textOf(progress);
    expect(shown).toContain('*Step*\n10 of 12');
    expect(shown).toContain(':white_check_mark: Check 9');
    expect(shown).toContain(':hourglass_flowing_sand: *Check 10*');
    expect(shown).toContain(':white_circle: Check 11');
    // Lag samples are read at flush time too.
    expect(shown).toContain('Lag: 1.0 MB / 1.0 s');
    expect(shown).toContain('ETA to threshold');
  });

  it("keeps chat.update within the workspace's budget, and a lag-only redraw never uses the share kept for changes", async () => {
    const channel = 'C0BUDGET';
    const notifier = makeNotifier({
      updateBudget: new UpdateBudget({ perMinute: 8, reservedForChanges: 4 }),
    });
    const runs = await Promise.all([1, 2, 3, 4, 5].map(() => newRun(channel, checks(3))));
    for (const run of runs) await apply(notifier, run.id, { type: 'start' });
    await notifier.flush({ timeoutMs: 10_000 });
    expect(callsIn('chat.postMessage', channel)).toHaveLength(5);
    const before = callsIn('chat.update', channel).length; // all within this minute
    // Three seconds of lag samples for every run: each would redraw its message once a second
    // (about 15 updates without a budget).
    for (let round = 0; round < 10; round += 1) {
      for (const run of runs) {
        await store.recordLagSample({
          runId: run.id,
          at: new Date().toISOString(),
          bytes: 1024 * round,
          seconds: round,
        });
        notifier.runChanged((await store.getRun(run.id))!, [], 'lag_sample');
      }
      await sleep(300);
    }
    const afterLag = callsIn('chat.update', channel).length;
    // Lag-only redraws stop once the minute holds perMinute − reserved updates.
    expect(afterLag).toBeLessThanOrEqual(Math.max(before, 4));
    // A real change still gets through, from the reserved share, and the minute stays within budget.
    await apply(notifier, runs[0]!.id, { type: 'step_started', step: 0, attempt: 1 });
    await waitFor('the change drawn', async () =>
      callsIn('chat.update', channel).length > afterLag ? true : undefined,
    );
    expect(callsIn('chat.update', channel).length).toBeLessThanOrEqual(8);
  });

  it('a crowd of runs changing at the same moment gets no more chat.update than the budget', async () => {
    const channel = 'C0CROWD01';
    const notifier = makeNotifier({
      updateBudget: new UpdateBudget({ perMinute: 6, reservedForChanges: 2 }),
    });
    const runs = await Promise.all(Array.from({ length: 12 }, () => newRun(channel, checks(2))));
    for (const run of runs) await apply(notifier, run.id, { type: 'start' });
    await waitFor('every progress message', async () =>
      callsIn('chat.postMessage', channel).length === runs.length ? true : undefined,
    );
    // Every message wants a redraw at once; their renders overlap while each awaits the store.
    await Promise.all(
      runs.map((run) => apply(notifier, run.id, { type: 'step_started', step: 0, attempt: 1 })),
    );
    await waitFor('the budget spent', async () =>
      callsIn('chat.update', channel).length >= 6 ? true : undefined,
    );
    await sleep(2_000); // room for any update the budget should not have let through
    expect(callsIn('chat.update', channel)).toHaveLength(6);
  });

  it("a gate's outcome is a chat.update too: it waits for the budget like any other", async () => {
    const channel = 'C0GATEBUDG';
    const notifier = makeNotifier({
      updateBudget: new UpdateBudget({ perMinute: 1, reservedForChanges: 0 }),
    });
    const run = await newRun(channel, GATED);
    await apply(notifier, run.id, { type: 'start' });
    await passStep(notifier, run.id, 0);
    const prompt = await waitFor('the gate prompt', () =>
      Promise.resolve(topLevel(channel).find((m) => actionIds(m).includes('cutover_approve'))),
    );
    await waitFor('the minute spent on the progress message', async () =>
      callsIn('chat.update', channel).length >= 1 ? true : undefined,
    );
    await waitFor(
      'the prompt ts in the store',
      async () => (await messageStore.get(run.id, 'gate:1:1'))?.ts === prompt.ts,
    );
    await apply(notifier, run.id, { type: 'approve', step: 1, round: 1, user: APPROVER });
    await sleep(2_000); // room for an update the budget should not let through
    expect(callsIn('chat.update', channel)).toHaveLength(1);
    expect(actionIds(server.message(channel, prompt.ts))).toEqual(['cutover_approve', 'cutover_abort']);
  });

  it('after a 429 on chat.update makes no chat.update for Retry-After seconds, then draws the final state', async () => {
    const channel = 'C0RATELIMIT';
    const notifier = makeNotifier();
    const run = await newRun(channel, checks(6));
    await apply(notifier, run.id, { type: 'start' });
    await waitFor('the progress message', () => Promise.resolve(topLevel(channel).length === 1));

    server.rateLimit('chat.update', 2);
    await passStep(notifier, run.id, 0);
    const limited = await waitFor('the 429', () =>
      Promise.resolve(callsIn('chat.update', channel).find((c) => c.status === 429)),
    );

    // More changes while chat.update is held back; chat.postMessage (thread replies) is not held back.
    await passStep(notifier, run.id, 1);
    await apply(notifier, run.id, { type: 'step_started', step: 2, attempt: 1 });
    await apply(notifier, run.id, {
      type: 'step_failed',
      step: 2,
      attempt: 1,
      failure: { class: 'fatal', message: 'checksum mismatch on page 42' },
    });
    await notifier.flush({ timeoutMs: 10_000 });

    const after = callsIn('chat.update', channel).filter((c) => c.at > limited.at);
    expect(after.length).toBeGreaterThanOrEqual(1);
    for (const call of after) expect(call.at - limited.at).toBeGreaterThanOrEqual(2000);
    const replies = callsIn('chat.postMessage', channel).filter((c) => c.args['thread_ts'] !== undefined);
    expect(replies[0]!.at).toBeLessThan(limited.at + 2000);

    const shown = textOf(topLevel(channel)[0]);
    expect(shown).toContain(':x: Failed');
    expect(shown).toContain('checksum mismatch on page 42');
    expect(shown).toContain(':white_check_mark: Check 2');
  });

  it('posts a gate prompt with Approve and Abort, and replaces the buttons with who approved', async () => {
    const channel = 'C0GATES01';
    const notifier = makeNotifier({ minUpdateIntervalMs: 200 });
    const run = await newRun(channel, GATED);
    await apply(notifier, run.id, { type: 'start' });
    const opened = await passStep(notifier, run.id, 0);
    expect(opened.effects).toContainEqual(
      expect.objectContaining({ type: 'gate_opened', step: 1, round: 1 }),
    );

    const prompt = await waitFor('the gate prompt', () =>
      Promise.resolve(topLevel(channel).find((m) => actionIds(m).includes('cutover_approve'))),
    );
    expect(actionIds(prompt)).toEqual(['cutover_approve', 'cutover_abort']);
    expect(textOf(prompt)).toContain('Approval needed');
    expect(textOf(prompt)).toContain('The standby is promoted and takes writes.');
    expect(textOf(prompt)).toContain('After promotion there is no automatic way back.');
    await waitFor(
      'the prompt ts in the store',
      async () => (await messageStore.get(run.id, 'gate:1:1'))?.ts === prompt.ts,
    );

    await apply(notifier, run.id, { type: 'approve', step: 1, round: 1, user: APPROVER });
    await notifier.flush({ timeoutMs: 10_000 });

    const decided = server.message(channel, prompt.ts);
    expect(actionIds(decided)).toEqual([]);
    expect(textOf(decided)).toContain(`Approved by <@${APPROVER}>`);
    expect(textOf(decided)).toContain('The standby is promoted and takes writes.');
    // One progress message and one prompt; the progress message moved on to the next step.
    expect(topLevel(channel)).toHaveLength(2);
    const progress = topLevel(channel).find((m) => m.ts !== prompt.ts);
    expect(textOf(progress)).toContain(`approved by <@${APPROVER}>`);
    expect(textOf(progress)).toContain('*Promote the standby*');
  });

  it('an expired prompt offers "Ask again"; an aborted one says who aborted', async () => {
    const channel = 'C0GATES02';
    const notifier = makeNotifier({ minUpdateIntervalMs: 200 });
    const expiring = await newRun(channel, GATED, { ...POLICY, approvalTimeoutMs: 60_000 });
    await apply(notifier, expiring.id, { type: 'start' });
    const { run } = await passStep(notifier, expiring.id, 0);
    const expiresAt = run.steps[1]!.gate!.expiresAt!;
    await apply(notifier, expiring.id, { type: 'gate_expired', step: 1, round: 1, at: expiresAt });
    await notifier.flush({ timeoutMs: 10_000 });
    const expiredTs = (await messageStore.get(expiring.id, 'gate:1:1'))!.ts!;
    const expired = server.message(channel, expiredTs);
    expect(actionIds(expired)).toEqual(['cutover_reask']);
    expect(textOf(expired)).toContain('Expired');

    // Asked again: a new prompt (round 2), which an abort then closes.
    await apply(notifier, expiring.id, { type: 'gate_reopen', step: 1, user: REQUESTER });
    const second = await waitFor(
      'the second prompt',
      async () => (await messageStore.get(expiring.id, 'gate:1:2'))?.ts ?? undefined,
    );
    expect(second).not.toBe(expiredTs);
    expect(actionIds(server.message(channel, second))).toEqual(['cutover_approve', 'cutover_abort']);
    await apply(notifier, expiring.id, { type: 'abort', user: APPROVER, reason: 'standby looks wrong' });
    await notifier.flush({ timeoutMs: 10_000 });
    const aborted = server.message(channel, second);
    expect(actionIds(aborted)).toEqual([]);
    expect(textOf(aborted)).toContain(`Aborted by <@${APPROVER}>`);
    expect(textOf(aborted)).toContain('standby looks wrong');
    const progress = topLevel(channel)[0]!;
    expect(textOf(progress)).toContain(':no_entry_sign: Aborted');
    expect(
      thread(channel, progress.ts)
        .map((m) => m.text)
        .join('\n'),
    ).toContain('Cutover aborted');
  });

  it("puts a failed step's error, the rollback and the outcome in the progress message's thread", async () => {
    const channel = 'C0FAILURES';
    const notifier = makeNotifier({ minUpdateIntervalMs: 200 });
    const run = await newRun(channel, [
      { name: 'preflight', kind: 'check', title: 'Preflight', executor: 'preflight' },
      {
        name: 'fence',
        kind: 'action',
        title: 'Fence the old primary',
        executor: 'fence',
        compensation: { executor: 'unfence', title: 'Unfence the old primary' },
      },
      { name: 'switch', kind: 'action', title: 'Switch traffic', executor: 'switch' },
    ]);
    await apply(notifier, run.id, { type: 'start' });
    await passStep(notifier, run.id, 0);
    await passStep(notifier, run.id, 1);
    await apply(notifier, run.id, { type: 'step_started', step: 2, attempt: 1 });
    // A retryable failure is retried quietly (the checklist shows it); the fatal one is told.
    await apply(notifier, run.id, {
      type: 'step_failed',
      step: 2,
      attempt: 1,
      failure: { class: 'retryable', message: 'connection reset' },
    });
    await apply(notifier, run.id, { type: 'step_started', step: 2, attempt: 2 });
    await apply(notifier, run.id, {
      type: 'step_failed',
      step: 2,
      attempt: 2,
      failure: { class: 'fatal', message: 'pgbouncer refused RELOAD: permission denied' },
    });
    await apply(notifier, run.id, {
      type: 'compensation_failed',
      step: 1,
      attempt: 2,
      failure: { class: 'fatal', message: 'iptables: rule not found' },
    });
    await notifier.flush({ timeoutMs: 15_000 });

    expect(topLevel(channel)).toHaveLength(1);
    const progress = topLevel(channel)[0]!;
    const replies = thread(channel, progress.ts).map((m) => m.text);
    expect(replies).toHaveLength(4);
    expect(replies[0]).toContain('*Switch traffic* failed');
    expect(replies[0]).toContain('pgbouncer refused RELOAD: permission denied');
    expect(replies[1]).toContain('Rolling back');
    expect(replies[1]).toContain('Unfence the old primary');
    expect(replies[2]).toContain('Undo *Unfence the old primary*');
    expect(replies[2]).toContain('iptables: rule not found');
    expect(replies[3]).toContain('Cutover failed');
    expect(replies.join('\n')).not.toContain('connection reset');
    expect(textOf(progress)).toContain(':x: Failed');
  });

  it("puts a needs-human gate's message in the thread and its prompt in the channel", async () => {
    const channel = 'C0NEEDSHUMAN';
    const notifier = makeNotifier({ minUpdateIntervalMs: 200 });
    const run = await newRun(channel, checks(2));
    await apply(notifier, run.id, { type: 'start' });
    await apply(notifier, run.id, { type: 'step_started', step: 0, attempt: 1 });
    await apply(notifier, run.id, {
      type: 'step_failed',
      step: 0,
      attempt: 1,
      failure: { class: 'needs_human', message: 'the standby is 3 timelines behind' },
    });
    await notifier.flush({ timeoutMs: 10_000 });
    const prompt = server.message(channel, (await messageStore.get(run.id, 'gate:0:1'))!.ts!);
    expect(actionIds(prompt)).toEqual(['cutover_approve', 'cutover_abort']);
    expect(textOf(prompt)).toContain('Retry anyway');
    const progress = topLevel(channel).find((m) => m.ts !== prompt?.ts)!;
    const replies = thread(channel, progress.ts).map((m) => m.text);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain('needs a person');
    expect(replies[0]).toContain('the standby is 3 timelines behind');
  });

  it('two notifiers (web and worker processes) on one run create one progress message and converge', async () => {
    const channel = 'C0TWOPROCS';
    const web = makeNotifier({ minUpdateIntervalMs: 300 });
    const worker = makeNotifier({ minUpdateIntervalMs: 300 });
    const run = await newRun(channel, checks(3));
    // Both hear of the run before either has posted.
    await apply(web, run.id, { type: 'start' });
    await apply(worker, run.id, { type: 'step_started', step: 0, attempt: 1 });
    await apply(worker, run.id, { type: 'step_succeeded', step: 0, attempt: 1 });
    await sleep(150);
    await apply(web, run.id, { type: 'step_started', step: 1, attempt: 1 });
    await apply(worker, run.id, { type: 'step_succeeded', step: 1, attempt: 1 });
    await apply(web, run.id, { type: 'step_started', step: 2, attempt: 1 });
    await Promise.all([web.flush({ timeoutMs: 10_000 }), worker.flush({ timeoutMs: 10_000 })]);

    const posts = callsIn('chat.postMessage', channel).filter((c) => c.args['thread_ts'] === undefined);
    expect(posts).toHaveLength(1);
    expect(topLevel(channel)).toHaveLength(1);
    const progress = topLevel(channel)[0]!;
    for (const call of callsIn('chat.update', channel)) expect(call.args['ts']).toBe(progress.ts);
    expect(textOf(progress)).toContain(':hourglass_flowing_sand: *Check 3*');

    // The worker finishes the run; whichever process writes last, the message ends on the final state.
    await apply(worker, run.id, { type: 'step_succeeded', step: 2, attempt: 1 });
    await Promise.all([web.flush({ timeoutMs: 10_000 }), worker.flush({ timeoutMs: 10_000 })]);
    expect(topLevel(channel)).toHaveLength(1);
    expect(textOf(server.message(channel, progress.ts))).toContain('Cutover complete');
    expect(thread(channel, progress.ts).map((m) => m.text)).toEqual([
      expect.stringContaining('Cutover complete'),
    ]);
  });

  it('runChanged never throws: Slack answering 500, a channel Slack refuses, a closed store, nonsense input', async () => {
    // Slack's 500s are retried with back-off until the post gets through.
    const channel = 'C0FAULTY01';
    server.failNext('chat.postMessage', 'internal_error', { httpStatus: 500, count: 2 });
    const notifier = makeNotifier({ retryBaseDelayMs: 50 });
    const run = await newRun(channel, checks(2));
    const started = await store.applyEvent(
      run.id,
      { type: 'start', at: new Date().toISOString() },
      'test',
      transition,
    );
    if (!started.ok) throw new Error(started.error);
    expect(() => notifier.runChanged(started.run, started.effects, 'start')).not.toThrow();
    // It returned before Slack was even asked: it never waits for Slack.
    expect(callsIn('chat.postMessage', channel)).toHaveLength(0);
    await notifier.flush({ timeoutMs: 10_000 });
    expect(callsIn('chat.postMessage', channel).map((c) => c.status)).toEqual([500, 500, 200]);
    expect(topLevel(channel)).toHaveLength(1);
    expect(notifier.entries.filter((e) => e.level === 'warn')).toHaveLength(2);

    // A request Slack refuses for good is dropped, not retried.
    server.failNext('chat.postMessage', 'channel_not_found');
    const refused = await newRun('C0NOSUCHCH', checks(1));
    const refusedStart = await store.applyEvent(
      refused.id,
      { type: 'start', at: new Date().toISOString() },
      'test',
      transition,
    );
    if (!refusedStart.ok) throw new Error(refusedStart.error);
    expect(() => notifier.runChanged(refusedStart.run, refusedStart.effects, 'start')).not.toThrow();
    await notifier.flush({ timeoutMs: 10_000 });
    expect(callsIn('chat.postMessage', 'C0NOSUCHCH')).toHaveLength(1);
    expect(notifier.entries).toContainEqual(
      expect.objectContaining({ level: 'error', msg: 'slack notification dropped' }),
    );

    // The store is closed: nothing is posted, the work is dropped after its retries.
    const closedStore = await PgRunStore.open({ connectionString: testDatabaseUrl, schema });
    await closedStore.close();
    const broken = makeNotifier({
      store: closedStore,
      messages: new PgSlackMessageStore(closedStore.pool, schema),
      retries: 2,
      retryBaseDelayMs: 20,
    });
    const orphan = await newRun('C0CLOSEDDB', checks(1));
    expect(() => broken.runChanged(orphan, [], 'start')).not.toThrow();
    await broken.flush({ timeoutMs: 10_000 });
    expect(callsIn('chat.postMessage', 'C0CLOSEDDB')).toHaveLength(0);
    expect(broken.entries).toContainEqual(expect.objectContaining({ level: 'error' }));

    // Nonsense, and calls after close.
    expect(() => broken.runChanged(null as unknown as Run, [], 'start')).not.toThrow();
    expect(() => broken.runChanged({} as Run, null as unknown as Effect[], 'start')).not.toThrow();
    await broken.close();
    expect(() => broken.runChanged(orphan, [], 'start')).not.toThrow();
    await broken.flush();
  });
});
