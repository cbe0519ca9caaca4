// Scheduling, reminders, the cooldown and window pauses as people meet them in Slack: signed
// commands and clicks into the real Bolt receiver, the local Slack Web API, the real runtime, and
// the Clock port moved by hand (nothing waits for a window to open).
import type { ConsoleMessage } from '../../../src/console/slack-workspace';
import type { Actor } from '../../../src/console/signed-requests';
import type { Run, RunState } from '../../../src/engine/types';
import { testTarget } from '../../support/runtimes/harness';
import { ManualClock } from '../../support/fakes/manual-clock';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import {
  approver,
  bystander,
  CHANNEL,
  requester,
  approveWithModal as approveGateWithModal,
  clickButton,
  gatePrompt as findGatePrompt,
  askCommand,
  startSlackHarness,
  type SlackHarness,
} from '../../support/fakes/slack-harness';
import { buttonsOf, textOf } from '../../support/fakes/slack-messages';
import { waitFor } from '../../support/wait-for';

const schema = freshSchemaName('t_slsched');
// Friday 27 Nov 2026, 01:00 UTC = 02:00 in Berlin, an hour before berlin-db's window opens.
const clock = new ManualClock('2026-11-27T01:00:00.000Z');
let h: SlackHarness;

const HOUR = 3_600_000;
const targets = [
  {
    ...testTarget('berlin-db', { polls: 0 }),
    approvers: [approver.userId, 'S0DBAONCALL'],
    // 03:00–05:00 Berlin time (02:00–04:00 UTC in winter).
    windows: [{ cron: '0 3 * * *', durationMs: 2 * HOUR, timezone: 'Europe/Berlin' }],
    requireWindow: true,
  },
  { ...testTarget('cool-db', { polls: 0 }), approvers: [approver.userId], cooldownMs: HOUR },
  {
    ...testTarget('tight-db', { polls: 0 }),
    approvers: [approver.userId],
    windows: [{ cron: '0 2 * * *', durationMs: 10 * 60_000, timezone: 'UTC' }],
    requireWindow: true,
  },
];

beforeAll(async () => {
  h = await startSlackHarness({ schema, queueName: freshQueueName('slsched'), targets, clock });
});

afterAll(async () => {
  await h.close();
});

