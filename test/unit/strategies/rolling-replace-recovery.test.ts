// When a Kafka broker counts as its replacement: it keeps its id and (in place) its host:port, so
// the rule is "left and came back" (seen gone while the replace hook ran, or afterwards), then
// healthy for `healthyFor` without a break; an EC2 replacement whose old instance may still run
// needs a new incarnation. Copies that cannot spare a node stop the run at a needs-human gate that
// accepts exactly what it named. After the roll, leaders go back to their preferred replicas.
import type { ClusterHealth } from '../../../src/ports/cluster-health';
import { rrHarness, rrTarget, withNodes, type Outcome } from './rr-unit-harness';

const KAFKA_NODES = `nodes: [{ id: '1' }, { id: '2' }, { id: '3' }]`;
const kafka = (extra = '') =>
  rrTarget(
    `{ kind: kafka, brokers: ['127.0.0.1:9092'], ${KAFKA_NODES}, replace: { command: ['./replace.sh', '{node}'] }, recoverTimeout: 10m, pollInterval: 1s, healthyFor: 3s${extra} }`,
  );

const all = { '1': 'h1:9092', '2': 'h2:9092', '3': 'h3:9092' };
/** Every broker a member at its address; `short` ones out of an ISR, `absent` ones not members. */
function brokers({ short = [], absent = [] }: { short?: string[]; absent?: string[] } = {}): ClusterHealth {
  return withNodes(
    Object.fromEntries(
      Object.entries(all).map(([id, address]) => [
        id,
        {
          incarnation: absent.includes(id) ? null : address,
          holdsAll: !short.includes(id) && !absent.includes(id),
        },
      ]),
    ),
    short.length === 0 && absent.length === 0,
  );
}

const types = (outcomes: Outcome[]) => outcomes.map((outcome) => outcome.type);

