// The bot in Slack mode, end to end: the real runtime with the Bolt HTTP receiver on a loopback
// port, the local Slack Web API (the console's implementation) standing in for slack.com, and a
// sender that signs requests the way Slack does.
import type { TargetConfig } from '../../../src/config/types';
import { SlackApiServer } from '../../../src/console/slack-api-server';
import { SlackRequestSender, type Actor } from '../../../src/console/signed-requests';
import type { Runtime } from '../../../src/main/runtime';
import type { Clock } from '../../../src/ports/clock';
import type { Strategy } from '../../../src/strategies/types';
import { dropSchema, testDatabaseUrl } from '../services/pg';
import { startStrategyRuntime } from '../runtimes/harness';
import { ephemeralsTo, latestButton, textOf } from './slack-messages';
import { createTestStrategy, TestWorld } from './test-strategy';
import { waitFor } from '../wait-for';

export const TEAM = 'T0CUTOVER';
export const OTHER_TEAM = 'T0ELSEWHERE';
export const CHANNEL = 'C0TEST0001';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';

export const requester: Actor = { userId: 'U0REQUESTER', teamId: TEAM };
export const approver: Actor = { userId: 'U0APPROVER', teamId: TEAM };
export const groupMember: Actor = { userId: 'U0ONCALL', teamId: TEAM };
export const bystander: Actor = { userId: 'U0BYSTANDER', teamId: TEAM };
export const foreigner: Actor = { userId: 'U0APPROVER', teamId: OTHER_TEAM };

export interface SlackHarness {
  runtime: Runtime;
  world: TestWorld;
  slack: SlackApiServer;
  sender: SlackRequestSender;
  eventsUrl: string;
  close(): Promise<void>;
}

export async function startSlackHarness(options: {
  schema: string;
  queueName: string;
  targets: TargetConfig[];
  clock?: Clock;
  /** Strategies besides the test strategy (e.g. replica-promotion with real adapters). */
  strategies?: Strategy[];
  lagSampleIntervalMs?: number;
  /** Enterprise Grid: the organization the workspace belongs to. */
  enterpriseId?: string;
  /** User groups besides S0DBAONCALL (whose member is `groupMember`). */
  userGroups?: Record<string, string[]>;
  /** How long a step job's lock lasts: a killed worker's job runs again this soon after. */
  lockDurationMs?: number;
}): Promise<SlackHarness> {
  const slack = await SlackApiServer.start({
    teamId: TEAM,
    ...(options.enterpriseId !== undefined ? { enterpriseId: options.enterpriseId } : {}),
    userGroups: { S0DBAONCALL: [groupMember.userId], ...options.userGroups },
  });
  const world = new TestWorld(testDatabaseUrl, `${options.schema}_world`);
  await world.setUp();
  const runtime = await startStrategyRuntime({
    strategy: [createTestStrategy(world), ...(options.strategies ?? [])],
    targets: { path: 'test', targets: options.targets },
    schema: options.schema,
    queueName: options.queueName,
    config: {
      slack: { signingSecret: SIGNING_SECRET, botToken: slack.botToken, appToken: null, apiUrl: slack.url },
    },
    httpPort: 0,
    reconcileIntervalMs: null,
    lagSampleIntervalMs: options.lagSampleIntervalMs ?? null,
    ...(options.lockDurationMs !== undefined
      ? { lockDurationMs: options.lockDurationMs, stalledIntervalMs: Math.floor(options.lockDurationMs / 2) }
      : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const eventsUrl = `http://127.0.0.1:${runtime.http!.port}/slack/events`;
  return {
    runtime,
    world,
    slack,
    sender: new SlackRequestSender(eventsUrl, SIGNING_SECRET),
    eventsUrl,
    async close() {
      await runtime.worker?.close();
      await runtime.queue.queue.obliterate({ force: true });
      await runtime.close();
      await slack.close();
      await world.tearDown();
      await dropSchema(options.schema);
    },
  };
}

/** A button as the tests find it in a posted message (with that message). */
export type FoundButton = NonNullable<ReturnType<typeof latestButton>>;

/** Clicks a button as `actor`, signed, with a fresh trigger id (what Slack sends for a click). */
export function clickButton(
  h: SlackHarness,
  actor: Actor,
  button: Pick<FoundButton, 'actionId' | 'value'> & { message: { ts: string } },
  channel = CHANNEL,
): Promise<{ status: number; body: string }> {
  return h.sender.send(
    h.sender.buttonClickBody(actor, channel, {
      actionId: button.actionId,
      value: button.value,
      messageTs: button.message.ts,
      triggerId: h.slack.issueTriggerId(actor.userId),
    }),
  );
}

/** The newest Approve button of the run's gate prompt in the channel. */
export function gatePrompt(h: SlackHarness, runId: string, channel = CHANNEL): Promise<FoundButton> {
  return waitFor('approval prompt', async () => {
    const button = latestButton(h.slack, channel, 'cutover_approve');
    return button && button.value.includes(runId) ? button : undefined;
  });
}

/** Approve a destructive gate: click Approve, then type `typed` in the confirmation modal. */
export async function approveWithModal(
  h: SlackHarness,
  actor: Actor,
  runId: string,
  typed: string,
): Promise<{ status: number; body: string }> {
  const button = await gatePrompt(h, runId);
  const viewsBefore = h.slack.callsTo('views.open').length;
  const clicked = await clickButton(h, actor, button);
  if (clicked.status !== 200) throw new Error(`the Approve click got HTTP ${clicked.status}`);
  const opened = await waitFor('confirmation modal', async () => {
    const calls = h.slack.callsTo('views.open');
    return calls.length > viewsBefore ? calls[calls.length - 1] : undefined;
  });
  const view = opened.args['view'] as { callback_id: string; private_metadata: string };
  return h.sender.send(
    h.sender.viewSubmissionBody(actor, {
      id: `V${Date.now()}`,
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      values: { confirm_target: { typed_target: typed } },
    }),
  );
}

/**
 * Sends a command as `actor` and returns what they are told: the ack's answer (read-only commands
 * and usage errors, blocks included) or else the next ephemeral message.
 */
export async function askCommand(
  h: SlackHarness,
  actor: Actor,
  text: string,
  channel = CHANNEL,
): Promise<string> {
  const seen = ephemeralsTo(h.slack, actor.userId).length;
  const response = await h.sender.command(actor, channel, text);
  if (response.status !== 200) throw new Error(`"${text}" got HTTP ${response.status}`);
  if (response.body !== '') {
    const ack = JSON.parse(response.body) as { text: string; blocks?: unknown[] };
    return textOf({ channel, ts: '', bot: true, history: 0, ...ack });
  }
  return waitFor(`the answer to "${text}"`, async () => {
    const messages = ephemeralsTo(h.slack, actor.userId);
    return messages.length > seen ? textOf(messages[messages.length - 1]!) : undefined;
  });
}
