// Who may act, and on what, through signed requests into the real Bolt receiver: a target's
// operators, --force for approvers only, the person's own team (Slack Connect, Enterprise Grid),
// --strategy checked against the target's settings, a needs-human "Retry anyway" only with the
// target's name typed, and command text capped before it is read.
import { z } from 'zod';
import type { Run, RunState } from '../../../src/engine/types';
import type { Strategy } from '../../../src/strategies/types';
import type { Actor } from '../../../src/console/signed-requests';
import { testTarget } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { untilRunState } from '../../support/runtimes/run-state';
import {
  approveWithModal,
  approver,
  bystander,
  CHANNEL,
  clickButton,
  gatePrompt,
  OTHER_TEAM,
  requester,
  askCommand,
  startSlackHarness,
  TEAM,
  type SlackHarness,
} from '../../support/fakes/slack-harness';
import { ephemeralsTo, textOf } from '../../support/fakes/slack-messages';
import { waitFor } from '../../support/wait-for';

const ORGANIZATION = 'E0CUTOVERORG';
const operator: Actor = { userId: 'U0OPERATOR', teamId: TEAM };
const opsMember: Actor = { userId: 'U0OPSMEMBER', teamId: TEAM };

/** Registered so that `--strategy volume-swap` names a strategy whose settings the targets lack. */
const volumeSwap: Strategy = {
  name: 'volume-swap',
  planVersion: 1,
  oldestPlanVersion: 1,
  summary: 'stands in for the real one: only its settings matter here',
  configSchema: z.object({ volume: z.object({ id: z.string() }).strict() }).strict(),
  plan: () => {
    throw new Error('never planned: the settings do not fit');
  },
  preflight: () => Promise.resolve([]),
  executors: {},
};

const schema = freshSchemaName('t_who');
let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackHarness({
    schema,
    queueName: freshQueueName('who'),
    enterpriseId: ORGANIZATION,
    userGroups: { S0OPSGROUP: [opsMember.userId] },
    targets: [
      { ...testTarget('ops-db', { polls: 0 }), operators: [operator.userId, 'S0OPSGROUP'] },
      testTarget('open-db', { polls: 0 }),
      testTarget('connect-db', { polls: 0 }),
      testTarget('human-db', { polls: 0, actionFails: 'needs-human' }),
    ],
    strategies: [volumeSwap],
  });
});

