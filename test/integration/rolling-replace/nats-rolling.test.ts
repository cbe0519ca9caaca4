// A rolling replacement of a real 3-node NATS JetStream cluster under a steady publisher. The
// replace hook (another process: nats-node-ctl.ts) stops a node's server and starts a new one:
// n1 and n3 on an empty store (a fresh disk that catches up by replication), n2 on its old store
// (the volume re-attached). Every acknowledged message must survive, and the stream end R3 current.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { NatsClusterHealth } from '../../../src/adapters/clusters/nats-health';
import type { Runtime } from '../../../src/main/runtime';
import { stopRuntimeAndClean } from '../../support/runtimes/harness';
import { nodeCtlHook, type NatsCluster, type Publisher } from '../../support/services/nats-cluster';
import { STREAM, startUnderLoad, streamTarget, untilR3Current } from '../../support/services/nats-rolling';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { startRollingRuntime } from '../../support/runtimes/rr-nats-runtime';
import { untilRunState } from '../../support/runtimes/run-state';
import { waitFor } from '../../support/wait-for';

jest.setTimeout(180_000);

const NODES = ['n1', 'n2', 'n3'];
const schema = freshSchemaName('t_rolling_nats');
const work = mkdtempSync(path.join(tmpdir(), 'rolling-nats-'));
const hookLog = path.join(work, 'hooks.log');
let cluster: NatsCluster | undefined;
let publisher: Publisher | undefined;
let runtime: Runtime | undefined;
let closeHealth: (() => Promise<void>) | undefined;
let health: NatsClusterHealth | undefined;

function target(name: string, hook: ReturnType<typeof nodeCtlHook>, recoverTimeout: string): object {
  return streamTarget(cluster!, name, hook, { timeout: '60s', recoverTimeout });
}

beforeAll(async () => {
  // 20 messages a second, as in rr-crash.test.ts (see startUnderLoad).
  ({ cluster, publisher } = await startUnderLoad());
  health = new NatsClusterHealth({ servers: cluster.urls, streams: [STREAM], nodes: cluster.monitors });
  const targets = {
    defaults: { channel: 'C0TEST0001', approvers: ['U0APPROVER'] },
    targets: [
      target('stream', nodeCtlHook(cluster, 'replace', { emptyStore: ['n1', 'n3'], log: hookLog }), '60s'),
      // The hook stops the node and never starts it again.
      target('stream-broken', nodeCtlHook(cluster, 'stop', { log: hookLog }), '2s'),
    ],
  };
  ({ runtime, closeHealth } = await startRollingRuntime({
    targetsYaml: JSON.stringify(targets),
    role: 'all',
    schema,
    queueName: freshQueueName('rolling-nats'),
  }));
});

afterAll(async () => {
  await publisher?.stop().catch(() => undefined);
  await health?.close().catch(() => undefined);
  if (runtime) await stopRuntimeAndClean(runtime, schema);
  await closeHealth?.();
  // Kills every server of the cluster, including the ones the hooks started.
  await cluster?.destroy();
  rmSync(work, { recursive: true, force: true });
});

function hookLines(): string[] {
  return existsSync(hookLog) ? readFileSync(hookLog, 'utf8').trim().split('\n') : [];
}