async function runCount(): Promise<number> {
  const result = await h.runtime.store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.runs`);
  return Number(result.rows[0]!.n);
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(h.runtime.store, runId, states);
}

/** Sends a command and returns the answer it got (in the ack or as an ephemeral message). */
function ask(actor: Actor, text: string): Promise<string> {
  return askCommand(h, actor, text);
}

async function newestRun(target: string): Promise<Run | undefined> {
  return (await h.runtime.store.listRecentRuns(100)).find((run) => run.target === target);
}

/** The run's progress message: the top-level channel message "Cutover <target>: …" naming its id. */
function progressMessage(run: Run): ConsoleMessage | undefined {
  return h.slack
    .messages(CHANNEL)
    .find(
      (m) =>
        !m.ephemeralTo &&
        !m.thread_ts &&
        m.text.startsWith(`Cutover ${run.target}`) &&
        textOf(m).includes(run.id.slice(0, 8)),
    );
}

function untilProgress(run: Run, matches: RegExp): Promise<ConsoleMessage> {
  return waitFor(`progress message of ${run.id} matching ${String(matches)}`, async () => {
    const message = progressMessage(run);
    return message && matches.test(textOf(message)) ? message : undefined;
  });
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

const BERLIN_NEXT_THREE =
  'Next windows: Fri 27 Nov 03:00–05:00 Europe/Berlin (in 1 h); ' +
  'Sat 28 Nov 03:00–05:00 Europe/Berlin (in 1 d 1 h); Sun 29 Nov 03:00–05:00 Europe/Berlin (in 2 d 1 h).';

describe('schedule, list, reminder and the scheduled start (berlin-db)', () => {
  let scheduled: Run;

  test('--at in the past is refused with the next valid window starts; no run is created', async () => {
    clock.set('2026-11-27T01:00:00.000Z');
    const before = await runCount();
    const answer = await ask(requester, 'schedule berlin-db --at 2026-11-26T02:30:00Z');
    expect(answer).toBe(
      'Not scheduled: 2026-11-26T02:30:00.000Z is in the past (it is now 2026-11-27T01:00:00.000Z). ' +
        BERLIN_NEXT_THREE,
    );
    expect(await runCount()).toBe(before);
  });

  test('--at outside every window of a requireWindow target is refused with the next 3 starts, in Berlin time', async () => {
    clock.set('2026-11-27T01:00:00.000Z');
    const before = await runCount();
    const answer = await ask(requester, 'schedule berlin-db --at 2026-11-27T12:00:00Z');
    expect(answer).toBe(
      'Not scheduled: 2026-11-27T12:00:00.000Z is outside every window of berlin-db. ' + BERLIN_NEXT_THREE,
    );
    expect(await runCount()).toBe(before);
  });

  test('--next-window: confirmation, a Scheduled progress message, listed first; a second schedule is refused', async () => {
    clock.set('2026-11-27T01:00:00.000Z');
    const before = await runCount();
    const answer = await ask(requester, 'schedule berlin-db --next-window');
    scheduled = (await newestRun('berlin-db'))!;
    expect(scheduled).toMatchObject({ state: 'scheduled', scheduledFor: '2026-11-27T02:00:00.000Z' });
    expect(await runCount()).toBe(before + 1);
    const short = scheduled.id.slice(0, 8);
    expect(answer).toBe(
      `Scheduled cutover \`${short}\` of \`berlin-db\` (test) for 2026-11-27 02:00 UTC, ` +
        'in the window Fri 27 Nov 03:00–05:00 Europe/Berlin. A reminder comes 15 min before. ' +
        `\`/cutover abort ${short}\` cancels it.`,
    );

    const progress = await untilProgress(scheduled, /Scheduled\* to start at 2026-11-27 02:00 UTC/);
    expect(textOf(progress)).toContain('(in 1h 00m). Abort cancels it.');
    expect(buttonsOf(progress).map((b) => b.actionId)).toContain('cutover_abort');
    expect(buttonsOf(progress).map((b) => b.actionId)).not.toContain('cutover_approve');
    expect(await h.world.effects(scheduled.id)).toEqual([]);

    // `list` shows it first, as scheduled, with its start, ahead of a run created after it.
    await ask(requester, 'start cool-db');
    const later = (await newestRun('cool-db'))!;
    const list = await ask(bystander, 'list');
    const lines = list.split('\n').filter((line) => line.includes('berlin-db') || line.includes('cool-db'));
    expect(lines.map((line) => line.slice(0, 10))).toEqual([`\`${short}\``, `\`${later.id.slice(0, 8)}\``]);
    const firstLine = lines[0];
    expect(firstLine).toMatch(/ · scheduled · starts 2026-11-27 02:00 UTC \(in 1h 00m\)$/);

    // One scheduled run per target: the second is refused and names the first.
    const second = await ask(requester, 'schedule berlin-db --at 2026-11-28T02:30:00Z');
    expect(second).toBe(
      `Not scheduled: berlin-db already has a scheduled run (${scheduled.id}); abort it first. ` +
        `See \`/cutover status ${short}\`.`,
    );
    expect(await runCount()).toBe(before + 2);
    await h.runtime.runs.abort(later.id, approver.userId, 'only here to be listed');
    await untilState(later.id, 'aborted');
  });

  test('the reminder: one broadcast thread reply naming the approvers and the start, once', async () => {
    const progress = progressMessage(scheduled)!;
    const reminders = () =>
      h.slack.callsTo('chat.postMessage').filter((call) => call.args['reply_broadcast'] !== undefined);
    const before = reminders().length;

    // Not yet: 20 minutes before the start is outside the 15-minute lead.
    clock.set('2026-11-27T01:40:00.000Z');
    expect((await h.runtime.reconciler.reconcileOnce()).reminded).toEqual([]);

    clock.set('2026-11-27T01:50:00.000Z');
    expect((await h.runtime.reconciler.reconcileOnce()).reminded).toEqual([scheduled.id]);
    const sent = await waitFor('the reminder', async () =>
      reminders().length > before ? reminders().slice(before) : undefined,
    );
    expect(sent).toHaveLength(1);
    const call = sent[0]!;
    // Form-encoded by the SDK: the flag arrives as text; the workspace shows the reply in the channel.
    expect(String(call.args['reply_broadcast'])).toBe('true');
    expect(call.args['thread_ts']).toBe(progress.ts);
    expect(call.args['channel']).toBe(CHANNEL);
    expect(call.args['text']).toBe(
      ':alarm_clock: *Reminder*: the cutover of `berlin-db` (test) starts at 2026-11-27 02:00 UTC, in 10m 00s. ' +
        'Expected to approve: <@U0APPROVER>, <!subteam^S0DBAONCALL>. ' +
        'Requested by <@U0REQUESTER>; abort the run to cancel it.',
    );

    const shown = h.slack.messages(CHANNEL).filter((m) => m.thread_ts === progress.ts && m.broadcast);
    expect(shown.map((m) => m.text)).toEqual([call.args['text']]);

    // A second pass in the lead time says nothing more.
    clock.set('2026-11-27T01:55:00.000Z');
    expect((await h.runtime.reconciler.reconcileOnce()).reminded).toEqual([]);
    await h.runtime.notifier!.flush({ timeoutMs: 10_000 });
    expect(reminders()).toHaveLength(before + 1);
    expect((await h.runtime.store.getRun(scheduled.id))?.state).toBe('scheduled');
  });

  test('when due, it starts (actor: scheduler) and reaches its approval gate', async () => {
    clock.set('2026-11-27T02:00:00.000Z');
    await h.runtime.reconciler.reconcileOnce();
    const atGate = await untilState(scheduled.id, 'awaiting_approval', 'failed', 'aborted');
    expect(atGate.state).toBe('awaiting_approval');
    expect(atGate.steps[atGate.currentStep]?.spec.name).toBe('approve');
    expect(await h.world.has(scheduled.id, 'take-lock')).toBe(true);
    const audit = await h.runtime.store.listAudit(scheduled.id);
    expect(audit.filter((entry) => entry.type === 'start').map((entry) => entry.actor)).toEqual([
      'scheduler',
    ]);
    const prompt = await gatePrompt(scheduled.id);
    expect(textOf(prompt.message)).toContain('Approval needed');

    // Done with it: abort from the prompt rolls back the lock.
    const abort = buttonsOf(prompt.message).find((b) => b.actionId === 'cutover_abort')!;
    await click(approver, abort);
    await untilState(scheduled.id, 'aborted');
    expect(await h.world.has(scheduled.id, 'release-lock')).toBe(true);
  });

  test('abort of a scheduled run: a bystander is refused (audited), the requester cancels it', async () => {
    clock.set('2026-11-27T02:30:00.000Z');
    await ask(requester, 'schedule berlin-db --at 2026-11-28T02:30:00Z');
    const run = await waitFor('the scheduled run', async () => {
      const found = await newestRun('berlin-db');
      return found?.state === 'scheduled' ? found : undefined;
    });
    expect(run.scheduledFor).toBe('2026-11-28T02:30:00.000Z');
    const short = run.id.slice(0, 8);
    await untilProgress(run, /Scheduled\* to start at 2026-11-28 02:30 UTC/);

    const refused = await ask(bystander, `abort ${short}`);
    expect(refused).toBe('Not aborted: only the requester and the approvers of berlin-db can abort it.');
    expect(await h.runtime.store.getRun(run.id)).toEqual(run);
    const audit = await h.runtime.store.listAudit(run.id);
    expect(audit.find((entry) => entry.type === 'refused:abort')).toMatchObject({
      actor: bystander.userId,
      payload: { via: 'command' },
    });

    expect(await ask(requester, `abort ${short} not this weekend`)).toBe(`Aborting \`${short}\`.`);
    const aborted = await untilState(run.id, 'aborted');
    expect(aborted.steps.every((step) => step.state === 'skipped')).toBe(true);
    const progress = await untilProgress(run, /Aborted/);
    expect(textOf(progress)).not.toMatch(/Scheduled\* to start/);
    expect(buttonsOf(progress).map((b) => b.actionId)).not.toContain('cutover_abort');
    expect(await h.world.effects(run.id)).toEqual([]);
    // Nothing starts it later: its time comes and the reconciler leaves it alone.
    clock.set('2026-11-28T02:30:00.000Z');
    await h.runtime.reconciler.reconcileOnce();
    expect((await h.runtime.store.getRun(run.id))?.state).toBe('aborted');
  });
});

