// Rolling replacement in EC2 mode on the real runtime: launches from a launch template (RunInstances
// with a per-run-and-node ClientToken), the old instance retired only after the cluster is fully
// replicated again, the data volume moved across with the volume-swap steps (stuck detaching →
// needs-human gate, Force once after approval), and the refusals: a missing launch template before
// any mutating call, no capacity → needs-human with the node untouched, a lost RunInstances response
// retried without a second instance.
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { launchClientToken } from '../../../src/strategies/rolling-replace/ec2-executors';
import { APPROVER, REQUESTER, stopRuntimeAndClean } from '../../support/runtimes/harness';
import { freshSchemaName } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { ec2Error, isDryRun, unauthorizedOperationMessage } from '../../support/services/aws/emulator';
import { untilRunState } from '../../support/runtimes/run-state';
import { waitFor } from '../../support/wait-for';
import { Ec2World, FAST_DURATIONS } from '../volume-swap/vs-runtime';
import {
  actions,
  DEVICE,
  ClusterFollowingEc2,
  NODE_IDS,
  OLD,
  rrStrategy,
  standardWorld,
  startRrRuntime,
  targetYaml,
  TEMPLATE,
  VOLS,
} from './ec2-rr-runtime';

const schema = freshSchemaName('t_rr_ec2');
const world = new Ec2World();
const nodes = OLD.map((instanceId, index) => ({ id: NODE_IDS[index]!, instanceId }));
const cluster = new ClusterFollowingEc2(() => world.ec2, nodes);
let runtime: Runtime;

const TARGETS = [
  targetYaml('brokers', 3, ''),
  targetYaml('brokers-moved', 2, `moveVolume: { device: ${DEVICE}, detachTimeout: 1s }, terminateOld: true`),
  targetYaml('brokers-missing', 2, '').replace(`name: ${TEMPLATE}`, 'name: no-such-template'),
  targetYaml('brokers-missing-id', 2, '').replace(`{ name: ${TEMPLATE} }`, '{ id: lt-0fffffffffffffff0 }'),
  targetYaml('brokers-two', 2, ''),
  targetYaml('brokers-slow', 2, '').replace('startTimeout: 20s', 'startTimeout: 1s'),
].join('');

beforeAll(async () => {
  runtime = await startRrRuntime({
    schema,
    queueName: freshQueueName('rr-ec2'),
    strategy: rrStrategy(world.adapter(), cluster),
    targets: TARGETS,
  });
});

afterAll(async () => {
  await stopRuntimeAndClean(runtime, schema);
  await world.close();
});

beforeEach(() => {
  cluster.override = null;
});

async function start(name: string): Promise<Run> {
  const outcome = await runtime.runs.start({ target: runtime.findTarget(name)!, requestedBy: REQUESTER });
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.run;
}

async function approveFirstGate(run: Run): Promise<void> {
  await untilRunState(runtime.store, run.id, ['awaiting_approval', 'failed']);
  const current = await runtime.store.getRun(run.id);
  if (current?.state !== 'awaiting_approval') return;
  expect((await runtime.runs.approve(run.id, 1, 1, APPROVER)).ok).toBe(true);
}