function fullyReplicated(what: string): Promise<unknown> {
  return waitFor(what, async () => (await health!.health()).fullyReplicated || undefined, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
}

async function startApproved(targetName: string): Promise<string> {
  const outcome = await runtime!.runs.start({
    target: runtime!.findTarget(targetName)!,
    requestedBy: 'U0REQUESTER',
  });
  if (!outcome.ok) throw new Error(outcome.message);
  const runId = outcome.run.id;
  await untilRunState(runtime!.store, runId, ['awaiting_approval'], 60_000);
  await runtime!.runs.approve(runId, 1, 1, 'U0APPROVER');
  return runId;
}

test('replaces the three nodes in turn (two fresh disks, one re-attached store); every acked message survives', async () => {
  await fullyReplicated('a healthy cluster before the run');
  await waitFor('the publisher to get acks', async () => publisher!.acked.length > 20);
  const before = new Map(NODES.map((node) => [node, cluster!.pid(node)]));
  // A marker in each store: gone after a fresh disk, still there on a re-attached volume.
  for (const node of cluster!.nodes) writeFileSync(path.join(node.storeDir, 'marker'), node.name);

  const runId = await startApproved('stream');
  const done = await untilRunState(runtime!.store, runId, ['succeeded', 'failed', 'aborted'], 150_000).catch(
    async (error: unknown) => {
      // What the health check saw (e.g. "replica n3 not current (lag 4)"), for a run that stopped.
      const run = await runtime!.store.getRun(runId);
      const step = run?.steps[run.currentStep];
      throw new Error(
        `${(error as Error).message}; ${step?.spec.name}: ${step?.gate?.message ?? ''} ${JSON.stringify(step?.output ?? null)}`,
      );
    },
  );
  expect(done.state).toBe('succeeded');
  expect(done.steps.find((step) => step.spec.name === 'report')?.output?.['replaced']).toEqual(NODES);
  // Each node counted as recovered on a new server process (not the one the replace hook found).
  NODES.forEach((node, index) => {
    const output = (name: string) =>
      done.steps.find((step) => step.spec.name === `${name}-${index + 1}`)?.output;
    expect(output('replace')?.['incarnationBefore']).toEqual(expect.any(String));
    expect(output('recover')?.['incarnation']).toEqual(expect.any(String));
    expect(output('recover')?.['incarnation']).not.toBe(output('replace')?.['incarnationBefore']);
  });

  // Each node replaced once, in order, each by a new server process.
  expect(hookLines().map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual(
    NODES.flatMap((node) => [`${node} replace begin`, `${node} replace done`]),
  );
  for (const node of NODES) {
    const pid = cluster!.pid(node);
    expect(pid).not.toBeNull();
    expect(pid).not.toBe(before.get(node));
  }
  const kept = (name: string): boolean => existsSync(path.join(cluster!.node(name).storeDir, 'marker'));
  expect(NODES.map(kept)).toEqual([false, true, false]);
  // The fresh disks hold the stream again: caught up by replication.
  for (const node of cluster!.nodes) {
    expect(existsSync(path.join(node.storeDir, 'jetstream', '$G', 'streams', STREAM))).toBe(true);
  }

  await publisher!.stop();
  const acked = publisher!.acked;
  expect(acked.length).toBeGreaterThan(50);
  const nc = await connect({ servers: cluster!.urls });
  try {
    const jsm = await nc.jetstreamManager();
    // R3 and current (a reading may flicker while the last publishes settle, hence the wait before
    // the exact check).
    const info = await untilR3Current(jsm);
    expect(info.config.num_replicas).toBe(3);
    expect([info.cluster!.leader!, ...info.cluster!.replicas!.map((r) => r.name)].sort()).toEqual(NODES);
    expect(info.state.last_seq).toBeGreaterThanOrEqual(Math.max(...acked));

    // Every acknowledged sequence is readable: read the whole stream with an ordered consumer.
    const seen = new Set<number>();
    const consumer = await nc.jetstream().consumers.get(STREAM);
    const messages = await consumer.consume();
    for await (const message of messages) {
      seen.add(message.seq);
      if (message.seq >= info.state.last_seq) break;
    }
    expect(acked.filter((seq) => !seen.has(seq))).toEqual([]);
  } finally {
    await nc.close();
  }
});

test('a node kept down past the timeout stops the run at a needs-human gate; the other nodes are untouched', async () => {
  await fullyReplicated('a healthy cluster before the run');
  const others = new Map(['n2', 'n3'].map((node) => [node, cluster!.pid(node)]));
  const linesBefore = hookLines().length;

  const runId = await startApproved('stream-broken');
  const paused = await waitFor(
    'needs-human gate on the first recover step',
    async () => {
      const run = await runtime!.store.getRun(runId);
      const recover = run?.steps.find((step) => step.spec.name === 'recover-1');
      return recover?.gate?.reason === 'needs_human' && run ? run : undefined;
    },
    { timeoutMs: 60_000 },
  );
  expect(paused.state).toBe('awaiting_approval');
  expect(paused.steps.find((step) => step.spec.name === 'recover-1')?.gate?.message).toMatch(
    /n1 has not recovered.*remaining nodes are untouched/s,
  );
  expect(paused.steps.find((step) => step.spec.name === 'replace-2')?.state).toBe('pending');
  expect(cluster!.pid('n1')).toBeNull();
  for (const [node, pid] of others) expect(cluster!.pid(node)).toBe(pid);
  // The hook ran for n1 only.
  expect(
    hookLines()
      .slice(linesBefore)
      .map((line) => line.split(' ').slice(0, 3).join(' ')),
  ).toEqual(['n1 stop begin', 'n1 stop done']);

  await runtime!.runs.abort(runId, 'U0APPROVER', 'n1 is gone; fix by hand');
  expect((await untilRunState(runtime!.store, runId, ['aborted', 'failed'])).state).toBe('aborted');
  for (const [node, pid] of others) expect(cluster!.pid(node)).toBe(pid);
});
