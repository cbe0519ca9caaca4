// SIGKILL of the worker in the middle of node 2 of a rolling replacement (real 3-node NATS
// JetStream cluster): the next worker resumes at node 2 and never replaces node 1 again.
//
// The kill lands deterministically: the replace hook of n2 waits while a hold file exists, so the
// worker is killed while replace-2 is running and its hook has not touched n2 yet. The hook runs in
// its own process group and outlives the worker (an orphan, as it would on a real machine); the
// test lets it finish before the next worker starts, so the two never run at the same time.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { NatsClusterHealth } from '../../../src/adapters/clusters/nats-health';
import type { Runtime } from '../../../src/main/runtime';
import { ChildWorkers, exited } from '../../support/runtimes/child-worker';
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
const schema = freshSchemaName('t_rr_crash');
const queueName = freshQueueName('rr-crash');
const workers = new ChildWorkers(path.join(__dirname, '../../support/runtimes/rr-worker-main.ts'));
const work = mkdtempSync(path.join(tmpdir(), 'rr-crash-'));
const hookLog = path.join(work, 'hooks.log');
const holdN2 = path.join(work, 'hold-n2');
let cluster: NatsCluster | undefined;
let publisher: Publisher | undefined;
let web: Runtime | undefined;
let closeHealth: (() => Promise<void>) | undefined;
let targetsYaml = '';

beforeAll(async () => {
  ({ cluster, publisher } = await startUnderLoad());
  const hook = nodeCtlHook(cluster, 'replace', {
    emptyStore: ['n1'],
    log: hookLog,
    holdWhile: path.join(work, 'hold-{node}'),
  });
  targetsYaml = JSON.stringify({
    defaults: { channel: 'C0TEST0001', approvers: ['U0APPROVER'] },
    targets: [streamTarget(cluster, 'stream', hook, { timeout: '90s', recoverTimeout: '60s' })],
  });
  ({ runtime: web, closeHealth } = await startRollingRuntime({
    targetsYaml,
    role: 'web',
    schema,
    queueName,
  }));
});

afterAll(async () => {
  await workers.killAll();
  await publisher?.stop().catch(() => undefined);
  if (web) await stopRuntimeAndClean(web, schema);
  await closeHealth?.();
  // Kills a hook still holding (a failed test) and every server, also the ones hooks started.
  await cluster?.destroy();
  rmSync(work, { recursive: true, force: true });
});

function worker(): Promise<ChildProcess> {
  return workers.start({ TEST_TARGETS_YAML: targetsYaml, TEST_SCHEMA: schema, TEST_QUEUE: queueName });
}

function hookLines(): string[] {
  return existsSync(hookLog) ? readFileSync(hookLog, 'utf8').trim().split('\n') : [];
}

function count(line: string): number {
  return hookLines().filter((entry) => entry.startsWith(line)).length;
}

test('SIGKILL while node 2 is being replaced: the resumed run finishes without replacing node 1 again', async () => {
  const health = new NatsClusterHealth({
    servers: cluster!.urls,
    streams: [STREAM],
    nodes: cluster!.monitors,
  });
  await waitFor('a healthy cluster before the run', async () => (await health.health()).fullyReplicated, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  await health.close();
  const before = new Map(NODES.map((node) => [node, cluster!.pid(node)]));
  writeFileSync(holdN2, 'hold');

  const first = await worker();
  const outcome = await web!.runs.start({ target: web!.findTarget('stream')!, requestedBy: 'U0REQUESTER' });
  if (!outcome.ok) throw new Error(outcome.message);
  const runId = outcome.run.id;
  await untilRunState(web!.store, runId, ['awaiting_approval'], 60_000);
  await web!.runs.approve(runId, 1, 1, 'U0APPROVER');

  // n1 done and recovered; n2's hook has started and is held before it touches n2.
  await waitFor('the replace hook of n2 to start', async () => count('n2 replace begin') === 1, {
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  first.kill('SIGKILL');
  await exited(first);
  expect(first.signalCode).toBe('SIGKILL');
  const crashed = (await web!.store.getRun(runId))!;
  const stateOf = (run: typeof crashed, name: string): string | undefined =>
    run.steps.find((step) => step.spec.name === name)?.state;
  expect(stateOf(crashed, 'replace-1')).toBe('succeeded');
  expect(stateOf(crashed, 'recover-1')).toBe('succeeded');
  expect(stateOf(crashed, 'replace-2')).toBe('running');
  expect(cluster!.pid('n2')).toBe(before.get('n2'));

  // The orphaned hook finishes its replacement of n2 before another worker exists.
  rmSync(holdN2);
  await waitFor('the orphaned hook to finish', async () => count('n2 replace done') === 1, {
    timeoutMs: 30_000,
  });

  await worker();
  const done = await untilRunState(web!.store, runId, ['succeeded', 'failed', 'aborted'], 150_000);
  expect(done.state).toBe('succeeded');

  // Node 1 was replaced exactly once: the resumed run started at node 2.
  expect(count('n1 replace begin')).toBe(1);
  // Node 2: once by the killed worker's hook, and once more by the resumed attempt, which cannot
  // tell whether the hook it lost had run (the hook must be safe to rerun). Never a third time,
  // and every run of the hook completed.
  const n2Runs = count('n2 replace begin');
  expect(n2Runs).toBeGreaterThanOrEqual(1);
  expect(n2Runs).toBeLessThanOrEqual(2);
  expect(count('n2 replace done')).toBe(n2Runs);
  expect(count('n3 replace begin')).toBe(1);
  for (const node of NODES) {
    expect(cluster!.pid(node)).not.toBeNull();
    expect(cluster!.pid(node)).not.toBe(before.get(node));
  }

  await publisher!.stop();
  const acked = publisher!.acked;
  const nc = await connect({ servers: cluster!.urls });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await untilR3Current(jsm);
    expect(info.state.last_seq).toBeGreaterThanOrEqual(Math.max(0, ...acked));
    for (const seq of [acked[0], acked[Math.floor(acked.length / 2)], acked.at(-1)]) {
      if (seq !== undefined) expect((await jsm.streams.getMessage(STREAM, { seq })).seq).toBe(seq);
    }
  } finally {
    await nc.close();
  }
});
