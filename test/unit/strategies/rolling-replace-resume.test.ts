// The replace step after its worker died mid-hook: its own node being down is what the lost hook
// did (run it again; hooks must be safe to rerun); any other shortfall still waits.
import { parseTargets } from '../../../src/config/targets';
import { createRun } from '../../../src/engine/transition';
import type { ClusterHealth } from '../../../src/ports/cluster-health';
import type { HookCommand } from '../../../src/ports/hooks';
import type { Logger } from '../../../src/ports/logger';
import { rollingReplaceConfigSchema } from '../../../src/strategies/rolling-replace/config';
import { rollingReplaceExecutors } from '../../../src/strategies/rolling-replace/executors';
import { planRollingReplace } from '../../../src/strategies/rolling-replace/plan';
import type { StepContext } from '../../../src/strategies/types';
import { ManualClock } from '../../support/manual-clock';

const strategies = new Map([['rolling-replace', { schema: rollingReplaceConfigSchema }]]);
const target = parseTargets(
  `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: events
    strategy: rolling-replace
    cluster: { kind: nats, servers: ['nats://127.0.0.1:1'], nodes: [{ id: n1 }, { id: n2 }, { id: n3 }], replace: { command: ['./replace.sh', '{node}'] }, recoverTimeout: 10m }
`,
  'rr.yaml',
  { env: {}, strategies },
).targets[0]!;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function setUp(health: ClusterHealth) {
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
  const step = run.steps.find((candidate) => candidate.spec.name === 'replace-2')!;
  step.state = 'running';
  step.attempt = 1;
  step.startedAt = clock.now().toISOString();
  const ctx = (resumed: boolean): StepContext => ({
    run,
    step,
    target,
    attempt: 1,
    resumed,
    humanOverride: false,
    clock,
    log: silent,
  });
  return { replace: executors['rr-replace']!, ctx, hookCalls };
}

test('resumed, and only its own node is out of the cluster: the hook runs again', async () => {
  const { replace, ctx, hookCalls } = setUp({
    fullyReplicated: false,
    laggingReplicas: 1,
    members: ['n1', 'n3'],
    detail: ['orders: replica n2 missing'],
  });
  expect((await replace.execute(ctx(true))).type).toBe('done');
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
