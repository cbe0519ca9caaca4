import { parseTargets } from '../../../src/config/targets';
import { rollingReplaceConfigSchema } from '../../../src/strategies/rolling-replace/config';
import { planRollingReplace } from '../../../src/strategies/rolling-replace/plan';

const strategies = new Map([['rolling-replace', { schema: rollingReplaceConfigSchema }]]);

function target(cluster: string) {
  const yaml = `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: events
    strategy: rolling-replace
    cluster: ${cluster}
`;
  return parseTargets(yaml, 'rr.yaml', { env: { REDIS_URL: 'redis://127.0.0.1:1' }, strategies }).targets[0]!;
}

test('approve once: one gate, then drain/replace/recover per node with pauses between nodes', () => {
  const plan = planRollingReplace(
    target(
      `{ kind: nats, servers: ['nats://127.0.0.1:4222'], nodes: [{ id: n1, monitor: 'http://127.0.0.1:8222' }, { id: n2, monitor: 'http://127.0.0.1:8223' }], replace: { command: ['./replace.sh', '{node}'] }, drain: { command: ['./drain.sh', '{node}'] }, pauseBetweenNodes: 30s }`,
    ),
  );
  expect(plan.steps.map((step) => `${step.kind}:${step.name}`)).toEqual([
    'check:preflight',
    'gate:approve-replace-2-nodes-of-events',
    'action:drain-1',
    'action:replace-1',
    'wait:recover-1',
    'wait:pause-1',
    'action:drain-2',
    'action:replace-2',
    'wait:recover-2',
    'check:report',
  ]);
  expect(plan.steps[3]?.params).toEqual({ node: 'n1', index: 1, total: 2 });
  expect(plan.steps[1]).toMatchObject({ destructive: true });
});

test('approve eachNode: a gate before every node, no drain step without a drain hook', () => {
  const plan = planRollingReplace(
    target(
      `{ kind: redis, primary: env:REDIS_URL, expectedReplicas: 2, nodes: [{ id: 'a' }, { id: 'b' }], replace: { command: ['./r.sh'] }, approve: eachNode }`,
    ),
  );
  expect(plan.steps.map((step) => step.kind)).toEqual([
    'check',
    'gate',
    'action',
    'wait',
    'gate',
    'action',
    'wait',
    'check',
  ]);
  expect(plan.steps[1]?.title).toBe('Approve: replace node 1 of 2 (a)');
});

test('bad input is refused at load with the path named', () => {
  expect(() =>
    target(
      `{ kind: nats, servers: ['x'], nodes: [{ id: n1, monitor: 'http://127.0.0.1:8222' }, { id: n1, monitor: 'http://127.0.0.1:8222' }], replace: { command: ['./r.sh'] } }`,
    ),
  ).toThrow(/targets\[0\]\.cluster\.nodes: node id n1 is listed twice/);
  expect(() => target(`{ kind: zookeeper, nodes: [{ id: n1 }], replace: { command: ['./r.sh'] } }`)).toThrow(
    /targets\[0\]\.cluster/,
  );
  expect(() => target(`{ kind: kafka, brokers: ['b:9092'], nodes: [{ id: '1' }] }`)).toThrow(
    /targets\[0\]\.cluster\.replace/,
  );
});

test('NATS nodes need their monitoring URL (the bot asks each server what it holds); other kinds take none', () => {
  expect(() =>
    target(`{ kind: nats, servers: ['x'], nodes: [{ id: n1 }], replace: { command: ['./r.sh'] } }`),
  ).toThrow(/targets\[0\]\.cluster\.nodes\[0\]\.monitor: is required for kind nats/);
  expect(() =>
    target(
      `{ kind: nats, servers: ['x'], nodes: [{ id: n1, monitor: 'nats://127.0.0.1:4222' }], replace: { command: ['./r.sh'] } }`,
    ),
  ).toThrow(/targets\[0\]\.cluster\.nodes\[0\]\.monitor: expected the http:\/\/ or https:\/\/ URL/);
  expect(() =>
    target(
      `{ kind: redis, primary: env:REDIS_URL, expectedReplicas: 1, nodes: [{ id: a, monitor: 'http://127.0.0.1:1' }], replace: { command: ['./r.sh'] } }`,
    ),
  ).toThrow(/targets\[0\]\.cluster\.nodes\[0\]\.monitor: is for kind nats only/);
});