test('a broker replaced in place is recovered once it left during the hook and held everything for healthyFor', async () => {
  const harness = rrHarness(kafka(), brokers(), {
    onHook: async () => {
      harness.setHealth(brokers({ absent: ['2'] }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      harness.setHealth(brokers());
    },
  });
  const replaced = await harness.attempts('replace-2', 1);
  expect(replaced[0]).toMatchObject({
    type: 'done',
    output: { incarnationBefore: 'h2:9092', leftAtMs: expect.any(Number) },
  });
  // Three readings a second apart are not yet 3 s: a fourth is needed.
  const recover = await harness.attempts('recover-2', 5, { advanceMs: 1_000 });
  expect(types(recover)).toEqual(['wait', 'wait', 'wait', 'done']);
  expect(recover.at(-1)).toMatchObject({ output: { replacedBecause: 'left and came back' } });
});

test('a hook that returns before the broker left: the bot waits until it has left and come back', async () => {
  const harness = rrHarness(kafka(), brokers());
  await harness.attempts('replace-2', 1);
  // Still the same broker reading healthy (a crashed one reads so until it is fenced): not recovered.
  const same = await harness.attempts('recover-2', 4, { advanceMs: 1_000 });
  expect(types(same)).toEqual(['wait', 'wait', 'wait', 'wait']);
  expect(same.at(-1)?.output).toMatchObject({
    state: 'still the node from before the replace (h2:9092): not seen leaving since the replace began',
  });
  harness.setHealth(brokers({ absent: ['2'] }));
  expect(types(await harness.attempts('recover-2', 1))).toEqual(['wait']);
  harness.setHealth(brokers({ short: ['2'] }));
  expect((await harness.attempts('recover-2', 1))[0]?.output).toMatchObject({
    state: expect.stringMatching(/^the replacement, catching up/),
  });
  harness.setHealth(brokers());
  expect(types(await harness.attempts('recover-2', 5, { advanceMs: 1_000 }))).toEqual([
    'wait',
    'wait',
    'wait',
    'done',
  ]);
});

test('a break in the healthy streak starts it again', async () => {
  const harness = rrHarness(kafka(), brokers());
  harness.step('replace-2').output = { incarnationBefore: 'h2:9092', leftAtMs: 1 };
  harness.step('replace-2').state = 'succeeded';
  expect(types(await harness.attempts('recover-2', 2, { advanceMs: 1_000 }))).toEqual(['wait', 'wait']);
  // Fenced after all (a crash shows only after broker.session.timeout.ms).
  harness.setHealth(brokers({ absent: ['2'] }));
  await harness.attempts('recover-2', 1, { advanceMs: 1_000 });
  harness.setHealth(brokers());
  expect(types(await harness.attempts('recover-2', 4, { advanceMs: 1_000 }))).toEqual([
    'wait',
    'wait',
    'wait',
    'done',
  ]);
});

test('never seen leaving: a needs-human gate after recoverTimeout; approving accepts it as replaced', async () => {
  const harness = rrHarness(kafka(), brokers());
  await harness.attempts('replace-2', 1);
  harness.step('recover-2');
  harness.clock.advance(11 * 60_000);
  const stopped = await harness.attempts('recover-2', 1);
  expect(stopped[0]).toMatchObject({
    type: 'failed',
    failure: {
      class: 'needs_human',
      detail: { decision: 'not_seen_leaving' },
      message: expect.stringMatching(/2 has not recovered .*not seen leaving.*Retry anyway to accept it/s),
    },
  });
  harness.approve('recover-2');
  const accepted = await harness.attempts('recover-2', 4, { advanceMs: 1_000 });
  expect(types(accepted)).toEqual(['wait', 'wait', 'wait', 'done']);
  expect(accepted.at(-1)?.output).toMatchObject({ replacedBecause: 'accepted by a person as replaced' });
});

test('EC2 without stopping the old instance: a blip of the old broker is no replacement; a new address is', async () => {
  const target = rrTarget(
    `{ kind: kafka, brokers: ['127.0.0.1:9092'], nodes: [{ id: '1', instanceId: i-0a000000000000001 }, { id: '2', instanceId: i-0a000000000000002 }], replace: { ec2: { region: eu-west-1, launchTemplate: { name: kafka } } }, recoverTimeout: 10m, pollInterval: 1s, healthyFor: 0s }`,
  );
  const harness = rrHarness(target, brokers());
  harness.step('launch-1').output = { instanceId: 'i-0b000000000000001', incarnationBefore: 'h1:9092' };
  harness.step('launch-1').state = 'succeeded';
  harness.setHealth(brokers({ short: ['1'] }));
  await harness.attempts('recover-1', 1);
  harness.setHealth(brokers());
  const blip = await harness.attempts('recover-1', 4);
  expect(types(blip)).toEqual(['wait', 'wait', 'wait', 'wait']);
  expect(blip.at(-1)?.output).toMatchObject({
    state: 'still the node from before the replace (h1:9092); the old instance may still serve it',
  });
  harness.setHealth({
    ...brokers(),
    nodes: brokers().nodes!.map((node) =>
      node.id === '1' ? { ...node, incarnation: '10.0.0.7:9092' } : node,
    ),
  });
  const replaced = await harness.attempts('recover-1', 4);
  expect(types(replaced)).toEqual(['wait', 'wait', 'done']);
  expect(replaced.at(-1)?.output).toMatchObject({ incarnation: '10.0.0.7:9092' });
});

test('copies at risk stop the preflight at a gate that accepts exactly what it named, for the whole run', async () => {
  const harness = rrHarness(kafka(), brokers());
  let atRisk = [
    {
      name: 'ledger/0',
      node: '3',
      replicas: ['3'],
      risk: 'only_copy' as const,
      detail: 'ledger/0: its only copy is on broker 3',
    },
  ];
  harness.port.copiesAtRisk = () => Promise.resolve(atRisk);
  const refused = await harness.attempts('preflight', 1);
  expect(refused[0]).toMatchObject({
    type: 'failed',
    failure: {
      class: 'needs_human',
      detail: { decision: 'copies_at_risk', copies: ['ledger/0'] },
      message: expect.stringMatching(
        /^1 copy cannot spare a node to be replaced: ledger\/0: its only copy is on broker 3\. A replacement on an empty disk loses an only copy; No node has been touched\./,
      ),
    },
  });
  harness.approve('preflight');
  expect(await harness.attempts('preflight', 1)).toMatchObject([
    { type: 'done', output: { acceptedAtRisk: ['ledger/0'] } },
  ]);
  // Broker 3's own replace: ledger/0 was accepted; a copy at risk that appeared since was not.
  harness.step('replace-1').state = 'succeeded';
  harness.step('replace-2').state = 'succeeded';
  expect(types(await harness.attempts('replace-3', 1))).toEqual(['done']);
  atRisk = [...atRisk, { ...atRisk[0]!, name: 'audit/0', detail: 'audit/0: its only copy is on broker 3' }];
  harness.run.steps.find((step) => step.spec.name === 'replace-3')!.state = 'pending';
  harness.step('replace-3').output = null;
  expect(await harness.attempts('replace-3', 1)).toMatchObject([
    { type: 'failed', failure: { detail: { decision: 'copies_at_risk', copies: ['audit/0'] } } },
  ]);
  expect(harness.hookCalls).toEqual(['./replace.sh {node} node=3']);
});

test('after the roll, leaders go back to their preferred replicas; the step waits until they have', async () => {
  const harness = rrHarness(kafka(), brokers());
  const answers = [
    { elected: ['orders/0', 'orders/2'], failed: [] },
    { elected: ['orders/2'], failed: [] },
    { elected: [], failed: [] },
  ];
  harness.port.electPreferredLeaders = () => Promise.resolve(answers.shift()!);
  const rebalance = await harness.attempts('rebalance', 5);
  expect(types(rebalance)).toEqual(['wait', 'wait', 'done']);
  expect(rebalance.at(-1)?.output).toMatchObject({
    moved: ['orders/0', 'orders/2'],
    report: ':scales: Leadership rebalanced: 2 partitions back on their preferred replicas.',
  });
});