/** Waits for a needs-human gate on the step named `name` and returns the run there. */
function untilNeedsHuman(runId: string, name: string): Promise<Run> {
  return waitFor(
    `needs-human gate on ${name}`,
    async () => {
      const run = await runtime.store.getRun(runId);
      const step = run?.steps.find((candidate) => candidate.spec.name === name);
      return run && step?.gate?.reason === 'needs_human' && step.state === 'awaiting_approval'
        ? run
        : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

function step(run: Run, name: string) {
  const found = run.steps.find((candidate) => candidate.spec.name === name);
  if (!found) throw new Error(`no step ${name}`);
  return found;
}

test('three nodes: launch, wait for full replication, then stop the old instance, node by node', async () => {
  const ec2 = standardWorld(world.reset());
  const run = await start('brokers');
  await approveFirstGate(run);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');

  const launched = ec2.launched;
  expect(launched).toHaveLength(3);
  expect(actions(ec2)).toEqual([
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'a')}`,
    `StopInstances ${OLD[0]}`,
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'b')}`,
    `StopInstances ${OLD[1]}`,
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'c')}`,
    `StopInstances ${OLD[2]}`,
  ]);
  expect(done.steps.map((s) => `${s.spec.name}=${s.state}`)).toEqual([
    'preflight=succeeded',
    'approve-replace-3-nodes-of-brokers=succeeded',
    ...['1', '2', '3'].flatMap((n) => [
      `launch-${n}=succeeded`,
      `recover-${n}=succeeded`,
      `retire-${n}=succeeded`,
    ]),
    'report=succeeded',
  ]);
  // The old instance of each node was retired only after the recover step saw the cluster whole.
  for (const n of [1, 2, 3]) {
    expect(Date.parse(step(done, `retire-${n}`).startedAt!)).toBeGreaterThanOrEqual(
      Date.parse(step(done, `recover-${n}`).finishedAt!),
    );
  }
  launched.forEach((id, index) => {
    expect(ec2.tagsOf(id)).toMatchObject({
      'cutover-bot:run': run.id,
      'cutover-bot:node': NODE_IDS[index],
      'cutover-bot:replaces': OLD[index],
    });
    expect(ec2.instance(id)?.state).toBe('running');
  });
  // Stopped and kept (terminateOld is false by default).
  for (const id of OLD) expect(ec2.instance(id)?.state).toBe('stopped');
  expect(step(done, 'report').output?.['replaced']).toEqual(['a', 'b', 'c']);
});

test('a lost RunInstances response is retried with the same ClientToken: one instance, not two', async () => {
  const ec2 = standardWorld(world.reset());
  // The first RunInstances that is not the preflight's DryRun: EC2 launches, the answer is lost, the
  // SDK sends it again with the same ClientToken and EC2 answers with the same instance.
  ec2.loseNextResponse('RunInstances', { when: (params) => !isDryRun(params) });
  const run = await start('brokers-two');
  await approveFirstGate(run);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  const launches = ec2.calls.filter(
    (call) => call.action === 'RunInstances' && !call.summary.includes('dryRun'),
  );
  expect(launches.map((call) => call.outcome)).toEqual(['lost-response', 'ok', 'ok']);
  expect(launches[0]!.summary).toBe(launches[1]!.summary);
  expect(ec2.launched).toHaveLength(2);
  expect(step(done, 'launch-1').output?.['instanceId']).toBe(ec2.launched[0]);
});

test('RequestLimitExceeded on the preflight DryRun and on the launch is retried, not a refusal', async () => {
  const ec2 = standardWorld(world.reset());
  ec2.throttle('RunInstances', { when: isDryRun });
  ec2.throttle('RunInstances', { when: (params) => !isDryRun(params) });
  const run = await start('brokers-two');
  await approveFirstGate(run);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  expect(ec2.count('RunInstances', 'RequestLimitExceeded')).toBe(2);
  expect(ec2.launched).toHaveLength(2);
});

test('moveVolume: the replacement waits stopped, the volume moves, the old instance is terminated after recovery', async () => {
  const ec2 = standardWorld(world.reset(), { volumes: true });
  const run = await start('brokers-moved');
  await approveFirstGate(run);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  const [first, second] = ec2.launched;
  expect(actions(ec2)).toEqual([
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'a')}`,
    `StopInstances ${first}`,
    `StopInstances ${OLD[0]}`,
    `DetachVolume ${VOLS[0]} ${OLD[0]} force=false`,
    `AttachVolume ${VOLS[0]} ${first} ${DEVICE}`,
    `StartInstances ${first}`,
    `TerminateInstances ${OLD[0]}`,
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'b')}`,
    `StopInstances ${second}`,
    `StopInstances ${OLD[1]}`,
    `DetachVolume ${VOLS[1]} ${OLD[1]} force=false`,
    `AttachVolume ${VOLS[1]} ${second} ${DEVICE}`,
    `StartInstances ${second}`,
    `TerminateInstances ${OLD[1]}`,
  ]);
  expect(ec2.volume(VOLS[0])?.attachments[0]).toMatchObject({ instanceId: first, state: 'attached' });
  expect(ec2.volume(VOLS[1])?.attachments[0]).toMatchObject({ instanceId: second, state: 'attached' });
  expect(ec2.instance(OLD[0])?.state).toBe('terminated');
});

test('moveVolume: a detach stuck detaching stops at the volume-swap gate; approval forces it once', async () => {
  const ec2 = standardWorld(world.reset(), { volumes: true });
  ec2.stickDetach(VOLS[0]);
  const run = await start('brokers-moved');
  await approveFirstGate(run);
  const paused = await untilNeedsHuman(run.id, 'detach-1');
  const gate = step(paused, 'detach-1');
  expect(gate.gate?.message).toMatch(/still detaching on i-0a000000000000001/);
  expect(gate.gate?.message).toMatch(/Approving this gate force-detaches the volume/);
  expect(ec2.count('DetachVolume', 'ok')).toBe(1);
  expect(step(paused, 'launch-2').state).toBe('pending');

  expect((await runtime.runs.approve(run.id, gate.index, gate.gate!.round, APPROVER)).ok).toBe(true);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  expect(actions(ec2).filter((line) => line.startsWith(`DetachVolume ${VOLS[0]}`))).toEqual([
    `DetachVolume ${VOLS[0]} ${OLD[0]} force=false`,
    `DetachVolume ${VOLS[0]} ${OLD[0]} force=true`,
  ]);
  expect(ec2.volume(VOLS[0])?.attachments[0]).toMatchObject({
    instanceId: ec2.launched[0],
    state: 'attached',
  });
});

test.each([
  { target: 'brokers-missing', code: 'InvalidLaunchTemplateName.NotFoundException' },
  { target: 'brokers-missing-id', code: 'InvalidLaunchTemplateId.NotFound' },
])(
  'a launch template that does not exist ($code) is refused at preflight, before any mutating call',
  async ({ target, code }) => {
    const ec2 = standardWorld(world.reset());
    const run = await start(target);
    const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted']);
    expect(done.state).toBe('failed');
    expect(step(done, 'preflight').error?.message).toMatch(
      /preflight refused: launch template .* not found in eu-west-1/,
    );
    expect(ec2.calls.map((call) => call.outcome)).toContain(code);
    expect(ec2.actions()).toEqual([]);
    expect(ec2.history()).toEqual([]);
    expect(step(done, 'launch-1').state).not.toBe('succeeded');
  },
);

test('no capacity: a needs-human gate that says the node is untouched; approval tries the launch again', async () => {
  const ec2 = standardWorld(world.reset());
  ec2.setCapacity(false);
  const run = await start('brokers-two');
  await approveFirstGate(run);
  const paused = await untilNeedsHuman(run.id, 'launch-1');
  const gate = step(paused, 'launch-1');
  expect(gate.gate?.message).toMatch(/EC2 has no capacity right now/);
  expect(gate.gate?.message).toMatch(
    /Nothing was launched and a \(node 1 of 2\) is untouched and still serving/,
  );
  expect(ec2.launched).toEqual([]);
  expect(ec2.instance(OLD[0])?.state).toBe('running');
  expect(ec2.count('StopInstances')).toBe(0);

  ec2.setCapacity(true);
  expect((await runtime.runs.approve(run.id, gate.index, gate.gate!.round, APPROVER)).ok).toBe(true);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  expect(ec2.launched).toHaveLength(2);
  // EC2 answers it with a 500: the SDK tried 5 times before the executor saw it.
  expect(ec2.count('RunInstances', 'InsufficientInstanceCapacity')).toBe(5);
});

test('the old instance is not retired while the cluster is under-replicated', async () => {
  const ec2 = standardWorld(world.reset());
  // recover-1 takes exactly three consecutive healthy readings once a's replacement has synced; the
  // next reading is retire-1's, and from then on the cluster is held under-replicated.
  let healthyAfterLaunch = 0;
  let hold = true;
  cluster.override = (derived) => {
    if (ec2.launched.length === 0 || !derived.fullyReplicated) return derived;
    healthyAfterLaunch += 1;
    if (healthyAfterLaunch <= 3 || !hold) return derived;
    return { ...derived, fullyReplicated: false, laggingReplicas: 1, detail: ['b: lagging'] };
  };
  const run = await start('brokers-two');
  await approveFirstGate(run);
  const held = await waitFor(
    'retire-1 waiting for full replication',
    async () => {
      const current = await runtime.store.getRun(run.id);
      return current && step(current, 'retire-1').output?.['waitingFor'] !== undefined ? current : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(step(held, 'recover-1').state).toBe('succeeded');
  expect(step(held, 'retire-1').output?.['waitingFor']).toMatch(/b: lagging/);
  expect(ec2.count('StopInstances')).toBe(0);
  expect(ec2.instance(OLD[0])?.state).toBe('running');

  hold = false;
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('succeeded');
  expect(actions(ec2)[1]).toBe(`StopInstances ${OLD[0]}`);
});

test('moveVolume: an attach refused by EC2 rolls the node back: volume re-attached, old instance started, replacement stopped', async () => {
  const ec2 = standardWorld(world.reset(), { volumes: true });
  ec2.failNext(
    'AttachVolume',
    ec2Error('UnauthorizedOperation', 403, unauthorizedOperationMessage('AttachVolume')),
    {
      when: (params) => !isDryRun(params),
    },
  );
  const run = await start('brokers-moved');
  await approveFirstGate(run);
  const done = await untilRunState(runtime.store, run.id, ['succeeded', 'failed', 'aborted'], 60_000);
  expect(done.state).toBe('failed');
  const [replacement] = ec2.launched;
  expect(ec2.actions()).toEqual([
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'a')}`,
    `StopInstances ${replacement}`,
    `StopInstances ${OLD[0]}`,
    `DetachVolume ${VOLS[0]} ${OLD[0]} force=false`,
    `AttachVolume ${VOLS[0]} ${OLD[0]} ${DEVICE}`,
    `StartInstances ${OLD[0]}`,
  ]);
  expect(ec2.volume(VOLS[0])?.attachments[0]).toMatchObject({ instanceId: OLD[0], state: 'attached' });
  expect(ec2.instance(OLD[0])?.state).toBe('running');
  expect(ec2.instance(replacement!)?.state).toBe('stopped');
  expect(ec2.launched).toHaveLength(1);
  expect(step(done, 'launch-2').state).toBe('skipped');
  expect(step(done, 'stop-old-1').state).toBe('compensated');
});

