// The replace step after its worker died mid-hook: its own node being down is what the lost hook
// did (run it again; hooks must be safe to rerun); any other shortfall still waits. And the recover
// step that follows: where the nodes can be asked (NATS), only a new process of the node that holds
// every replica counts as recovered, whatever the cluster-wide reading says.
import type { ClusterHealth } from '../../../src/ports/cluster-health';
import { rrHarness, rrTarget, withNodes } from './rr-unit-harness';

const target = rrTarget(
  `{ kind: nats, servers: ['nats://127.0.0.1:1'], nodes: [{ id: n1, monitor: 'http://127.0.0.1:8222' }, { id: n2, monitor: 'http://127.0.0.1:8223' }, { id: n3, monitor: 'http://127.0.0.1:8224' }], replace: { command: ['./replace.sh', '{node}'] }, recoverTimeout: 10m }`,
);

const setUp = (initial: ClusterHealth) => rrHarness(target, initial);

test('resumed, and only its own node is out of the cluster: the hook runs again', async () => {
  const { attempts, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n3'],
    detail: ['orders: replica n2 missing'],
  });
  // The attempt records the node's process durably (none: it is down), then runs the hook.
  const results = await attempts('replace-2', 1, { resumed: true });
  expect(results.map((result) => result.type)).toEqual(['done']);
  expect(results[0]).toMatchObject({
    output: { hookStarting: true, incarnationBefore: null, replaced: 'n2' },
  });
  expect(hookCalls).toEqual(['./replace.sh {node} node=n2']);
});

test('resumed, its own node still a member and another replica lagging: it waits, the node is not touched', async () => {
  const { attempts, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n2', 'n3'],
    detail: ['orders: replica n3 behind by 120 messages'],
  });
  expect(await attempts('replace-2', 1, { resumed: true })).toMatchObject([{ type: 'wait' }]);
  expect(hookCalls).toEqual([]);
});

test('a fresh attempt never starts while the cluster is short of copies, whatever is missing', async () => {
  const { attempts, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n3'],
    detail: ['orders: replica n2 missing'],
  });
  expect(await attempts('replace-2', 1)).toMatchObject([{ type: 'wait' }]);
  expect(hookCalls).toEqual([]);
});

const healthyNodes = {
  n1: { incarnation: 'N1-A', holdsAll: true },
  n2: { incarnation: 'N2-A', holdsAll: true },
  n3: { incarnation: 'N3-A', holdsAll: true },
};

test('the replace step records the process the node runs before its hook; recovery waits for another one', async () => {
  const { attempts, hookCalls } = setUp(withNodes(healthyNodes));
  const replaced = await attempts('replace-2', 1);
  expect(replaced.at(-1)).toMatchObject({
    type: 'done',
    output: { replaced: 'n2', incarnationBefore: 'N2-A' },
  });
  expect(hookCalls).toHaveLength(1);

  // The hook returned, but n2 is still the same process (a hook that returned early): not recovered,
  // however healthy the cluster reads.
  const same = await attempts('recover-2', 5);
  expect(same.map((result) => result.type)).toEqual(['wait', 'wait', 'wait', 'wait', 'wait']);
  expect(same.at(-1)?.output).toMatchObject({ state: 'still the process from before the replace (N2-A)' });
});

test('a new process that does not hold every replica is not recovered, even while the cluster-wide view reads healthy', async () => {
  const { attempts, setHealth } = setUp(withNodes(healthyNodes));
  await attempts('replace-2', 1);
  // What the stream leader says while no message is stored: "current, lag 0" from the old process's acks.
  setHealth(withNodes({ ...healthyNodes, n2: { incarnation: 'N2-B', holdsAll: false } }, true));
  const catchingUp = await attempts('recover-2', 4);
  expect(catchingUp.every((result) => result.type === 'wait')).toBe(true);
  expect(catchingUp.at(-1)?.output).toMatchObject({
    state: expect.stringMatching(/^the replacement, catching up: n2: holds no copy of orders/),
  });

  // Not answering at all: not recovered either.
  setHealth(withNodes({ ...healthyNodes, n2: { incarnation: null, holdsAll: false } }, true));
  expect((await attempts('recover-2', 1))[0]).toMatchObject({
    type: 'wait',
    output: { state: 'not a member of the cluster (not answering)' },
  });

  // Holding everything: three healthy readings in a row, then done.
  setHealth(withNodes({ ...healthyNodes, n2: { incarnation: 'N2-B', holdsAll: true } }, true));
  const recovered = await attempts('recover-2', 5);
  expect(recovered.map((result) => result.type)).toEqual(['wait', 'wait', 'done']);
  expect(recovered.at(-1)).toMatchObject({ output: { node: 'n2', incarnation: 'N2-B' } });
});
