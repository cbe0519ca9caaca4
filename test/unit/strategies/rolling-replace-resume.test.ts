// The replace step after its worker died mid-hook: its own node being down is what the lost hook
// did (run it again; hooks must be safe to rerun); any other shortfall still waits. And the recover
// step that follows: where the nodes can be asked (NATS), only a new process of the node that holds
// every replica counts as recovered, whatever the cluster-wide reading says.
import { parseTargets } from '../../../src/config/targets';
import { createRun } from '../../../src/engine/transition';
import type { ClusterHealth } from '../../../src/ports/cluster-health';
import type { HookCommand } from '../../../src/ports/hooks';
import type { Logger } from '../../../src/ports/logger';
import { rollingReplaceConfigSchema } from '../../../src/strategies/rolling-replace/config';
import { rollingReplaceExecutors } from '../../../src/strategies/rolling-replace/executors';
import { planRollingReplace } from '../../../src/strategies/rolling-replace/plan';
import type { StepContext, StepResult } from '../../../src/strategies/types';
import { ManualClock } from '../../support/manual-clock';

const strategies = new Map([['rolling-replace', { schema: rollingReplaceConfigSchema }]]);
const target = parseTargets(
  `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: events
    strategy: rolling-replace
    cluster: { kind: nats, servers: ['nats://127.0.0.1:1'], nodes: [{ id: n1, monitor: 'http://127.0.0.1:8222' }, { id: n2, monitor: 'http://127.0.0.1:8223' }, { id: n3, monitor: 'http://127.0.0.1:8224' }], replace: { command: ['./replace.sh', '{node}'] }, recoverTimeout: 10m }
`,
  'rr.yaml',
  { env: {}, strategies },
).targets[0]!;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function setUp(initial: ClusterHealth) {
  let health = initial;
  const hookCalls: string[] = [];
  const executors = rollingReplaceExecutors({
    healthFor: () => ({ health: () => Promise.resolve(health), close: () => Promise.resolve() }),
    hooks: {
      run(hook: HookCommand, vars) {
        hookCalls.push(`${hook.command.join(' ')} node=${vars['node']}`);
        return Promise.resolve({ exitCode: 0, signal: null, timedOut: false, durationMs: 1, output: 'ok' });
      },
    },
    env: {},
  });
  const clock = new ManualClock('2026-11-27T02:00:00.000Z');
  const run = createRun({
    id: '7f3a9c21-4b5d-4e6f-8a9b-0c1d2e3f4a5b',
    plan: planRollingReplace(target),
    requestedBy: 'U0REQUESTER',
    channel: 'C0TEST0001',
    policy: { approvalTimeoutMs: 60_000, requiredApprovals: 1, allowSelfApproval: false },
    at: clock.now().toISOString(),
  });
  const started = (name: string) => {
    const step = run.steps.find((candidate) => candidate.spec.name === name)!;
    if (step.state === 'pending') {
      step.state = 'running';
      step.attempt = 1;
      step.startedAt = clock.now().toISOString();
    }
    return step;
  };
  const step = started('replace-2');
  const ctx = (resumed: boolean, of = step): StepContext => ({
    run,
    step: of,
    target,
    attempt: 1,
    resumed,
    humanOverride: false,
    clock,
    log: silent,
    saveProgress: (saved) => {
      of.output = saved;
      return Promise.resolve();
    },
  });
  /** Runs a step's attempts as the engine would (each wait's output kept), up to `attempts`. */
  const attempts = async (name: string, count: number, resumed = false): Promise<StepResult[]> => {
    const of = started(name);
    const results: StepResult[] = [];
    for (let i = 0; i < count; i++) {
      const result = await executors[of.spec.executor!]!.execute(ctx(resumed && i === 0, of));
      results.push(result);
      if (result.output) of.output = result.output;
      if (result.type === 'done') {
        of.state = 'succeeded';
        break;
      }
    }
    return results;
  };
  return {
    replace: executors['rr-replace']!,
    ctx,
    hookCalls,
    attempts,
    setHealth: (next: ClusterHealth) => (health = next),
  };
}

