// Which runs in flight a starting worker can finish: by the plan version that planned them and by
// the executors their remaining steps (and undos) name.
import { createRun } from '../../../src/engine/transition';
import type { Run, StepSpec } from '../../../src/engine/types';
import { planCompatibility, reviewPlans } from '../../../src/orchestrator/plan-compatibility';
import type { Strategy, StepExecutor } from '../../../src/strategies/types';
import { registryOf } from '../../../src/strategies/types';

const noop: StepExecutor = { execute: () => Promise.resolve({ type: 'done' }) };

function strategy(keys: string[], planVersion = 3, oldestPlanVersion = 2): Strategy {
  return {
    name: 'demo',
    summary: 'demo',
    planVersion,
    oldestPlanVersion,
    configSchema: undefined as never,
    plan: () => ({ strategy: 'demo', target: 't', steps: [] }),
    executors: Object.fromEntries(keys.map((key) => [key, noop])),
    preflight: () => Promise.resolve([]),
  };
}

const STEPS: StepSpec[] = [
  { name: 'check', kind: 'check', title: 'Check', executor: 'check' },
  {
    name: 'lock',
    kind: 'action',
    title: 'Lock',
    executor: 'lock',
    compensation: { executor: 'unlock', title: 'Unlock' },
  },
  { name: 'approve', kind: 'gate', title: 'Approve' },
  { name: 'switch', kind: 'action', title: 'Switch', executor: 'switch' },
];

/** A run at its gate (check and lock done), planned by `version`. */
function runAtGate(version: number, strategyName = 'demo'): Run {
  const run = createRun({
    id: `run-v${version}`,
    plan: { strategy: strategyName, target: 't', version, steps: STEPS },
    requestedBy: 'U1',
    channel: null,
    policy: { approvalTimeoutMs: 1000, requiredApprovals: 1, allowSelfApproval: false },
    at: '2026-12-07T00:00:00.000Z',
  });
  run.state = 'awaiting_approval';
  run.currentStep = 2;
  run.steps[0]!.state = 'succeeded';
  run.steps[1]!.state = 'succeeded';
  run.steps[2]!.state = 'awaiting_approval';
  return run;
}

const ALL = ['check', 'lock', 'unlock', 'switch'];

test('a run of a version this build runs, with every executor it needs, is runnable', () => {
  const registry = registryOf([strategy(ALL)]);
  expect(planCompatibility(runAtGate(2), registry)).toEqual({ kind: 'runnable' });
  expect(planCompatibility(runAtGate(3), registry)).toEqual({ kind: 'runnable' });
  expect(runAtGate(3).planVersion).toBe(3);
});

test('a run planned by a newer build, or by a strategy this build lacks, keeps the worker from starting', () => {
  const newer = planCompatibility(runAtGate(4), registryOf([strategy(ALL)]));
  expect(newer).toMatchObject({ kind: 'refuse_start' });
  expect(newer.kind === 'refuse_start' && newer.message).toMatch(
    /plan version 4, newer than this build \(this build runs versions 2–3\)/,
  );
  expect(planCompatibility(runAtGate(3, 'gone'), registryOf([strategy(ALL)]))).toMatchObject({
    kind: 'refuse_start',
    message: expect.stringMatching(/a strategy this build does not have/) as string,
  });
});

test('a run older than the oldest version, or whose next step has no executor here, is to be undone', () => {
  expect(planCompatibility(runAtGate(1), registryOf([strategy(ALL)]))).toMatchObject({
    kind: 'unrunnable',
    message: expect.stringMatching(/plan version 1; this build runs versions 2–3/) as string,
  });
  // The done steps' own executors are not needed again; the next one is.
  const withoutSwitch = registryOf([strategy(['lock', 'unlock'])]);
  expect(planCompatibility(runAtGate(3), withoutSwitch)).toMatchObject({
    kind: 'unrunnable',
    message: expect.stringMatching(/its next steps need "switch"/) as string,
  });
});

test('a run whose undo has no executor here can finish: a warning, not an undo', () => {
  const verdict = planCompatibility(runAtGate(3), registryOf([strategy(['check', 'lock', 'switch'])]));
  expect(verdict).toMatchObject({
    kind: 'runnable',
    warning: expect.stringMatching(/cannot undo its steps "unlock"/) as string,
  });
});

test('the review sorts every run', () => {
  const registry = registryOf([strategy(ALL)]);
  const review = reviewPlans([runAtGate(3), runAtGate(4), runAtGate(1)], registry);
  expect(review.refuseStart).toHaveLength(1);
  expect(review.unrunnable.map(({ run }) => run.id)).toEqual(['run-v1']);
  expect(review.warnings).toEqual([]);
});
