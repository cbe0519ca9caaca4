// The Slack interface end to end: signed requests into the real Bolt HTTP receiver, the local
// Slack Web API recording every call, the real runtime behind them.
import fc from 'fast-check';
import type { Run, RunState } from '../../../src/engine/types';
import { testTarget } from '../../support/runtimes/harness';
import { ManualClock } from '../../support/fakes/manual-clock';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import {
  approver,
  bystander,
  CHANNEL,
  foreigner,
  groupMember,
  requester,
  SIGNING_SECRET,
  approveWithModal as approveGateWithModal,
  clickButton,
  gatePrompt as findGatePrompt,
  startSlackHarness,
  type SlackHarness,
} from '../../support/fakes/slack-harness';
import { buttonsOf, ephemeralsTo, textOf } from '../../support/fakes/slack-messages';
import { waitFor } from '../../support/wait-for';
import { signRequest, type Actor } from '../../../src/console/signed-requests';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_slack');
const clock = new ManualClock(new Date());
let h: SlackHarness;

const targets = [
  { ...testTarget('orders-db'), approvers: [approver.userId, 'S0DBAONCALL'] },
  { ...testTarget('billing-db'), approvers: [approver.userId, 'S0DBAONCALL'] },
  { ...testTarget('quick-db', { polls: 0 }), approvers: [approver.userId] },
  { ...testTarget('other-channel-db'), channel: 'C0ELSEWHERE' },
  testTarget('retry-db'),
  testTarget('claimless-db'),
  {
    ...testTarget('two-keys-db', { polls: 0 }),
    approvers: [approver.userId, 'S0DBAONCALL'],
    requiredApprovals: 2,
  },
];

beforeAll(async () => {
  h = await startSlackHarness({ schema, queueName: freshQueueName('slack'), targets, clock });
});

afterAll(async () => {
  await h.close();
});

async function rowCounts(): Promise<{ runs: number; audit: number }> {
  const result = await h.runtime.store.pool.query<{ runs: string; audit: string }>(
    `SELECT (SELECT count(*) FROM ${schema}.runs) AS runs, (SELECT count(*) FROM ${schema}.audit_events) AS audit`,
  );
  const row = result.rows[0]!;
  return { runs: Number(row.runs), audit: Number(row.audit) };
}

