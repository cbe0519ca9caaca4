// Rolling replace with `replace: { ec2 }`: config validation with paths, and the per-node EC2 steps.
import { parseTargets } from '../../../src/config/targets';
import { rollingReplaceConfigSchema } from '../../../src/strategies/rolling-replace/config';
import { launchClientToken } from '../../../src/strategies/rolling-replace/ec2-executors';
import { planRollingReplace } from '../../../src/strategies/rolling-replace/plan';

const NODES = `[{ id: a, instanceId: i-0a000000000000001, volumeId: vol-0a000000000000001 }, { id: b, instanceId: i-0b000000000000002, volumeId: vol-0b000000000000002 }]`;

/** The first target of a one-target file whose cluster mapping is `cluster` (flow style). */
const target = (cluster: string) =>
  parseTargets(
    [
      'defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }',
      'targets:',
      `  - { name: events, strategy: rolling-replace, cluster: ${cluster} }`,
    ].join('\n'),
    'rr-ec2.yaml',
    {
      env: { REDIS_URL: 'redis://127.0.0.1:1' },
      strategies: new Map([['rolling-replace', { schema: rollingReplaceConfigSchema }]]),
    },
  ).targets[0]!;

function redis(replace: string, nodes = NODES): string {
  return `{ kind: redis, primary: env:REDIS_URL, expectedReplicas: 2, nodes: ${nodes}, replace: ${replace} }`;
}

