// Slack delivers the same approval four times at once (the original and three X-Slack-Retry-Num
// redeliveries), and two people press Approve and Abort at the same moment. Through the real Bolt
// receiver with signed requests and the test strategy, whose side effects are counted in PostgreSQL:
// exactly one outcome, each decision audited, the irreversible switch done at most once.
import type { Run, RunState } from '../../src/engine/types';
import { testTarget } from '../support/runtimes/harness';
import { freshSchemaName } from '../support/services/pg';
import { freshQueueName } from '../support/services/redis';
import { untilRunState } from '../support/runtimes/run-state';
import {
  approver,
  CHANNEL,
  requester,
  startSlackHarness,
  type SlackHarness,
} from '../support/fakes/slack-harness';
import { buttonsOf, latestButton, type FoundButton } from '../support/fakes/slack-messages';
import { waitFor } from '../support/wait-for';
import type { Actor } from '../../src/console/signed-requests';
import { faultTest } from './support/fault-report';

const SUITE = 'slack races';
const schema = freshSchemaName('f_slack');
/**
 * Milliseconds the abort is sent after (negative: before) the approval in each round: the same
 * moment, give or take the jitter two people's clicks have, so that different interleavings occur.
 */
const ABORT_OFFSETS_MS = [0, -20, 0, 5, 20, 60];
const RACE_ROUNDS = ABORT_OFFSETS_MS.length;
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({
    schema,
    queueName: freshQueueName('f-slack'),
    targets: [testTarget('dupe-db', { polls: 0 }), testTarget('race-db', { polls: 0 })],
  });
});

