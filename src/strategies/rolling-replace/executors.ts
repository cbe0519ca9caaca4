// Executors of a rolling replacement. The one rule: never move on (drain or replace the next node)
// while the cluster is not fully replicated.
import { toHookCommand, type HookConfig } from '../../config/hook-schema';
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { ClusterHealth, ClusterHealthPort } from '../../ports/cluster-health';
import type { Ec2Port } from '../../ports/ec2';
import type { HookRunner } from '../../ports/hooks';
import type { StepContext, StepExecutor, StepResult } from '../types';
import { asFailure, refuseFailedChecks } from '../volume-swap/ec2-steps';
import { isEc2Replace } from './config';
import { ec2ReplaceExecutors, ec2ReplacePreflight } from './ec2-executors';
import { settingsOf } from './plan';

export interface RollingReplaceDeps {
  /** The cluster-health adapter for a target (one per kind), cached by the caller. */
  healthFor(ctx: Pick<StepContext, 'target'>): ClusterHealthPort;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** For `replace: { ec2 }` targets. */
  ec2?: Ec2Port | undefined;
}

const MAX_BACKOFF_MS = 60_000;
/** Consecutive fully-replicated readings before the next node is touched. */
const HEALTHY_READINGS_NEEDED = 3;

function nodeOf(ctx: StepContext): { node: string; index: number; total: number } {
  const params = ctx.step.spec.params ?? {};
  const node = params['node'];
  if (typeof node !== 'string') throw fatal('step has no node');
  return { node, index: Number(params['index']), total: Number(params['total']) };
}

function elapsedMs(ctx: StepContext): number {
  return ctx.step.startedAt ? ctx.clock.now().getTime() - Date.parse(ctx.step.startedAt) : 0;
}

/**
 * Polls slowly for a slow thing: the interval doubles with every poll up to a minute, and what
 * decides giving up is the configured timeout, not the number of polls (large brokers take long).
 */
function backoffMs(ctx: StepContext, base: number): number {
  return Math.min(MAX_BACKOFF_MS, base * 2 ** Math.min(10, Math.max(0, ctx.step.attempt - 1)));
}

async function reading(port: ClusterHealthPort): Promise<ClusterHealth> {
  try {
    return await port.health();
  } catch (error) {
    throw retryable(`cluster health could not be read: ${(error as Error).message}`);
  }
}

function summary(health: ClusterHealth): string {
  return health.fullyReplicated
    ? 'fully replicated'
    : `${health.laggingReplicas} lagging: ${health.detail.slice(0, 5).join('; ')}`;
}

function incarnationOf(health: ClusterHealth, node: string): string | null {
  return health.nodes?.find((reading) => reading.id === node)?.incarnation ?? null;
}

/**
 * What the node itself says, where the adapter can ask it: whether a new process answers (not the
 * one recorded before the replace hook) and holds every replica assigned to it. Null: the adapter
 * reads the cluster only, and membership is all there is to go by.
 */
function ownView(
  health: ClusterHealth,
  node: string,
  before: string | null,
): { replaced: boolean; holdsAll: boolean; incarnation: string | null; state: string } | null {
  if (!health.nodes) return null;
  const reading = health.nodes.find((candidate) => candidate.id === node);
  const incarnation = reading?.incarnation ?? null;
  if (!reading || incarnation === null)
    return { replaced: false, holdsAll: false, incarnation, state: 'not answering' };
  if (incarnation === before)
    return {
      replaced: false,
      holdsAll: reading.holdsAll,
      incarnation,
      state: 'still the process from before the replace hook',
    };
  return {
    replaced: true,
    holdsAll: reading.holdsAll,
    incarnation,
    state: reading.holdsAll
      ? 'a new process holding every replica'
      : `a new process, catching up: ${reading.detail.slice(0, 3).join('; ')}`,
  };
}