describe('cooldown (cool-db)', () => {
  test('a start within the cooldown is refused with its end and the --force hint; --force --reason starts, audited', async () => {
    clock.set('2026-11-29T06:00:00.000Z');
    await ask(requester, 'start cool-db');
    const first = (await newestRun('cool-db'))!;
    await untilState(first.id, 'awaiting_approval');
    await approveWithModal(approver, first.id, 'cool-db');
    expect((await untilState(first.id, 'succeeded', 'failed', 'aborted')).state).toBe('succeeded');

    clock.set('2026-11-29T06:20:00.000Z');
    const before = await runCount();
    const refused = await ask(requester, 'start cool-db');
    expect(refused).toBe(
      `Not started: cool-db was cut over at 2026-11-29T06:00:00.000Z (run ${first.id.slice(0, 8)}); ` +
        'its cooldown lasts until 2026-11-29T07:00:00.000Z; to start anyway use --force --reason "why".',
    );
    expect(await runCount()).toBe(before);

    // The override is an approver's to give.
    expect(await ask(requester, 'start cool-db --force --reason in a hurry')).toBe(
      'Not started: --force needs an approver of cool-db.',
    );
    expect(await runCount()).toBe(before);
    const started = await ask(
      approver,
      'start cool-db --force --reason the first one picked the wrong replica',
    );
    const forced = (await newestRun('cool-db'))!;
    expect(forced.id).not.toBe(first.id);
    expect(started).toBe(
      `Started cutover \`${forced.id.slice(0, 8)}\` of \`cool-db\` (test). Progress follows in this channel.`,
    );
    const audit = await h.runtime.store.listAudit(forced.id);
    expect(audit.find((entry) => entry.type === 'cooldown_overridden')).toMatchObject({
      actor: approver.userId,
      payload: {
        reason: 'the first one picked the wrong replica',
        cooldown: expect.stringContaining('its cooldown lasts until 2026-11-29T07:00:00.000Z') as unknown,
      },
    });
    await untilState(forced.id, 'awaiting_approval');
    await h.runtime.runs.abort(forced.id, approver.userId, 'test over');
    await untilState(forced.id, 'aborted');
  });
});