test('abort while the replacement syncs: it is stopped and kept, the old instance was never touched', async () => {
  const ec2 = standardWorld(world.reset());
  // The replacement never catches up.
  cluster.override = (derived) =>
    ec2.launched.length === 0
      ? derived
      : { ...derived, fullyReplicated: false, laggingReplicas: 1, detail: ['a: replacement syncing'] };
  const run = await start('brokers-two');
  await approveFirstGate(run);
  await waitFor(
    'recover-1 waiting',
    async () => {
      const current = await runtime.store.getRun(run.id);
      return current && step(current, 'recover-1').output?.['laggingReplicas'] === 1 ? current : undefined;
    },
    { timeoutMs: 30_000 },
  );
  await runtime.runs.abort(run.id, APPROVER, 'replacement does not sync');
  const done = await untilRunState(runtime.store, run.id, ['aborted', 'failed'], 60_000);
  expect(done.state).toBe('aborted');
  const [replacement] = ec2.launched;
  expect(ec2.actions()).toEqual([
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'a')}`,
    `StopInstances ${replacement}`,
  ]);
  expect(ec2.instance(OLD[0])?.state).toBe('running');
  expect(step(done, 'launch-1').state).toBe('compensated');
  expect(step(done, 'retire-1').state).toBe('skipped');
});

test('a replacement still pending after startTimeout: needs-human with the node untouched; abort stops it once it runs', async () => {
  // EC2 shows the new instance pending for 2 s (the step's startTimeout is 1 s).
  const ec2 = standardWorld(world.reset({ ...FAST_DURATIONS, launchMs: 2_000 }));
  const run = await start('brokers-slow');
  await approveFirstGate(run);
  const paused = await untilNeedsHuman(run.id, 'launch-1');
  expect(step(paused, 'launch-1').gate?.message).toMatch(
    /the replacement i-\w+ for a is still pending .* after the launch\. a is untouched/,
  );
  expect(ec2.instance(OLD[0])?.state).toBe('running');
  await runtime.runs.abort(run.id, APPROVER, 'too slow tonight');
  const done = await untilRunState(runtime.store, run.id, ['aborted', 'failed'], 60_000);
  expect(done.state).toBe('aborted');
  const [replacement] = ec2.launched;
  expect(ec2.actions()).toEqual([
    `RunInstances ${TEMPLATE} token=${launchClientToken(run.id, 'a')}`,
    `StopInstances ${replacement}`,
  ]);
  expect(ec2.instance(replacement!)?.state).toBe('stopped');
  expect(ec2.instance(OLD[0])?.state).toBe('running');
});

test('/cutover plan (the live, read-only preflight) shows the EC2 checks and changes nothing', async () => {
  const ec2 = standardWorld(world.reset());
  const strategy = rrStrategy(world.adapter(), cluster);
  const good = await strategy.preflight(runtime.findTarget('brokers')!);
  expect(good.find((check) => check.name === 'fully replicated')?.ok).toBe(true);
  expect(good.find((check) => check.name === 'launch template')).toMatchObject({ ok: true });
  const missing = await strategy.preflight(runtime.findTarget('brokers-missing')!);
  expect(missing.find((check) => check.name === 'launch template')).toMatchObject({
    ok: false,
    detail: expect.stringMatching(/not found in eu-west-1/) as unknown,
  });
  expect(actions(ec2)).toEqual([]);
  expect(ec2.launched).toHaveLength(0);
});
