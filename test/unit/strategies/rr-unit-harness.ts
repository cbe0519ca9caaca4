// The rolling-replace executors on one target, a fake cluster-health port whose reading the test
// sets, a hook runner that records its calls (and may act while it "runs"), and a manual clock.
// Steps run their attempts as the engine would: each wait's output kept, humanOverride and the
// refused step's error as an approved needs-human gate leaves them.
import { parseTargets } from '../../../src/config/targets';
import type { TargetConfig } from '../../../src/config/types';
import { createRun } from '../../../src/engine/transition';
import type { FailureInfo, Run, StepRecord } from '../../../src/engine/types';
import { classify } from '../../../src/engine/failures';
import type { ClusterHealth, ClusterHealthPort } from '../../../src/ports/cluster-health';
import type { HookCommand } from '../../../src/ports/hooks';
import type { Logger } from '../../../src/ports/logger';
import { rollingReplaceConfigSchema } from '../../../src/strategies/rolling-replace/config';
import { rollingReplaceExecutors } from '../../../src/strategies/rolling-replace/executors';
import { planRollingReplace } from '../../../src/strategies/rolling-replace/plan';
import type { StepContext, StepExecutor, StepResult } from '../../../src/strategies/types';
import { ManualClock } from '../../support/fakes/manual-clock';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

/** The one target of a file whose `cluster` mapping is given in flow style. */
export function rrTarget(cluster: string): TargetConfig {
  return parseTargets(
    `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }
targets:
  - name: events
    strategy: rolling-replace
    cluster: ${cluster}
`,
    'rr.yaml',
    { env: {}, strategies: new Map([['rolling-replace', { schema: rollingReplaceConfigSchema }]]) },
  ).targets[0]!;
}

/** An attempt's result, or the failure it threw. */
export type Outcome = StepResult | { type: 'failed'; failure: FailureInfo; output?: undefined };

export interface RrHarness {
  run: Run;
  clock: ManualClock;
  hookCalls: string[];
  setHealth(next: ClusterHealth): void;
  /** The port's other methods (copiesAtRisk, electPreferredLeaders) as the test wants them. */
  port: ClusterHealthPort;
  step(name: string): StepRecord;
  ctx(of: StepRecord, options?: { resumed?: boolean }): StepContext;
  /** Runs up to `count` attempts of the step (stops at done or a thrown failure, which it returns). */
  attempts(
    name: string,
    count: number,
    options?: { resumed?: boolean; advanceMs?: number },
  ): Promise<Outcome[]>;
  /** A person approves the needs-human gate the step's last failure opened. */
  approve(name: string): void;
}

export function rrHarness(
  target: TargetConfig,
  initial: ClusterHealth,
  options: { onHook?: (node: string) => Promise<void> } = {},
): RrHarness {
  let health = initial;
  const hookCalls: string[] = [];
  const port: ClusterHealthPort = {
    health: () => Promise.resolve(health),
    close: () => Promise.resolve(),
  };
  // By the name a stored step spec carries, as the step processor looks executors up.
  const executors: Readonly<Record<string, StepExecutor>> = rollingReplaceExecutors({
    healthFor: () => port,
    hooks: {
      async run(hook: HookCommand, vars) {
        hookCalls.push(`${hook.command.join(' ')} node=${vars['node']}`);
        await options.onHook?.(vars['node'] ?? '');
        return { exitCode: 0, signal: null, timedOut: false, durationMs: 1, output: 'ok' };
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
  const step = (name: string): StepRecord => {
    const found = run.steps.find((candidate) => candidate.spec.name === name);
    if (!found) throw new Error(`no step ${name}`);
    if (found.state === 'pending') {
      found.state = 'running';
      found.attempt = 1;
      found.startedAt = clock.now().toISOString();
    }
    return found;
  };
  const ctx = (of: StepRecord, { resumed = false } = {}): StepContext => ({
    run,
    step: of,
    target,
    attempt: of.attempt,
    resumed,
    humanOverride: of.humanOverride,
    clock,
    log: silent,
    saveProgress: (saved) => {
      of.output = saved;
      return Promise.resolve();
    },
  });
  return {
    run,
    clock,
    hookCalls,
    port,
    setHealth: (next) => (health = next),
    step,
    ctx,
    async attempts(name, count, { resumed = false, advanceMs = 0 } = {}) {
      const of = step(name);
      const results: Outcome[] = [];
      for (let i = 0; i < count; i++) {
        let result: StepResult;
        try {
          result = await executors[of.spec.executor!]!.execute(ctx(of, { resumed: resumed && i === 0 }));
        } catch (error) {
          of.error = classify(error);
          if (of.error.class === 'needs_human') of.humanOverride = false;
          results.push({ type: 'failed', failure: of.error });
          break;
        }
        results.push(result);
        of.error = null;
        of.attempt += 1;
        if (result.output) of.output = result.output;
        if (result.type === 'done') {
          of.state = 'succeeded';
          of.finishedAt = clock.now().toISOString();
          break;
        }
        clock.advance(advanceMs);
      }
      return results;
    },
    approve(name) {
      const of = step(name);
      if (of.error?.class !== 'needs_human') throw new Error(`${name} is not at a needs-human gate`);
      of.humanOverride = true;
    },
  };
}

/** A reading in which each node answers for itself (Kafka from the metadata, NATS and Redis themselves). */
export function withNodes(
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