describe('window pause (tight-db)', () => {
  test('a step that does not fit pauses with "Continue in next window"; continuing queues it; Abort aborts', async () => {
    // Monday 30 Nov, 02:08 UTC: two minutes of the ten-minute window left; take-lock needs 5 (default).
    clock.set('2026-11-30T02:08:00.000Z');
    await ask(requester, 'start tight-db');
    const run = (await newestRun('tight-db'))!;
    const paused = await untilState(run.id, 'awaiting_approval', 'failed');
    const lock = paused.steps[1]!;
    expect(lock).toMatchObject({ state: 'awaiting_approval', startedAt: null });
    expect(lock.gate).toMatchObject({ reason: 'window', resumeAt: '2026-12-01T02:00:00.000Z' });
    expect(await h.world.has(run.id, 'take-lock')).toBe(false);

    const button = await gatePrompt(run.id);
    const prompt = textOf(button.message);
    expect(prompt).toContain(':hourglass: Paused for the maintenance window — tight-db');
    expect(prompt).toContain(
      '*Take the lock* was not started:\n> Take the lock needs about 5 m (no earlier runs; default) ' +
        'but the maintenance window closes in 2 m. Next window that can hold it: Tue 1 Dec 02:00–02:10 UTC (in 23 h 52 m).',
    );
    // The button: "Continue in next window" with a confirm dialog (take-lock is no destructive gate).
    const raw = (button.message.blocks as { type: string; elements?: Record<string, unknown>[] }[])
      .flatMap((block) => (block.type === 'actions' ? (block.elements ?? []) : []))
      .find((element) => element['action_id'] === 'cutover_approve')!;
    expect(raw['text']).toMatchObject({ text: 'Continue in next window' });
    expect(raw['confirm']).toMatchObject({
      title: { text: 'Continue in next window?' },
      text: { text: '"Take the lock" on tight-db: Continue at 2026-12-01 02:00 UTC.' },
      confirm: { text: 'Continue' },
    });

    // The progress thread says it too.
    const note = await waitFor('the window note in the thread', async () =>
      h.slack.messages(CHANNEL).find((m) => m.thread_ts !== undefined && m.text.startsWith(':hourglass:')),
    );
    expect(note.text).toMatch(/Take the lock.* was not started:\n/);
    expect(note.text).toContain('but the maintenance window closes in 2 m');

    // Clicking (the dialog confirmed) opens no modal and queues the step for the next window.
    const viewsBefore = h.slack.callsTo('views.open').length;
    expect((await click(approver, button)).status).toBe(200);
    const waiting = await waitFor('the step queued for the next window', async () => {
      const current = await h.runtime.store.getRun(run.id);
      return current?.state === 'running' && current.steps[1]?.state === 'queued' ? current : undefined;
    });
    expect(waiting.steps[1]).toMatchObject({ state: 'queued', notBefore: '2026-12-01T02:00:00.000Z' });
    expect(h.slack.callsTo('views.open')).toHaveLength(viewsBefore);
    expect(await h.world.has(run.id, 'take-lock')).toBe(false);
    expect(
      (await h.runtime.store.listAudit(run.id)).filter((e) => e.type === 'approve').map((e) => e.actor),
    ).toEqual([approver.userId]);

    // Abort from the progress message.
    const progress = await waitFor('progress message with Abort', async () => {
      const message = progressMessage(run);
      return message && buttonsOf(message).some((b) => b.actionId === 'cutover_abort') ? message : undefined;
    });
    const abort = buttonsOf(progress).find((b) => b.actionId === 'cutover_abort')!;
    expect((await click(requester, abort)).status).toBe(200);
    const aborted = await untilState(run.id, 'aborted');
    expect(aborted.steps[1]?.state).toBe('skipped');
    // Only the (read-only) preflight ever ran: no lock taken, none to release.
    expect(await h.world.effects(run.id)).toEqual(['preflight']);
    await untilProgress(run, /Aborted/);
  });
});