async function duplicatesDropped(): Promise<number> {
  const text = await h.runtime.metrics.text();
  const match = /^cutover_refusals_total\{kind="duplicate_delivery"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(h.runtime.store, runId, states);
}

async function lastEphemeral(actor: Actor, since = 0): Promise<string> {
  return waitFor('an ephemeral answer', async () => {
    const messages = ephemeralsTo(h.slack, actor.userId);
    return messages.length > since ? textOf(messages[messages.length - 1]!) : undefined;
  });
}

async function command(
  actor: Actor,
  text: string,
  channel = CHANNEL,
): Promise<{ status: number; body: string }> {
  return h.sender.command(actor, channel, text);
}

async function startRun(target: string): Promise<Run> {
  const before = new Set((await h.runtime.store.listRecentRuns(1000)).map((run) => run.id));
  const response = await command(requester, `start ${target}`);
  expect(response.status).toBe(200);
  return waitFor('the run', async () =>
    (await h.runtime.store.listRecentRuns(1000)).find((run) => run.target === target && !before.has(run.id)),
  );
}

function click(actor: Actor, button: Parameters<typeof clickButton>[2]) {
  return clickButton(h, actor, button);
}

function gatePrompt(runId: string) {
  return findGatePrompt(h, runId);
}

function approveWithModal(actor: Actor, runId: string, typed: string) {
  return approveGateWithModal(h, actor, runId, typed);
}

describe('request verification', () => {
  const body = () => h.sender.slashCommandBody(requester, CHANNEL, 'start orders-db');
  const now = () => Math.floor(Date.now() / 1000);

  test.each([
    ['a forged signature', { 'x-slack-signature': 'v0=' + '0'.repeat(64) }],
    ['no signature header', { 'x-slack-signature': undefined }],
    ['no timestamp header', { 'x-slack-request-timestamp': undefined }],
  ])('%s: 401, nothing written, nothing queued', async (_name, override) => {
    const before = await rowCounts();
    const signed = signRequest(SIGNING_SECRET, body());
    const headers: Record<string, string> = { ...signed.headers };
    for (const [key, value] of Object.entries(override)) {
      if (value === undefined) delete headers[key];
      else headers[key] = value;
    }
    const response = await fetch(h.eventsUrl, { method: 'POST', headers, body: signed.body });
    expect(response.status).toBe(401);
    expect(await rowCounts()).toEqual(before);
    expect(await h.runtime.queue.queue.count()).toBe(0);
  });

  test('a body changed after signing: 401', async () => {
    const before = await rowCounts();
    const signed = signRequest(SIGNING_SECRET, body());
    const tampered = signed.body.replace('orders-db', 'billing-db');
    const response = await fetch(h.eventsUrl, { method: 'POST', headers: signed.headers, body: tampered });
    expect(response.status).toBe(401);
    expect(await rowCounts()).toEqual(before);
  });

  test.each([
    ['6 minutes old', -360],
    ['6 minutes in the future', 360],
  ])('a timestamp %s: 401, nothing written', async (_name, offset) => {
    const before = await rowCounts();
    const response = await h.sender.send(body(), { timestampSec: now() + offset });
    expect(response.status).toBe(401);
    expect(await rowCounts()).toEqual(before);
    expect(await h.runtime.queue.queue.count()).toBe(0);
  });

  test.each([
    ['a JSON body of null', 'null', 'application/json'],
    ['a JSON body that is a list', '[]', 'application/json'],
    ['payload=null', 'payload=null', undefined],
    [
      'a click whose user is null',
      `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: null, actions: [] }))}`,
      undefined,
    ],
    [
      'a click whose actions are not a list',
      `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, actions: {} }))}`,
      undefined,
    ],
    [
      'a bare object Bolt would classify',
      `payload=${encodeURIComponent(JSON.stringify({ actions: 1 }))}`,
      undefined,
    ],
  ])(
    'signed, but %s: 400 before Bolt, nothing written, the bot keeps answering',
    async (_name, raw, type) => {
      const before = await rowCounts();
      const response = await h.sender.send(raw, type ? { headers: { 'content-type': type } } : {});
      expect(response.status).toBe(400);
      expect(await rowCounts()).toEqual(before);
      expect((await h.sender.command(requester, CHANNEL, 'help')).status).toBe(200);
    },
  );
});

/** A command answered in its ack: the answer's text, blocks included. */
async function answeredInAck(actor: Actor, text: string): Promise<string> {
  const response = await command(actor, text);
  expect(response.status).toBe(200);
  const answer = JSON.parse(response.body) as { response_type: string; text: string; blocks?: unknown[] };
  expect(answer.response_type).toBe('ephemeral');
  return [answer.text, JSON.stringify(answer.blocks ?? [])].join('\n');
}

describe('commands', () => {
  test('read-only commands and usage errors are answered in the ack, with no Web API call', async () => {
    const calls = h.slack.calls.length;
    expect(await answeredInAck(bystander, 'help')).toContain('/cutover start');
    expect(await answeredInAck(bystander, 'targets')).toContain('orders-db');
    expect(await answeredInAck(bystander, 'status')).toBeTruthy();
    expect(await answeredInAck(bystander, 'status 0a1b2c3d')).toMatch(/No run `0a1b2c3d`/);
    expect(await answeredInAck(bystander, 'list')).toBeTruthy();
    expect(await answeredInAck(bystander, 'stat')).toMatch(/Usage/);
    expect(h.slack.calls.slice(calls).map((call) => call.method)).not.toContain('chat.postEphemeral');
  });

  test('a read-only command from another workspace is refused in the ack', async () => {
    expect(await answeredInAck(foreigner, 'list')).toMatch(/one workspace/);
  });

  test('a malformed command answers in the ack with the usage line and the offending word', async () => {
    const response = await command(bystander, 'strat orders-db');
    expect(response.status).toBe(200);
    const answer = JSON.parse(response.body) as { response_type: string; text: string };
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(/strat/);
    expect(answer.text).toMatch(/start/);
    expect(answer.text).toMatch(/Usage/);
  });

  test('an unknown target suggests the closest names and changes nothing', async () => {
    const before = await rowCounts();
    const seen = ephemeralsTo(h.slack, requester.userId).length;
    await command(requester, 'start ordrs-db');
    expect(await lastEphemeral(requester, seen)).toMatch(/Unknown target `ordrs-db`.*orders-db/);
    expect(await rowCounts()).toEqual(before);
  });

  test('a target is only operated from its own channel', async () => {
    const before = await rowCounts();
    const seen = ephemeralsTo(h.slack, requester.userId).length;
    await command(requester, 'start other-channel-db');
    expect(await lastEphemeral(requester, seen)).toMatch(/operated from <#C0ELSEWHERE>/);
    expect(await rowCounts()).toEqual(before);
  });

  test('plan (a dry run with live preflight) answers and changes nothing', async () => {
    const before = await rowCounts();
    const seen = ephemeralsTo(h.slack, requester.userId).length;
    await command(requester, 'plan orders-db');
    const plan = await lastEphemeral(requester, seen);
    expect(plan).toMatch(/target reachable/);
    expect(plan).toMatch(/Dry run/i);
    expect(await rowCounts()).toEqual(before);
  });

  test('commands from another workspace are not taken', async () => {
    const before = await rowCounts();
    const seen = ephemeralsTo(h.slack, foreigner.userId).length;
    await command(foreigner, 'start billing-db');
    expect(await lastEphemeral(foreigner, seen)).toMatch(/one workspace/);
    expect(await rowCounts()).toEqual(before);
  });

  test('fuzz: any text gets an answer, never an error status', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), async (text) => {
        // `start`/`abort` of real targets would act; everything else must answer and not crash.
        fc.pre(!/\b(start|abort)\b/i.test(text));
        const response = await command(bystander, text);
        expect(response.status).toBe(200);
      }),
      { numRuns: 40 },
    );
  });
});

