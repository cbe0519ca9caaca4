// Replica promotion of a real PostgreSQL pair (initdb / pg_basebackup -R as the postgres user),
// driven through Slack requests and the real runtime, under a continuous write load.
import { Client } from 'pg';
import { PgReplication } from '../../../src/adapters/postgres/pg-replication';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { parseTargets } from '../../../src/config/targets';
import type { Run, RunState } from '../../../src/engine/types';
import { configSchemasOf } from '../../../src/strategies';
import { createReplicaPromotion } from '../../../src/strategies/replica-promotion';
import { ReplicationProbe } from '../../faults/support/replication-probe';
import { FENCE_AND_PROMOTE_STEP } from '../../../src/strategies/replica-promotion/plan';
import { registryOf } from '../../../src/strategies/types';
import { startPgPair, startWriter, type PgPair } from '../../support/services/pg-pair';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import {
  approver,
  CHANNEL,
  requester,
  startSlackHarness,
  type SlackHarness,
} from '../../support/fakes/slack-harness';
import { buttonsOf, latestButton, textOf } from '../../support/fakes/slack-messages';
import { waitFor } from '../../support/wait-for';
import { untilRunState } from '../../support/runtimes/run-state';

const schema = freshSchemaName('t_promote');
// Secrets are resolved at use from this object: each scenario points its target at a fresh pair.
const env: NodeJS.ProcessEnv = {};
const pairs: PgPair[] = [];
let h: SlackHarness;

/** A fault to inject into the replication port: stop the primary when the fence is attempted. */
let onFence: (() => Promise<void>) | null = null;
const realReplication = new PgReplication();
const replication = new ReplicationProbe(realReplication);
replication.before.fence = async () => {
  if (onFence) await onFence();
};

const names = ['main', 'paused', 'dies', 'abortgate', 'abortfence'] as const;
type Scenario = (typeof names)[number];
const limits: Record<Scenario, string> = {
  main: '{ bytes: 16MB, seconds: 5 }',
  paused: '{ bytes: 64kB, seconds: 30 }',
  dies: '{ bytes: 16MB, seconds: 5 }',
  abortgate: '{ bytes: 16MB, seconds: 5 }',
  // Generous: the catch-up (not the lag check) is what this scenario holds up.
  abortfence: '{ bytes: 1GB, seconds: 3600 }',
};

function targetsYaml(): string {
  const entries = names.map(
    (name) => `  - name: ${name}-db
    strategy: replica-promotion
    postgres: { primary: env:${name.toUpperCase()}_PRIMARY, standby: env:${name.toUpperCase()}_STANDBY, catchUpTimeout: 10m }
    maxLag: ${limits[name]}
    lagPollInterval: 100ms
    route: { command: ["/bin/echo", "routing ${name}-db to {standby.host}:{standby.port}"], timeout: 10s }`,
  );
  return `defaults:\n  channel: ${CHANNEL}\n  approvers: [${approver.userId}]\ntargets:\n${entries.join('\n')}\n`;
}

async function pairFor(name: Scenario): Promise<PgPair> {
  const pair = await startPgPair();
  pairs.push(pair);
  env[`${name.toUpperCase()}_PRIMARY`] = pair.primaryUrl;
  env[`${name.toUpperCase()}_STANDBY`] = pair.standbyUrl;
  return pair;
}

beforeAll(async () => {
  for (const name of names) {
    env[`${name.toUpperCase()}_PRIMARY`] = 'postgres://unset';
    env[`${name.toUpperCase()}_STANDBY`] = 'postgres://unset';
  }
  const strategy = createReplicaPromotion({
    replication,
    rds: new AwsRdsAdapter(),
    hooks: new ProcessHookRunner(),
    env,
  });
  const targets = parseTargets(targetsYaml(), 'promote-test.yaml', {
    env,
    strategies: configSchemasOf(registryOf([strategy])),
  });
  h = await startSlackHarness({
    schema,
    queueName: freshQueueName('promote'),
    targets: [...targets.targets],
    strategies: [strategy],
    lagSampleIntervalMs: 200,
  });
});