export function rollingReplaceExecutors(deps: RollingReplaceDeps): Record<string, StepExecutor> {
  /** A wait while the cluster is short of copies; after recoverTimeout a needs-human gate. Null: go on. */
  const untilFullyReplicated = async (ctx: StepContext, untouched: string): Promise<StepResult | null> => {
    const { cluster } = settingsOf(ctx.target);
    const health = await reading(deps.healthFor(ctx));
    if (health.fullyReplicated) return null;
    if (elapsedMs(ctx) > cluster.recoverTimeout) {
      throw needsHuman(`the cluster is still not fully replicated (${summary(health)}); ${untouched}`);
    }
    return { type: 'wait', delayMs: cluster.pollInterval, output: { waitingFor: summary(health) } };
  };

  const runHook = async (ctx: StepContext, hook: HookConfig, what: string): Promise<string> => {
    const { node, index } = nodeOf(ctx);
    const { hook: command } = toHookCommand(hook, deps.env);
    const result = await deps.hooks.run(command, { node, index: String(index), target: ctx.target.name });
    if (result.timedOut || result.exitCode !== 0) {
      throw needsHuman(
        `the ${what} hook for ${node} did not succeed (exit ${String(result.exitCode)}${result.timedOut ? ', timed out' : ''}): ${result.output.slice(-800)}`,
      );
    }
    return result.output;
  };

  return {
    ...ec2ReplaceExecutors({ ec2: deps.ec2, nodeOf, untilFullyReplicated }),

    'rr-preflight': {
      async execute(ctx) {
        const { cluster } = settingsOf(ctx.target);
        // EC2 first: a launch template that does not exist refuses the run before anything moves.
        let ec2Checks: string[] = [];
        if (isEc2Replace(cluster.replace)) {
          if (!deps.ec2) throw fatal('replace is ec2, but this worker was started without an EC2 port');
          ec2Checks = refuseFailedChecks(
            await ec2ReplacePreflight(deps.ec2, cluster.replace.ec2, cluster.nodes).catch(asFailure),
          );
        }
        const health = await reading(deps.healthFor(ctx));
        // Replication readings flicker under load (replicas report offsets about once a second):
        // a few retries before the run is refused.
        if (!health.fullyReplicated) {
          throw retryable(`the cluster is not fully replicated right now: ${summary(health)}`);
        }
        return {
          type: 'done',
          output: { members: health.members, ...(ec2Checks.length > 0 ? { checks: ec2Checks } : {}) },
        };
      },
    },

    'rr-drain': {
      async execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        const port = deps.healthFor(ctx);
        if (ctx.step.output?.['hookRan'] !== true) {
          // Never start on a node while the cluster is short of copies.
          const health = await reading(port);
          if (!health.fullyReplicated)
            return { type: 'wait', delayMs: cluster.pollInterval, output: { waitingFor: summary(health) } };
          if (cluster.drain) await runHook(ctx, cluster.drain, 'drain');
        }
        const led = port.ledBy ? await port.ledBy(nodeOf(ctx).node) : [];
        if (led.length > 0) {
          if (elapsedMs(ctx) > cluster.recoverTimeout) {
            throw needsHuman(
              `${nodeOf(ctx).node} still leads ${led.length} partitions after the drain: ${led.slice(0, 10).join(', ')}`,
            );
          }
          return {
            type: 'wait',
            delayMs: cluster.pollInterval,
            output: { hookRan: true, stillLeads: led.slice(0, 20) },
          };
        }
        return { type: 'done', output: { drained: nodeOf(ctx).node } };
      },
    },

    'rr-replace': {
      async execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        const { node } = nodeOf(ctx);
        if (isEc2Replace(cluster.replace))
          throw fatal('replace is ec2: the plan has launch steps, not rr-replace');
        if (ctx.step.output?.['hookStarting'] !== true) {
          // A fresh attempt first makes sure the cluster has all its copies. A resumed one (its
          // worker died before it recorded the node's process) may find its own node down, which a
          // lost hook did: that alone is no reason to wait. Any other shortfall still is.
          const health = await reading(deps.healthFor(ctx));
          const ownNodeDown = ctx.resumed && health.members.length > 0 && !health.members.includes(node);
          if (!ownNodeDown && !health.fullyReplicated) {
            if (elapsedMs(ctx) > cluster.recoverTimeout)
              throw needsHuman(
                `the cluster is still not fully replicated (${summary(health)}); ${node} was not touched`,
              );
            return { type: 'wait', delayMs: cluster.pollInterval, output: { waitingFor: summary(health) } };
          }
          // The process the node runs now, recorded before the hook touches it: recovery waits for
          // a different one (a hook that returns before it has replaced the node is not taken as done).
          const before = incarnationOf(health, node);
          return { type: 'wait', delayMs: 0, output: { hookStarting: true, incarnationBefore: before } };
        }
        // The hook may run again after a crash: it must be safe to rerun.
        const output = await runHook(ctx, cluster.replace, 'replace');
        return {
          type: 'done',
          output: {
            replaced: node,
            incarnationBefore: ctx.step.output['incarnationBefore'] ?? null,
            report: `:arrows_counterclockwise: Replaced ${node}.\n\`\`\`${output.slice(-1500)}\`\`\``,
          },
        };
      },
    },

    'rr-recover': {
      async execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        const { node, index, total } = nodeOf(ctx);
        const health = await reading(deps.healthFor(ctx));
        const replacedFrom = ctx.run.steps.find(
          (step) => step.spec.executor === 'rr-replace' && step.spec.params?.['node'] === node,
        )?.output?.['incarnationBefore'];
        const own = ownView(health, node, typeof replacedFrom === 'string' ? replacedFrom : null);
        const rejoined = own
          ? own.replaced && own.holdsAll
          : health.members.length === 0 || health.members.includes(node);
        if (health.fullyReplicated && rejoined) {
          // One good reading under load can be a flicker: ask for consecutive ones before moving on.
          const previous = ctx.step.output?.['healthyReadings'];
          const streak = (typeof previous === 'number' ? previous : 0) + 1;
          if (streak < HEALTHY_READINGS_NEEDED) {
            return {
              type: 'wait',
              delayMs: Math.min(cluster.pollInterval, 1_000),
              output: { node, healthyReadings: streak },
            };
          }
          return {
            type: 'done',
            output: {
              node,
              progress: `${index} of ${total}`,
              members: health.members,
              ...(own?.incarnation ? { incarnation: own.incarnation } : {}),
            },
          };
        }
        const state = own ? own.state : rejoined ? 'rejoined' : 'not back in the cluster';
        if (elapsedMs(ctx) > cluster.recoverTimeout) {
          throw needsHuman(
            `${node} has not recovered after ${Math.round(elapsedMs(ctx) / 60_000)} min (${state}; ${summary(health)}). ` +
              'The remaining nodes are untouched. Retry to keep waiting, or abort.',
          );
        }
        return {
          type: 'wait',
          delayMs: backoffMs(ctx, cluster.pollInterval),
          output: {
            node,
            laggingReplicas: health.laggingReplicas,
            rejoined,
            state,
            detail: health.detail.slice(0, 10),
          },
        };
      },
    },

    'rr-pause': {
      execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        if (ctx.step.output?.['paused'] === true)
          return Promise.resolve({ type: 'done', output: { paused: true } });
        return Promise.resolve({
          type: 'wait',
          delayMs: cluster.pauseBetweenNodes,
          output: { paused: true },
        });
      },
    },

    'rr-report': {
      execute(ctx) {
        // A node counts as replaced when its replace hook or its EC2 launch succeeded.
        const replaced = ctx.run.steps
          .filter(
            (step) =>
              (step.spec.executor === 'rr-replace' || step.spec.executor === 'rr-launch') &&
              step.state === 'succeeded',
          )
          .map((step) => step.spec.params?.['node'])
          .filter((node): node is string => typeof node === 'string');
        const report = `:white_check_mark: *Rolling replacement complete*: ${replaced.length} nodes replaced (${replaced.join(', ')}); the cluster is fully replicated.`;
        return Promise.resolve({ type: 'done', output: { replaced, report } });
      },
    },
  };
}
