// Node-by-node runs (rolling-replace): "node i of n", lagging replicas over time, and where an
// aborted run stopped.
import type { Run, StepSpec } from '../../../src/engine/types';
import type { LagSample } from '../../../src/ports/run-store';
import { describeGate } from '../../../src/slack/gate-details';
import { finishedText, nodesLine } from '../../../src/slack/notifier/thread-text';
import { lagLine, renderProgress } from '../../../src/slack/render/progress';
import { allText, at, dateAt, makeRun, RUN_ID, stepOf } from './fixtures';

function nodeSteps(nodes: string[]): StepSpec[] {
  const total = nodes.length;
  const steps: StepSpec[] = [
    { name: 'preflight', kind: 'check', title: 'Preflight', executor: 'rr-preflight' },
  ];
  nodes.forEach((node, i) => {
    const params = { node, index: i + 1, total };
    steps.push(
      { name: `replace-${i + 1}`, kind: 'action', title: `Replace ${node}`, executor: 'rr-replace', params },
      { name: `recover-${i + 1}`, kind: 'wait', title: `Wait for ${node}`, executor: 'rr-recover', params },
    );
  });
  steps.push({ name: 'report', kind: 'check', title: 'Report', executor: 'rr-report' });
  return steps;
}

/** Three nodes; the first `doneSteps` steps succeeded and the next one is running. */
function clusterRun(doneSteps: number): Run {
  const run = makeRun(nodeSteps(['nats-a', 'nats-b', 'nats-c']));
  for (let i = 0; i < doneSteps; i++) {
    const step = stepOf(run, i);
    step.state = 'succeeded';
    step.attempt = 1;
    step.startedAt = at(i * 1000);
    step.finishedAt = at(i * 1000 + 500);
  }
  const current = stepOf(run, doneSteps);
  current.state = 'running';
  current.attempt = 1;
  current.startedAt = at(doneSteps * 1000);
  run.state = 'running';
  run.currentStep = doneSteps;
  return run;
}

const replicas = (sec: number, count: number): LagSample => ({
  runId: RUN_ID,
  at: at(sec * 1000),
  bytes: null,
  seconds: null,
  laggingReplicas: count,
});

describe('node-by-node progress', () => {
  it('shows which node of how many is being worked on', () => {
    // Steps: preflight, replace-1, recover-1, replace-2 (running).
    const text = allText(renderProgress({ run: clusterRun(3), now: dateAt(10_000) }).blocks);
    expect(text).toContain('*Node*\n2 of 3 (nats-b)');
  });

  it('has no node field outside node steps or for other strategies', () => {
    expect(allText(renderProgress({ run: clusterRun(0), now: dateAt(1_000) }).blocks)).not.toContain(
      '*Node*',
    );
    expect(allText(renderProgress({ run: makeRun(), now: dateAt(1_000) }).blocks)).not.toContain('*Node*');
  });

  it('draws lagging replicas over time with an ETA to fully replicated', () => {
    const falling = [replicas(0, 6), replicas(10, 4), replicas(20, 3), replicas(30, 2)];
    const line = lagLine({ samples: falling }, dateAt(30_000));
    expect(line).toMatch(/^:warning: Lagging replicas: 2 {2}[▁-█]{4} {2}ETA to fully replicated \d+ s$/);
    // The slope is 1 replica per 7.5 s or so: two left → about 15 s.
    const seconds = Number(/(\d+) s$/.exec(line ?? '')?.[1]);
    expect(seconds).toBeGreaterThan(5);
    expect(seconds).toBeLessThan(30);
  });

  it('says fully replicated at zero and rising when replicas fall behind', () => {
    expect(lagLine({ samples: [replicas(0, 2), replicas(10, 0)] }, dateAt(10_000))).toMatch(
      /^Lagging replicas: 0 {2}[▁-█]{2} {2}fully replicated$/,
    );
    expect(lagLine({ samples: [replicas(0, 0), replicas(10, 1), replicas(20, 3)] }, dateAt(20_000))).toMatch(
      / {2}rising$/,
    );
  });

  it('is part of the progress message of an active run', () => {
    const lag = { samples: [replicas(0, 3), replicas(5, 1)] };
    expect(allText(renderProgress({ run: clusterRun(4), now: dateAt(6_000), lag }).blocks)).toContain(
      'Lagging replicas: 1',
    );
  });

  it('shows lagging replicas, not an unknown byte lag, at a gate', () => {
    const run = clusterRun(1);
    const details = describeGate(run, stepOf(run, 1), replicas(0, 2));
    expect(details.conditions).toContainEqual({ label: 'Lagging replicas', value: '2' });
    expect(details.conditions.map((c) => c.label)).not.toContain('Replication lag');
  });
});

describe('where a node-by-node run stopped', () => {
  it('lists the nodes done, the one in progress and the untouched ones', () => {
    const run = clusterRun(3); // node a done, replace of b running
    run.state = 'aborted';
    run.outcome = 'aborted by U0ALICE: pager went off';
    run.finishedAt = at(60_000);
    expect(nodesLine(run)).toBe('\nNodes done: nats-a · stopped during: nats-b · untouched: nats-c');
    expect(finishedText(run)).toContain('*Cutover aborted*');
    expect(finishedText(run)).toContain('Nodes done: nats-a');
  });

  it('says none when nothing was done, and nothing for runs without nodes', () => {
    const run = clusterRun(0);
    run.state = 'failed';
    run.outcome = 'preflight refused';
    run.finishedAt = at(1_000);
    expect(nodesLine(run)).toBe('\nNodes done: none · untouched: nats-a, nats-b, nats-c');
    expect(nodesLine(makeRun())).toBe('');
  });
});