afterAll(async () => {
  await h.close();
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(h.runtime.store, runId, states);
}

async function startRun(target: string): Promise<Run> {
  const before = new Set((await h.runtime.store.listRecentRuns(1000)).map((run) => run.id));
  expect((await h.sender.command(requester, CHANNEL, `start ${target}`)).status).toBe(200);
  const run = await waitFor('the run', async () =>
    (await h.runtime.store.listRecentRuns(1000)).find((r) => r.target === target && !before.has(r.id)),
  );
  await untilState(run.id, 'awaiting_approval');
  return run;
}

async function gatePrompt(runId: string): Promise<FoundButton> {
  return waitFor('approval prompt', async () => {
    const button = latestButton(h.slack, CHANNEL, 'cutover_approve');
    return button && button.value.includes(runId) ? button : undefined;
  });
}

function clickBody(actor: Actor, button: FoundButton): string {
  return h.sender.buttonClickBody(actor, CHANNEL, {
    actionId: button.actionId,
    value: button.value,
    messageTs: button.message.ts,
    triggerId: h.slack.issueTriggerId(actor.userId),
  });
}

/** Clicks Approve and returns the body of the confirmation modal's submission (typed correctly). */
async function approvalSubmission(runId: string, target: string): Promise<string> {
  const button = await gatePrompt(runId);
  const viewsBefore = h.slack.callsTo('views.open').length;
  expect((await h.sender.send(clickBody(approver, button))).status).toBe(200);
  const opened = await waitFor('confirmation modal', async () => h.slack.callsTo('views.open')[viewsBefore]);
  const view = opened.args['view'] as { callback_id: string; private_metadata: string };
  return h.sender.viewSubmissionBody(approver, {
    id: `V${runId.slice(0, 8)}`,
    hash: `h-${runId.slice(0, 8)}`,
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata,
    values: { confirm_target: { typed_target: target } },
  });
}

async function switches(runId: string): Promise<{ switch: number; back: number }> {
  const effects = await h.world.effects(runId);
  return {
    switch: effects.filter((effect) => effect === 'switch').length,
    back: effects.filter((effect) => effect === 'switch-back').length,
  };
}

faultTest(
  SUITE,
  'the same approval delivered 4 times concurrently (X-Slack-Retry-Num 1..3)',
  async (fault) => {
    const run = await startRun('dupe-db');
    const body = await approvalSubmission(run.id, 'dupe-db');
    const retry = (n: number) => ({
      headers: { 'x-slack-retry-num': String(n), 'x-slack-retry-reason': 'http_timeout' },
    });
    const responses = await Promise.all([
      h.sender.send(body),
      h.sender.send(body, retry(1)),
      h.sender.send(body, retry(2)),
      h.sender.send(body, retry(3)),
    ]);
    fault.faultsInjected += 3;
    const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
    fault.runsCompleted++;

    const effects = await switches(run.id);
    const approvals = await h.runtime.store.listApprovals(run.id);
    const audited = (await h.runtime.store.listAudit(run.id)).filter((entry) =>
      entry.type.endsWith('approve'),
    );
    fault.irreversibleTwice = Math.max(0, effects.switch - 1);
    fault.note = `statuses ${responses.map((r) => r.status).join(',')}; approvals ${approvals.length}; switch ${effects.switch}`;

    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(done.state).toBe('succeeded');
    expect(approvals).toHaveLength(1);
    // Delivered four times, decided once: one approval in the audit log, no refusals either.
    expect(audited.map((entry) => [entry.type, entry.actor])).toEqual([['approve', approver.userId]]);
    expect(effects).toEqual({ switch: 1, back: 0 });
  },
  60_000,
);

faultTest(
  SUITE,
  `approve and abort pressed at the same moment by two users (${RACE_ROUNDS} rounds)`,
  async (fault) => {
    const outcomes: string[] = [];
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const run = await startRun('race-db');
      const submission = await approvalSubmission(run.id, 'race-db');
      const prompt = await gatePrompt(run.id);
      const abortButton = buttonsOf(prompt.message).find((button) => button.actionId === 'cutover_abort')!;
      const abortClick = clickBody(requester, abortButton);
      const offset = ABORT_OFFSETS_MS[round] ?? 0;
      const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
      const responses = await Promise.all([
        later(-offset).then(() => h.sender.send(submission)),
        later(offset).then(() => h.sender.send(abortClick)),
      ]);
      fault.faultsInjected++;
      expect(responses.map((response) => response.status)).toEqual([200, 200]);

      const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
      fault.runsCompleted++;
      // Both decisions are on record, each exactly once: taken, or refused by the engine.
      const audit = await waitFor('both decisions audited', async () => {
        const entries = await h.runtime.store.listAudit(run.id);
        const decisions = entries.filter((entry) => /^(refused:)?(approve|abort)$/.test(entry.type));
        return decisions.length >= 2 ? decisions : undefined;
      });
      const effects = await switches(run.id);
      fault.irreversibleTwice += Math.max(0, effects.switch - 1) + Math.max(0, effects.back - 1);
      const byApprover = audit.filter((entry) => entry.actor === approver.userId).map((entry) => entry.type);
      const byRequester = audit
        .filter((entry) => entry.actor === requester.userId)
        .map((entry) => entry.type);
      outcomes.push(
        `abort ${offset} ms: ${done.state} (${byApprover.join('')} / ${byRequester.join('')}, switch ${effects.switch}, back ${effects.back})`,
      );

      expect(byApprover).toHaveLength(1);
      expect(byRequester).toHaveLength(1);
      if (done.state === 'succeeded') {
        // Approved first and finished before the abort arrived: the abort was refused.
        expect(byApprover).toEqual(['approve']);
        expect(byRequester).toEqual(['refused:abort']);
        expect(effects).toEqual({ switch: 1, back: 0 });
      } else {
        expect(done.state).toBe('aborted');
        expect(byRequester).toEqual(['abort']);
        // If the switch ran before the abort was acted on, it was undone once; otherwise never run.
        expect(effects.switch).toBeLessThanOrEqual(1);
        expect(effects.back).toBe(effects.switch);
      }
      expect((await h.runtime.store.listApprovals(run.id)).length).toBeLessThanOrEqual(1);
    }
    fault.note = outcomes.join('; ');
  },
  90_000,
);