function problems(cluster: string): string {
  try {
    target(cluster);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
}

test('ec2 without moveVolume: launch, recover, then retire the old instance, per node', () => {
  const plan = planRollingReplace(
    target(redis(`{ ec2: { region: eu-west-1, launchTemplate: { name: redis-node } } }`)),
  );
  expect(plan.steps.map((step) => `${step.kind}:${step.name}`)).toEqual([
    'check:preflight',
    'gate:approve-replace-2-nodes-of-events',
    'action:launch-1',
    'wait:recover-1',
    'action:retire-1',
    'action:launch-2',
    'wait:recover-2',
    'action:retire-2',
    'check:report',
  ]);
  expect(plan.steps[5]).toMatchObject({
    title: 'Launch replacement for node 2 of 2 (b)',
    params: { node: 'b', index: 2, total: 2 },
    compensation: { executor: 'rr-unlaunch' },
  });
  expect(plan.steps[4]?.title).toBe(
    'Retire old instance i-0a000000000000001 of a (stop, kept for rollback and forensics)',
  );
  expect(plan.steps[4]?.compensation).toBeUndefined();
  expect(plan.steps[1]?.warning).toMatch(/launched before its old instance is touched/);
});

test('ec2 with moveVolume: the volume-swap steps per node, with undos; terminateOld adds retire', () => {
  const plan = planRollingReplace(
    target(
      redis(
        `{ ec2: { region: eu-west-1, launchTemplate: { id: lt-0123456789abcdef0, version: 3 }, moveVolume: { device: /dev/sdf }, terminateOld: true } }`,
      ),
    ),
  );
  const names = plan.steps.map((step) => step.name);
  expect(names.slice(2, 10)).toEqual([
    'launch-1',
    'stop-old-1',
    'detach-1',
    'attach-1',
    'start-1',
    'recover-1',
    'retire-1',
    'launch-2',
  ]);
  expect(plan.steps.find((step) => step.name === 'detach-2')).toMatchObject({
    title: 'Move data volume vol-0b000000000000002 of b: detach from i-0b000000000000002',
    compensation: { executor: 'rr-reattach-old' },
  });
  expect(plan.steps.find((step) => step.name === 'retire-2')?.title).toMatch(/terminate/);
  // Without terminateOld the old instance is already stopped by stop-old-<i>: no retire step.
  const kept = planRollingReplace(
    target(
      redis(
        `{ ec2: { region: eu-west-1, launchTemplate: { name: n1x }, moveVolume: { device: /dev/sdf } } }`,
      ),
    ),
  );
  expect(kept.steps.some((step) => step.name.startsWith('retire'))).toBe(false);
});

test('the hook form of replace is unchanged', () => {
  const plan = planRollingReplace(target(redis(`{ command: ['./r.sh'] }`, '[{ id: a }]')));
  expect(plan.steps.map((step) => step.name)).toEqual([
    'preflight',
    expect.any(String),
    'replace-1',
    'recover-1',
    'report',
  ]);
});

test.each([
  {
    what: 'a node without instanceId',
    cluster: redis(
      `{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl } } }`,
      '[{ id: a, instanceId: i-0a000000000000001 }, { id: b }]',
    ),
    expected: /targets\[0\]\.cluster\.nodes\[1\]\.instanceId: is required when replace is ec2/,
  },
  {
    what: 'a node without volumeId when moving volumes',
    cluster: redis(
      `{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl }, moveVolume: { device: /dev/sdf } } }`,
      '[{ id: a, instanceId: i-0a000000000000001 }]',
    ),
    expected: /targets\[0\]\.cluster\.nodes\[0\]\.volumeId: is required when replace\.ec2\.moveVolume is set/,
  },
  {
    what: 'a malformed instance id',
    cluster: redis(
      `{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl } } }`,
      '[{ id: a, instanceId: i-12 }]',
    ),
    expected: /targets\[0\]\.cluster\.nodes\[0\]\.instanceId: expected an EC2 instance id/,
  },
  {
    what: 'a malformed volume id',
    cluster: redis(
      `{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl } } }`,
      '[{ id: a, instanceId: i-0a000000000000001, volumeId: vol-XYZ }]',
    ),
    expected: /targets\[0\]\.cluster\.nodes\[0\]\.volumeId: expected an EBS volume id/,
  },
  {
    what: 'a malformed launch template id',
    cluster: redis(`{ ec2: { region: eu-west-1, launchTemplate: { id: lt-1 } } }`),
    expected: /targets\[0\]\.cluster\.replace\.ec2\.launchTemplate\.id: expected a launch template id/,
  },
  {
    what: 'a bad region',
    cluster: redis(`{ ec2: { region: Ireland, launchTemplate: { name: tmpl } } }`),
    expected: /targets\[0\]\.cluster\.replace\.ec2\.region: expected an AWS region/,
  },
  {
    what: 'a bad device',
    cluster: redis(
      `{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl }, moveVolume: { device: sdf } } }`,
    ),
    expected: /targets\[0\]\.cluster\.replace\.ec2\.moveVolume\.device: expected a device name/,
  },
  {
    what: 'an unknown key under ec2',
    cluster: redis(`{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl }, terminate: true } }`),
    expected: /targets\[0\]\.cluster\.replace\.ec2\.terminate: unknown key/,
  },
  {
    what: 'the same instance for two nodes',
    cluster: redis(
      `{ ec2: { region: eu-west-1, launchTemplate: { name: tmpl } } }`,
      '[{ id: a, instanceId: i-0a000000000000001 }, { id: b, instanceId: i-0a000000000000001 }]',
    ),
    expected:
      /targets\[0\]\.cluster\.nodes\[1\]\.instanceId: i-0a000000000000001 is also the instance of node 0/,
  },
  {
    what: 'a hook that is a shell line',
    cluster: redis(`{ command: './replace.sh {node}' }`, '[{ id: a }]'),
    expected: /targets\[0\]\.cluster\.replace\.command/,
  },
])('$what is refused at load with the path named', ({ cluster, expected }) => {
  expect(problems(cluster)).toMatch(expected);
});

test('the launch client token is stable per run and node, distinct otherwise, and fits EC2 (64 chars)', () => {
  const token = launchClientToken('3f1c0b6e-1d2a-4c55-9a55-0d5b1c7e2f10', 'b');
  expect(token).toBe(launchClientToken('3f1c0b6e-1d2a-4c55-9a55-0d5b1c7e2f10', 'b'));
  expect(token).not.toBe(launchClientToken('3f1c0b6e-1d2a-4c55-9a55-0d5b1c7e2f10', 'a'));
  expect(token).not.toBe(launchClientToken('00000000-1d2a-4c55-9a55-0d5b1c7e2f10', 'b'));
  expect(token.length).toBeLessThanOrEqual(64);
  expect(token).toMatch(/^[\x20-\x7e]+$/);
});
