// The bot is killed (SIGKILL) the moment Slack has the ack of the confirmation modal. The approval
// was committed together with the delivery's claim before that ack: the restarted bot finds both,
// finishes the run, and a redelivery of the same submission is dropped as the duplicate it is.
// (Before, the ack came first: the claim was stored, the approval lost, and the retry refused.)
import type { ChildProcess } from 'node:child_process';
import { PgRunStore } from '../../src/adapters/store/pg-run-store';
import { SlackRequestSender } from '../../src/console/signed-requests';
import type { Run, RunState } from '../../src/engine/types';
import { CONFIRM_CALLBACK_ID, encodeGateRef } from '../../src/slack/render/blocks';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../support/services/pg';
import { freshQueueName } from '../support/services/redis';
import { exited } from '../support/runtimes/child-worker';
import { untilRunState } from '../support/runtimes/run-state';
import { approver, CHANNEL, requester, SIGNING_SECRET } from '../support/fakes/slack-harness';
import { TestWorld } from '../support/fakes/test-strategy';
import { waitFor } from '../support/wait-for';
import { faultTest } from './support/fault-report';
import { spawnSlackBot } from './support/slack-bot';

const SUITE = 'slack crash';
/** Read by slack-bot-main.ts: SIGKILL right after this request's ack is sent. */
const KILL_AFTER_ACK = { 'x-test-sigkill-after-ack': '1' };
const TARGET = 'child-db';
const GATE_STEP = 3;

const schema = freshSchemaName('f_crash');
const queue = freshQueueName('f-crash');
let store: PgRunStore;
let world: TestWorld;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  store = await PgRunStore.open({ connectionString: testDatabaseUrl, schema });
  world = new TestWorld(testDatabaseUrl, `${schema}_world`);
});

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store.close();
  await world.close();
  await dropSchema(schema);
});

/** The bot in its own process on this suite's schema and queue; resolves once it listens. */
async function startBot(): Promise<{ child: ChildProcess; sender: SlackRequestSender }> {
  // A job the killed process held runs again within seconds, not the production 30 s.
  const { child, eventsUrl } = spawnSlackBot({
    FAULT_SCHEMA: schema,
    FAULT_QUEUE: queue,
    FAULT_LOCK_MS: '2000',
  });
  children.add(child);
  return { child, sender: new SlackRequestSender(await eventsUrl, SIGNING_SECRET) };
}

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(store, runId, states);
}

async function deliveryKeys(prefix: string): Promise<number> {
  const result = await store.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${schema}.slack_deliveries WHERE key LIKE $1`,
    [`${prefix}%`],
  );
  return Number(result.rows[0]!.n);
}

faultTest(
  SUITE,
  'SIGKILL right after the ack of the confirmation modal: approval and claim both kept',
  async (fault) => {
    const first = await startBot();
    expect((await first.sender.command(requester, CHANNEL, `start ${TARGET}`)).status).toBe(200);
    const created = await waitFor('the run', async () => (await store.listRecentRuns(10))[0]);
    const run = await untilState(created.id, 'awaiting_approval');
    expect(run.steps[GATE_STEP]?.gate).toMatchObject({ round: 1 });

    // What Slack sends when the approver submits the modal with the target's name typed.
    const submission = first.sender.viewSubmissionBody(approver, {
      id: 'V0CRASHVIEW',
      callbackId: CONFIRM_CALLBACK_ID,
      privateMetadata: encodeGateRef({ runId: run.id, step: GATE_STEP, round: 1 }),
      values: { confirm_target: { typed_target: TARGET } },
    });
    const acked = await first.sender.send(submission, { headers: KILL_AFTER_ACK });
    expect(acked).toEqual({ status: 200, body: '' }); // the modal closes: Slack was told "approved"
    expect(await exited(first.child)).toBe('SIGKILL');
    fault.faultsInjected++;

    // Both are stored, or the ack would not have been sent.
    expect(await store.listApprovals(run.id)).toEqual([expect.objectContaining({ userId: approver.userId })]);
    expect(await deliveryKeys('view:V0CRASHVIEW:')).toBe(1);

    // The restarted bot finishes the run; Slack's retry of the delivery is dropped.
    const second = await startBot();
    const retried = await second.sender.send(submission, {
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    fault.faultsInjected++;
    expect(retried.status).toBe(200);
    const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
    fault.runsCompleted++;
    const switches = (await world.effects(run.id)).filter((effect) => effect === 'switch').length;
    fault.irreversibleTwice = Math.max(0, switches - 1);
    const decisions = (await store.listAudit(run.id)).filter((entry) => /approve$/.test(entry.type));
    fault.note = `after the kill: approvals ${(await store.listApprovals(run.id)).length}, run ${done.state}, switch ${switches}`;

    expect(done.state).toBe('succeeded');
    expect(switches).toBe(1);
    expect(decisions.map((entry) => [entry.type, entry.actor])).toEqual([['approve', approver.userId]]);
    expect(await store.listApprovals(run.id)).toHaveLength(1);

    const stopped = exited(second.child);
    second.child.kill('SIGTERM');
    await stopped;
  },
  90_000,
);