afterAll(async () => {
  await h.close();
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(h.runtime.store, runId, states);
}

function ask(actor: Actor, text: string): Promise<string> {
  return askCommand(h, actor, text);
}

async function runsOf(target: string): Promise<Run[]> {
  return (await h.runtime.store.listRecentRuns(1000)).filter((run) => run.target === target);
}

async function refusedAudit(type: string): Promise<{ actor: string; payload: unknown }[]> {
  const rows = await h.runtime.store.pool.query<{ actor: string; payload: unknown }>(
    `SELECT actor, payload FROM ${schema}.audit_events WHERE type = $1 ORDER BY id`,
    [type],
  );
  return rows.rows;
}

describe('operators', () => {
  test('a target with operators: others may not start, schedule or abort; operators may', async () => {
    expect(await ask(bystander, 'start ops-db')).toBe('Not started: you are not an operator of ops-db.');
    expect(await ask(bystander, 'schedule ops-db --at 2099-01-01T02:00Z')).toBe(
      'Not scheduled: you are not an operator of ops-db.',
    );
    expect(await runsOf('ops-db')).toEqual([]);
    expect(await refusedAudit('refused:start')).toEqual([
      { actor: bystander.userId, payload: expect.objectContaining({ target: 'ops-db' }) as unknown },
    ]);

    // A member of the operators' user group starts; a bystander may not abort, another operator may.
    expect(await ask(opsMember, 'start ops-db')).toMatch(/^Started cutover `([0-9a-f]{8})` of `ops-db`/);
    const [run] = await runsOf('ops-db');
    await untilState(run!.id, 'awaiting_approval');
    expect(await ask(bystander, `abort ${run!.id.slice(0, 8)}`)).toBe(
      'Not aborted: only the requester, the operators and the approvers of ops-db can abort it.',
    );
    expect(await ask(operator, `abort ${run!.id.slice(0, 8)}`)).toBe(`Aborting \`${run!.id.slice(0, 8)}\`.`);
    expect((await untilState(run!.id, 'aborted', 'failed')).state).toBe('aborted');
  });

  test('a target without operators: anyone in its channel starts (as before)', async () => {
    expect(await ask(bystander, 'start open-db')).toMatch(/^Started cutover/);
    const [run] = await runsOf('open-db');
    await untilState(run!.id, 'awaiting_approval');
    await h.runtime.runs.abort(run!.id, approver.userId, 'test over');
    await untilState(run!.id, 'aborted');
  });
});

describe('--strategy', () => {
  test('a strategy whose settings the target lacks is refused before anything is planned', async () => {
    const before = (await runsOf('open-db')).length;
    expect(await ask(requester, 'start open-db --strategy volume-swap')).toMatch(
      /^Not started: the settings of open-db are not valid for volume-swap \(.*volume.*\)\.$/,
    );
    expect(await ask(requester, 'plan open-db --strategy volume-swap')).toMatch(
      /^`open-db` cannot be planned as volume-swap: its settings are not valid for it/,
    );
    expect(await ask(requester, 'schedule open-db --at 2099-01-01T02:00Z --strategy volume-swap')).toMatch(
      /^Not scheduled: the settings of open-db are not valid for volume-swap/,
    );
    expect(await runsOf('open-db')).toHaveLength(before);
  });
});

describe("the person's own team", () => {
  test('a click from another organization in a Slack Connect channel hosted here is refused', async () => {
    expect(await ask(requester, 'start connect-db')).toMatch(/^Started cutover/);
    const [run] = await runsOf('connect-db');
    await untilState(run!.id, 'awaiting_approval');
    const button = await gatePrompt(h, run!.id);
    const views = h.slack.callsTo('views.open').length;

    // body.team is this workspace (the channel's host); the person belongs elsewhere.
    const guest: Actor = { ...approver, teamId: OTHER_TEAM, hostTeamId: TEAM };
    const seen = ephemeralsTo(h.slack, guest.userId).length;
    expect((await clickButton(h, guest, button)).status).toBe(200);
    const told = await waitFor('the refusal', async () => ephemeralsTo(h.slack, guest.userId)[seen]);
    expect(textOf(told)).toBe('Not done: users from another workspace cannot approve');
    expect(h.slack.callsTo('views.open')).toHaveLength(views);

    // The same person of this organization (Enterprise Grid: user.team_id is the E… id), clicking
    // in a channel hosted by another workspace, is one of ours.
    const member: Actor = { ...approver, teamId: ORGANIZATION, hostTeamId: OTHER_TEAM };
    expect((await approveWithModal(h, member, run!.id, 'connect-db')).status).toBe(200);
    expect((await untilState(run!.id, 'succeeded', 'failed', 'aborted')).state).toBe('succeeded');
  });

  test('a slash command of another organization is refused; one of this organization is taken', async () => {
    expect(await ask({ ...bystander, teamId: OTHER_TEAM, enterpriseId: 'E0ELSEWHERE' }, 'list')).toMatch(
      /one workspace/,
    );
    expect(await ask({ ...bystander, teamId: 'T0SISTER', enterpriseId: ORGANIZATION }, 'list')).not.toMatch(
      /one workspace/,
    );
  });
});

describe('Retry anyway', () => {
  test('overrides a safety check only with the target typed in a modal; the engine refuses it otherwise', async () => {
    expect(await ask(requester, 'start human-db')).toMatch(/^Started cutover/);
    const [run] = await runsOf('human-db');
    await untilState(run!.id, 'awaiting_approval');
    await approveWithModal(h, approver, run!.id, 'human-db');
    const paused = await waitFor('the needs-human gate', async () => {
      const current = await h.runtime.store.getRun(run!.id);
      return current?.steps[4]?.gate?.reason === 'needs_human' ? current : undefined;
    });
    const round = paused.steps[4]!.gate!.round;

    // Without the name, no path through the run service approves it.
    const direct = await h.runtime.runs.approve(run!.id, 4, round, approver.userId, {}, { confirmation: '' });
    expect(direct).toMatchObject({
      ok: false,
      error: expect.stringMatching(/overrides a safety check/) as unknown,
    });

    // The button opens a modal that says what is overridden; a wrong name is refused in it.
    const button = await waitFor('the Retry anyway button', async () => {
      const found = await gatePrompt(h, run!.id);
      return found.value.includes('"step":4') ? found : undefined;
    });
    const views = h.slack.callsTo('views.open').length;
    expect((await clickButton(h, approver, button)).status).toBe(200);
    const opened = await waitFor('the modal', async () => h.slack.callsTo('views.open')[views]);
    const view = opened.args['view'] as {
      callback_id: string;
      private_metadata: string;
      submit: { text: string };
    };
    expect(view.submit.text).toBe('Retry anyway');
    expect(JSON.stringify(view)).toContain('the switch needs a person to confirm the target is safe');
    const submit = (typed: string) =>
      h.sender.send(
        h.sender.viewSubmissionBody(approver, {
          id: `V${Date.now()}`,
          callbackId: view.callback_id,
          privateMetadata: view.private_metadata,
          values: { confirm_target: { typed_target: typed } },
        }),
      );
    expect(JSON.parse((await submit('human')).body)).toMatchObject({ response_action: 'errors' });
    expect((await h.runtime.store.getRun(run!.id))?.steps[4]?.humanOverride).toBe(false);
    expect((await submit('human-db')).body).toBe('');
    expect((await untilState(run!.id, 'succeeded', 'failed', 'aborted')).state).toBe('succeeded');
  });
});

test('a 40,000-character command is refused in the ack, saying how long it may be', async () => {
  const response = await h.sender.command(requester, CHANNEL, `start ${'x'.repeat(40_000)}`);
  expect(response.status).toBe(200);
  expect((JSON.parse(response.body) as { text: string }).text).toMatch(
    /^the command is 40006 characters long; \/cutover takes at most 2000\nUsage:/,
  );
});