describe('approvals', () => {
  test('refused: the requester, a non-approver and another workspace; audited; run unchanged', async () => {
    const run = await startRun('orders-db');
    await untilState(run.id, 'awaiting_approval');
    const button = await gatePrompt(run.id);
    const before = await h.runtime.store.getRun(run.id);

    for (const actor of [requester, bystander, foreigner]) {
      const seen = ephemeralsTo(h.slack, actor.userId).length;
      expect((await click(actor, button)).status).toBe(200);
      expect(await lastEphemeral(actor, seen)).toMatch(/Not done/);
    }
    const audit = await h.runtime.store.listAudit(run.id);
    const refusals = audit.filter((entry) => entry.type === 'refused:approve').map((entry) => entry.actor);
    expect(refusals).toEqual(expect.arrayContaining([requester.userId, bystander.userId]));
    expect(await h.runtime.store.getRun(run.id)).toEqual(before);
    expect(
      h.slack.callsTo('views.open').filter((call) => call.args['trigger_id'] !== undefined),
    ).toHaveLength(0);

    // A typed confirmation that does not match is refused.
    const mismatch = await approveWithModal(approver, run.id, 'orders');
    expect(JSON.parse(mismatch.body)).toMatchObject({ response_action: 'errors' });
    expect((await h.runtime.store.getRun(run.id))?.state).toBe('awaiting_approval');

    // A member of the approvers' user group may approve.
    const accepted = await approveWithModal(groupMember, run.id, 'orders-db');
    expect(accepted.status).toBe(200);
    const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
    expect(done.state).toBe('succeeded');
    const approvals = await h.runtime.store.listApprovals(run.id);
    expect(approvals).toEqual([expect.objectContaining({ userId: groupMember.userId })]);
    expect(approvals[0]?.seen).toMatchObject({ Target: 'orders-db', typedConfirmation: 'orders-db' });
  });

  test('the same submission delivered three times is accepted once', async () => {
    const run = await startRun('billing-db');
    await untilState(run.id, 'awaiting_approval');
    const button = await gatePrompt(run.id);
    const viewsBefore = h.slack.callsTo('views.open').length;
    await click(approver, button);
    const opened = await waitFor('modal', async () => h.slack.callsTo('views.open')[viewsBefore]);
    const view = opened.args['view'] as { callback_id: string; private_metadata: string };
    const body = h.sender.viewSubmissionBody(approver, {
      id: 'V0SAMEVIEW',
      hash: 'h-same',
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      values: { confirm_target: { typed_target: 'billing-db' } },
    });
    const responses = await Promise.all([
      h.sender.send(body),
      h.sender.send(body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
      h.sender.send(body, { headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' } }),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    await untilState(run.id, 'succeeded');
    expect(await h.runtime.store.listApprovals(run.id)).toHaveLength(1);
    const approvesAudited = (await h.runtime.store.listAudit(run.id)).filter(
      (entry) => entry.type === 'approve',
    );
    expect(approvesAudited).toHaveLength(1);
  });

  test('the same command delivered three times starts one run and answers once', async () => {
    const duplicatesBefore = await duplicatesDropped();
    const seen = ephemeralsTo(h.slack, requester.userId).length;
    const body = h.sender.slashCommandBody(requester, CHANNEL, 'start retry-db');
    const responses = await Promise.all([
      h.sender.send(body),
      h.sender.send(body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
      h.sender.send(body, { headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' } }),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    // Every delivery is acked before its claim is known; the two repeats are dropped after it.
    await waitFor('both repeats dropped', async () => (await duplicatesDropped()) === duplicatesBefore + 2);
    expect(await lastEphemeral(requester, seen)).toMatch(/^Started cutover `[0-9a-f]{8}` of `retry-db`/);
    const runs = (await h.runtime.store.listRecentRuns(1000)).filter((run) => run.target === 'retry-db');
    expect(runs).toHaveLength(1);
    const answers = ephemeralsTo(h.slack, requester.userId).slice(seen).map(textOf);
    expect(answers.filter((text) => text.includes('retry-db'))).toHaveLength(1);
    await h.runtime.runs.abort(runs[0]!.id, requester.userId, 'test cleanup');
    await untilState(runs[0]!.id, 'aborted', 'failed', 'succeeded');
  });

  test('a command whose delivery cannot be recorded is answered with an error and starts nothing', async () => {
    const table = `${schema}.slack_deliveries`;
    const seen = ephemeralsTo(h.slack, requester.userId).length;
    const before = await rowCounts();
    // A real failure of the real store: the claim's INSERT finds no table.
    await h.runtime.store.pool.query(`ALTER TABLE ${table} RENAME TO slack_deliveries_away`);
    try {
      const response = await command(requester, 'start claimless-db');
      expect(response.status).toBe(200);
      expect(await lastEphemeral(requester, seen)).toMatch(/Something went wrong; nothing was changed/);
    } finally {
      await h.runtime.store.pool.query(
        `ALTER TABLE ${schema}.slack_deliveries_away RENAME TO slack_deliveries`,
      );
    }
    expect(await rowCounts()).toEqual(before);
    expect((await h.runtime.store.listRecentRuns(1000)).some((run) => run.target === 'claimless-db')).toBe(
      false,
    );
  });

  test('a stale button after the decision changes nothing and is explained', async () => {
    const run = await startRun('quick-db');
    await untilState(run.id, 'awaiting_approval');
    const button = await gatePrompt(run.id);
    await approveWithModal(approver, run.id, 'quick-db');
    await untilState(run.id, 'succeeded');
    // The prompt's buttons were replaced by the outcome.
    const prompt = await waitFor('prompt updated', async () => {
      const message = h.slack.message(CHANNEL, button.message.ts);
      return message && buttonsOf(message).every((b) => b.actionId !== 'cutover_approve')
        ? message
        : undefined;
    });
    expect(textOf(prompt)).toMatch(/Approved by <@U0APPROVER>/);
    const seen = ephemeralsTo(h.slack, approver.userId).length;
    await click(approver, button);
    expect(await lastEphemeral(approver, seen)).toMatch(/no longer open/);
  });

  test('an approval request expires (Clock port), is asked again, then approved', async () => {
    const run = await startRun('orders-db');
    await untilState(run.id, 'awaiting_approval');
    const first = await gatePrompt(run.id);
    clock.advance(16 * 60_000);
    await h.runtime.reconciler.reconcileOnce();
    const expired = await h.runtime.store.getRun(run.id);
    expect(expired?.steps[3]?.gate).toMatchObject({ round: 1, expired: true });
    const reask = await waitFor('ask-again button', async () => {
      const message = h.slack.message(CHANNEL, first.message.ts);
      return message ? buttonsOf(message).find((b) => b.actionId === 'cutover_reask') : undefined;
    });
    // An approval click on the expired prompt is refused.
    const seen = ephemeralsTo(h.slack, approver.userId).length;
    await click(approver, first);
    expect(await lastEphemeral(approver, seen)).toMatch(/expired/);

    await click(requester, reask);
    await waitFor('round 2', async () => (await h.runtime.store.getRun(run.id))?.steps[3]?.gate?.round === 2);
    const second = await waitFor('new prompt', async () => {
      const button = await gatePrompt(run.id);
      return button.value.includes('"round":2') ? button : undefined;
    });
    expect(second.message.ts).not.toBe(first.message.ts);
    await approveWithModal(approver, run.id, 'orders-db');
    expect((await untilState(run.id, 'succeeded', 'failed', 'aborted')).state).toBe('succeeded');
  });

  test('lag rises beyond the threshold after approval: the switch does not run; a new gate says why', async () => {
    const run = await startRun('billing-db');
    await untilState(run.id, 'awaiting_approval');
    await h.world.record(run.id, 'lag-high');
    await approveWithModal(approver, run.id, 'billing-db');
    const paused = await waitFor('needs-human gate', async () => {
      const current = await h.runtime.store.getRun(run.id);
      return current?.steps[4]?.gate?.reason === 'needs_human' ? current : undefined;
    });
    expect(paused.state).toBe('awaiting_approval');
    expect(paused.steps[4]?.gate?.message).toMatch(/lag grew/);
    expect(await h.world.has(run.id, 'switch')).toBe(false);
    const prompt = await waitFor('needs-human prompt', async () => {
      const messages = h.slack.messages(CHANNEL).filter((m) => !m.ephemeralTo && /lag grew/.test(textOf(m)));
      return messages.at(-1);
    });
    expect(textOf(prompt)).toMatch(/Needs a person/);
    // Abort from the prompt: the lock taken earlier is released.
    const abort = buttonsOf(prompt).find((b) => b.actionId === 'cutover_abort')!;
    await click(approver, abort);
    expect((await untilState(run.id, 'aborted')).state).toBe('aborted');
    expect(await h.world.has(run.id, 'release-lock')).toBe(true);
  });
});

describe('N-of-M approvals', () => {
  test('requiredApprovals 2: one approval keeps the gate open, a second distinct approver opens it', async () => {
    const run = await startRun('two-keys-db');
    await untilState(run.id, 'awaiting_approval');
    await approveWithModal(approver, run.id, 'two-keys-db');
    const half = await waitFor('first approval recorded', async () => {
      const current = await h.runtime.store.getRun(run.id);
      return current?.steps[3]?.gate?.approvedBy.length === 1 ? current : undefined;
    });
    expect(half.state).toBe('awaiting_approval');
    // The same approver again does not count twice.
    await approveWithModal(approver, run.id, 'two-keys-db');
    expect((await h.runtime.store.getRun(run.id))?.steps[3]?.gate?.approvedBy).toEqual([approver.userId]);
    await approveWithModal(groupMember, run.id, 'two-keys-db');
    const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
    expect(done.state).toBe('succeeded');
    expect(done.steps[3]?.gate?.approvedBy).toEqual([approver.userId, groupMember.userId]);
    expect((await h.runtime.store.listApprovals(run.id)).map((a) => a.userId)).toEqual([
      approver.userId,
      groupMember.userId,
    ]);
  });
});

describe('progress message', () => {
  test('429 on chat.update: no call before Retry-After; the run still completes', async () => {
    h.slack.rateLimit('chat.update', 2);
    const run = await startRun('quick-db');
    await untilState(run.id, 'awaiting_approval');
    await approveWithModal(approver, run.id, 'quick-db');
    await untilState(run.id, 'succeeded');
    const limitedAt = h.slack.callsTo('chat.update').find((call) => call.status === 429)?.at;
    expect(limitedAt).toBeDefined();
    // The notifier keeps the pending update and sends it once Retry-After has passed.
    const next = await waitFor('the update after the 429', async () =>
      h.slack.callsTo('chat.update').find((call) => call.at > limitedAt! && call.status === 200),
    );
    const early = h.slack
      .callsTo('chat.update')
      .filter((call) => call.at > limitedAt! && call.at < limitedAt! + 2000);
    expect(early).toEqual([]);
    expect(next.at - limitedAt!).toBeGreaterThanOrEqual(2000);
  });

  test('a full run driven only through Slack ends with the final progress blocks', async () => {
    const run = await startRun('quick-db');
    await untilState(run.id, 'awaiting_approval');
    await approveWithModal(approver, run.id, 'quick-db');
    await untilState(run.id, 'succeeded');
    const progress = await waitFor('final progress message', async () => {
      const message = h.slack
        .messages(CHANNEL)
        .find(
          (m) =>
            !m.ephemeralTo &&
            !m.thread_ts &&
            textOf(m).includes(run.id.slice(0, 8)) &&
            /Succeeded/i.test(textOf(m)),
        );
      return message;
    });
    const text = textOf(progress);
    expect(text).toMatch(/quick-db/);
    expect(text).toMatch(/<@U0REQUESTER>/);
    for (const title of ['Preflight', 'Take the lock', 'Wait until ready', 'Approve the switch', 'Switch']) {
      expect(text).toContain(title);
    }
    expect(text.match(/:white_check_mark:/g)?.length).toBeGreaterThanOrEqual(5);
    // No Abort button once the run is over.
    expect(buttonsOf(progress).find((b) => b.actionId === 'cutover_abort')).toBeUndefined();
    // Exactly one progress message for the run, updated in place.
    const posts = h.slack
      .callsTo('chat.postMessage')
      .filter((call) => String(call.args['text']).includes('quick-db') && !call.args['thread_ts']);
    expect(
      posts.filter((call) => String(call.args['text']).startsWith('Cutover quick-db')).length,
    ).toBeGreaterThanOrEqual(1);
  });
});