test('resumed, and only its own node is out of the cluster: the hook runs again', async () => {
  const { attempts, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n3'],
    detail: ['orders: replica n2 missing'],
  });
  // The first attempt records the node's process (none: it is down), the next runs the hook.
  const results = await attempts('replace-2', 2, true);
  expect(results.map((result) => result.type)).toEqual(['wait', 'done']);
  expect(results[0]).toMatchObject({ delayMs: 0, output: { hookStarting: true, incarnationBefore: null } });
  expect(hookCalls).toEqual(['./replace.sh {node} node=n2']);
});

test('resumed, its own node still a member and another replica lagging: it waits, the node is not touched', async () => {
  const { replace, ctx, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n2', 'n3'],
    detail: ['orders: replica n3 behind by 120 messages'],
  });
  expect(await replace.execute(ctx(true))).toMatchObject({ type: 'wait' });
  expect(hookCalls).toEqual([]);
});

test('a fresh attempt never starts while the cluster is short of copies, whatever is missing', async () => {
  const { replace, ctx, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n3'],
    detail: ['orders: replica n2 missing'],
  });
  expect(await replace.execute(ctx(false))).toMatchObject({ type: 'wait' });
  expect(hookCalls).toEqual([]);
});

/** A NATS-like reading where each node answers for itself. */
function withNodes(
  nodes: Record<string, { incarnation: string | null; holdsAll: boolean }>,
  fullyReplicated = true,
): ClusterHealth {
  return {
    fullyReplicated,
    laggingReplicas: fullyReplicated ? 0 : 1,
    members: Object.keys(nodes).filter((id) => nodes[id]!.incarnation !== null),
    detail: [],
    nodes: Object.entries(nodes).map(([id, node]) => ({
      id,
      ...node,
      detail: node.holdsAll ? [] : [`${id}: holds no copy of orders`],
    })),
  };
}

const healthyNodes = {
  n1: { incarnation: 'N1-A', holdsAll: true },
  n2: { incarnation: 'N2-A', holdsAll: true },
  n3: { incarnation: 'N3-A', holdsAll: true },
};

test('the replace step records the process the node runs before its hook; recovery waits for another one', async () => {
  const { attempts, hookCalls } = setUp(withNodes(healthyNodes));
  const replaced = await attempts('replace-2', 2);
  expect(replaced.at(-1)).toMatchObject({
    type: 'done',
    output: { replaced: 'n2', incarnationBefore: 'N2-A' },
  });
  expect(hookCalls).toHaveLength(1);

  // The hook returned, but n2 is still the same process (a hook that returned early): not recovered,
  // however healthy the cluster reads.
  const same = await attempts('recover-2', 5);
  expect(same.map((result) => result.type)).toEqual(['wait', 'wait', 'wait', 'wait', 'wait']);
  expect(same.at(-1)?.output).toMatchObject({ state: 'still the process from before the replace hook' });
});

test('a new process that does not hold every replica is not recovered, even while the cluster-wide view reads healthy', async () => {
  const { attempts, setHealth } = setUp(withNodes(healthyNodes));
  await attempts('replace-2', 2);
  // What the stream leader says while no message is stored: "current, lag 0" from the old process's acks.
  setHealth(withNodes({ ...healthyNodes, n2: { incarnation: 'N2-B', holdsAll: false } }, true));
  const catchingUp = await attempts('recover-2', 4);
  expect(catchingUp.every((result) => result.type === 'wait')).toBe(true);
  expect(catchingUp.at(-1)?.output).toMatchObject({
    rejoined: false,
    state: expect.stringMatching(/^a new process, catching up/),
  });

  // Not answering at all: not recovered either.
  setHealth(withNodes({ ...healthyNodes, n2: { incarnation: null, holdsAll: false } }, true));
  expect((await attempts('recover-2', 1))[0]).toMatchObject({
    type: 'wait',
    output: { state: 'not answering' },
  });

  // Holding everything: three healthy readings in a row, then done.
  setHealth(withNodes({ ...healthyNodes, n2: { incarnation: 'N2-B', holdsAll: true } }, true));
  const recovered = await attempts('recover-2', 5);
  expect(recovered.map((result) => result.type)).toEqual(['wait', 'wait', 'done']);
  expect(recovered.at(-1)).toMatchObject({ output: { node: 'n2', incarnation: 'N2-B' } });
});