afterAll(async () => {
  await h.close();
  for (const pair of pairs) await pair.destroy();
});

function untilState(runId: string, ...states: RunState[]): Promise<Run> {
  return untilRunState(h.runtime.store, runId, states);
}

function untilStep(
  runId: string,
  stepName: string,
  predicate: (run: Run) => boolean,
  what: string,
): Promise<Run> {
  return waitFor(
    `${stepName}: ${what}`,
    async () => {
      const run = await h.runtime.store.getRun(runId);
      return run && predicate(run) ? run : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

async function startRun(target: string): Promise<Run> {
  const before = new Set((await h.runtime.store.listRecentRuns(1000)).map((run) => run.id));
  expect((await h.sender.command(requester, CHANNEL, `start ${target}`)).status).toBe(200);
  return waitFor('the run', async () =>
    (await h.runtime.store.listRecentRuns(1000)).find((run) => run.target === target && !before.has(run.id)),
  );
}

/** Approve the destructive gate the way a person does: button, then the target's name in the modal. */
async function approve(runId: string, target: string): Promise<void> {
  const button = await waitFor('approval prompt', async () => {
    const found = latestButton(h.slack, CHANNEL, 'cutover_approve');
    return found && found.value.includes(runId) ? found : undefined;
  });
  const viewsBefore = h.slack.callsTo('views.open').length;
  await h.sender.send(
    h.sender.buttonClickBody(approver, CHANNEL, {
      actionId: button.actionId,
      value: button.value,
      messageTs: button.message.ts,
      triggerId: h.slack.issueTriggerId(approver.userId),
    }),
  );
  const opened = await waitFor('modal', async () => h.slack.callsTo('views.open')[viewsBefore]);
  const view = opened.args['view'] as { callback_id: string; private_metadata: string };
  const response = await h.sender.send(
    h.sender.viewSubmissionBody(approver, {
      id: `V${Date.now()}`,
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      values: { confirm_target: { typed_target: target } },
    }),
  );
  expect(response.status).toBe(200);
}

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function writeRefused(url: string): Promise<boolean> {
  return replication.verifyFenced(url);
}

/** The fence-and-promote step of a run. */
function stepOf(run: Run): Run['steps'][number] | undefined {
  return run.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP);
}

/** Whether the server at `url` refuses every login (the old primary after a SQL-fenced promotion). */
async function nobodyMayLogIn(url: string, roles: string[]): Promise<boolean> {
  for (const role of roles) {
    const target = new URL(url);
    target.username = role;
    const refused = await query(target.toString(), 'SELECT 1').then(
      () => false,
      (error: Error) => /not permitted to log in/.test(error.message),
    );
    if (!refused) return false;
  }
  return true;
}

test('a full cutover under write load: no acknowledged row lost, old primary fenced, new timeline, window measured', async () => {
  const pair = await pairFor('main');
  const writer = await startWriter(pair.primaryUrl, 'orders');
  await waitFor('writes flowing', async () => writer.acknowledged.length > 20);

  const run = await startRun('main-db');
  await untilState(run.id, 'awaiting_approval');
  // The prompt shows the lag at this moment, from the samples the bot keeps taking.
  await waitFor('a lag sample', async () => (await h.runtime.store.recentLagSamples(run.id, 1)).length > 0);
  await approve(run.id, 'main-db');
  const done = await untilState(run.id, 'succeeded', 'failed', 'aborted');
  await writer.stop();
  expect(done.state).toBe('succeeded');

  // Every write the old primary acknowledged is on the new primary.
  const rows = await query<{ id: number }>(pair.standbyUrl, 'SELECT id FROM orders');
  const present = new Set(rows.map((row) => Number(row.id)));
  const lost = writer.acknowledged.filter((id) => !present.has(id));
  expect(writer.acknowledged.length).toBeGreaterThan(20);
  expect(lost).toEqual([]);

  // The old primary takes nobody's writes: no role may log in to it any more, the bot's own included.
  expect(await nobodyMayLogIn(pair.primaryUrl, ['postgres', 'app_writer'])).toBe(true);
  expect(await realReplication.verifyPromoted(pair.standbyUrl)).toEqual({
    inRecovery: false,
    timeline: 2,
    acceptsWrites: true,
  });
  const report = done.steps.find((step) => step.spec.name === 'report')?.output;
  expect(report).toMatchObject({ bytesLost: 0, timeline: 2 });
  // How long the window is, is the benchmark's business (npm run bench), not a test's: this machine is shared.
  expect(report?.['writeUnavailableMs']).toEqual(expect.any(Number));
  expect(report?.['writeUnavailableMs'] as number).toBeGreaterThan(0);
  const promoted = done.steps.find((step) => step.spec.name === FENCE_AND_PROMOTE_STEP)?.output;
  expect(promoted).toMatchObject({
    bytesOutstanding: 0,
    alreadyPromoted: false,
    timeline: 2,
    previousTimeline: 1,
  });
  // The window's phases add up to the reported window (each measured on the same clock).
  const phases = promoted?.['phasesMs'] as { fence: number; catchUp: number; promote: number };
  expect(phases.fence + phases.catchUp + phases.promote).toBe(report?.['writeUnavailableMs']);

  // The channel: the route hook's output and the report are in the run's thread.
  const thread = await waitFor('report in the thread', async () => {
    const replies = h.slack.messages(CHANNEL).filter((message) => message.thread_ts && !message.ephemeralTo);
    const texts = replies.map(textOf).join('\n');
    return /Write-unavailable window/.test(texts) && /routing main-db to 127\.0\.0\.1/.test(texts)
      ? texts
      : undefined;
  });
  expect(thread).toMatch(/Bytes lost: 0/);
  expect(thread).toMatch(
    /Write-unavailable window .*: \d+ ms \(fence \d+ ms, catch-up \d+ ms, promote \d+ ms\)/,
  );
  expect(thread).toMatch(/pg_rewind/);

  // The steps' session scopes closed: the bot holds no session on the new primary once the run is
  // over (the old one lets nobody log in to look, and its sessions ended with the steps).
  for (const url of [pair.standbyUrl]) {
    await waitFor('no bot session left', async () =>
      (
        await query<{ n: number }>(
          url,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'cutover-bot'",
        )
      )[0]?.n === 0
        ? true
        : undefined,
    );
  }
});

test('replay paused: the run waits at the lag step with growing lag; approval while lag is too high does not promote', async () => {
  const pair = await pairFor('paused');
  await pair.pauseReplay();
  const writer = await startWriter(pair.primaryUrl, 'orders');
  const run = await startRun('paused-db');

  // Waits at the lag step, and the stored samples show lag growing.
  await untilStep(run.id, 'wait-for-lag', (r) => (r.steps[1]?.attempt ?? 0) >= 3, 'polling');
  const samples = await waitFor('growing lag samples', async () => {
    const recent = await h.runtime.store.recentLagSamples(run.id, 10);
    const bytes = recent.map((sample) => sample.bytes ?? 0);
    return bytes.length >= 3 && bytes[bytes.length - 1]! > bytes[0]! ? bytes : undefined;
  });
  expect(samples[samples.length - 1]).toBeGreaterThan(64 * 1024);
  expect((await h.runtime.store.getRun(run.id))?.state).toBe('running');

  // Let it through the lag step, then pause again while the gate waits.
  await writer.stop();
  await pair.resumeReplay();
  await untilState(run.id, 'awaiting_approval');
  await pair.pauseReplay();
  const burst = await startWriter(pair.primaryUrl, 'orders_burst');
  await waitFor('lag over the limit', async () => {
    const lag = await replication.lag(pair.primaryUrl, pair.standbyUrl);
    return (lag.bytes ?? 0) > 64 * 1024;
  });
  await burst.stop();
  await approve(run.id, 'paused-db');

  const paused = await untilStep(
    run.id,
    'recheck-lag',
    (r) => r.steps[3]?.gate?.reason === 'needs_human',
    'needs a person',
  );
  expect(paused.state).toBe('awaiting_approval');
  expect(paused.steps[3]?.gate?.message).toMatch(/not fencing/);
  const standby = await realReplication.describe(pair.standbyUrl);
  expect(standby.inRecovery).toBe(true);
  expect(await writeRefused(pair.primaryUrl)).toBe(false);

  await h.runtime.runs.abort(run.id, approver.userId, 'lag will not come down tonight');
  await untilState(run.id, 'aborted');
  await pair.resumeReplay();
});

test('the primary stops answering during the fence: the run stops at a needs-human gate; the standby is not promoted', async () => {
  const pair = await pairFor('dies');
  const run = await startRun('dies-db');
  await untilState(run.id, 'awaiting_approval');
  onFence = async () => {
    onFence = null;
    await pair.stopPrimary('immediate');
  };
  await approve(run.id, 'dies-db');
  const paused = await untilStep(
    run.id,
    FENCE_AND_PROMOTE_STEP,
    (r) => stepOf(r)?.gate?.reason === 'needs_human',
    'needs a person',
  );
  expect(stepOf(paused)?.gate?.message).toMatch(/could not fence the primary/);
  expect((await realReplication.describe(pair.standbyUrl)).inRecovery).toBe(true);
  // The needs-human prompt is in the channel with Retry anyway and Abort.
  const prompt = await waitFor('needs-human prompt', async () =>
    h.slack
      .messages(CHANNEL)
      .find((message) => !message.ephemeralTo && /could not fence the primary/.test(textOf(message))),
  );
  expect(buttonsOf(prompt).map((button) => button.actionId)).toEqual(
    expect.arrayContaining(['cutover_approve', 'cutover_abort']),
  );
  await pair.startPrimary();
  await h.runtime.runs.abort(run.id, approver.userId, 'primary flapped');
  await untilState(run.id, 'aborted', 'failed');
  expect((await realReplication.describe(pair.standbyUrl)).inRecovery).toBe(true);
});

test('abort at the gate leaves the primary writable', async () => {
  const pair = await pairFor('abortgate');
  const run = await startRun('abortgate-db');
  await untilState(run.id, 'awaiting_approval');
  await h.runtime.runs.abort(run.id, requester.userId, 'not now');
  expect((await untilState(run.id, 'aborted')).state).toBe('aborted');
  expect(await writeRefused(pair.primaryUrl)).toBe(false);
  expect((await realReplication.describe(pair.standbyUrl)).inRecovery).toBe(true);
});

test('abort after the fence unfences the old primary: it accepts writes again', async () => {
  const pair = await pairFor('abortfence');
  const run = await startRun('abortfence-db');
  await untilState(run.id, 'awaiting_approval');
  // Hold the run after the fence: the standby cannot replay the final WAL while replay is paused.
  await pair.pauseReplay();
  const writer = await startWriter(pair.primaryUrl, 'orders');
  await waitFor('a few writes', async () => writer.acknowledged.length > 5);
  await approve(run.id, 'abortfence-db');
  // Fenced, then waiting for the standby: the step re-runs (a new attempt) while it catches up.
  const waiting = await untilStep(
    run.id,
    FENCE_AND_PROMOTE_STEP,
    (r) => stepOf(r)?.output?.['phase'] === 'catching up' && (stepOf(r)?.attempt ?? 0) >= 3,
    'waiting',
  );
  expect(stepOf(waiting)?.output?.['finalLsn']).toEqual(expect.any(String));
  await writer.stop();
  expect(await writeRefused(pair.primaryUrl)).toBe(true);

  await h.runtime.runs.abort(run.id, approver.userId, 'standby is stuck');
  const done = await untilState(run.id, 'aborted', 'failed');
  expect(done.state).toBe('aborted');
  expect(stepOf(done)?.state).toBe('compensated');
  expect(await writeRefused(pair.primaryUrl)).toBe(false);
  expect((await realReplication.describe(pair.standbyUrl)).inRecovery).toBe(true);
  await pair.resumeReplay();
});
