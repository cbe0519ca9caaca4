// Executors of a rolling replacement. The rules: never move on (drain or replace the next node)
// while the cluster is not fully replicated; never touch a node whose data cannot spare it unless a
// person accepted that; a node is recovered only as its replacement (recovery.ts), holding every
// replica, with the cluster fully replicated for several readings in a row.
import { toHookCommand, type HookConfig } from '../../config/hook-schema';
import { fatal, needsHuman, retryable } from '../../engine/failures';
import type { ClusterHealth, ClusterHealthPort } from '../../ports/cluster-health';
import type { Ec2Port } from '../../ports/ec2';
import type { HookRunner } from '../../ports/hooks';
import type { StepContext, StepExecutor, StepResult } from '../types';
import { refuseFailedChecks } from '../volume-swap/ec2-steps';
import { awsFailure } from '../shared/aws-failure';
import { isEc2Replace, stopsOldFirst } from './config';
import { guardCopies } from './copies';
import { ec2ReplaceExecutors, ec2ReplacePreflight } from './ec2-executors';
import { settingsOf } from './plan';
import { parseProgress, progressJson, readProgress, replaceStepOf, type NodeProgress } from './progress';
import { judgeReading, nodeGone, readingOf, streakDone, type ReplacementEvidence } from './recovery';
import type { RollingReplaceExecutor } from './plan';

export interface RollingReplaceDeps {
  /** The cluster-health adapter for a target (one per kind), cached by the caller. */
  healthFor(ctx: Pick<StepContext, 'target'>): ClusterHealthPort;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** For `replace: { ec2 }` targets. */
  ec2?: Ec2Port | undefined;
}

const MAX_BACKOFF_MS = 60_000;
/** How often the replace step reads the cluster while its hook runs (to see the node leave). */
const WATCH_INTERVAL_MS = 250;
/** A person's "retry anyway" at the recover gate: accept the node as replaced without a leave seen. */
const NOT_SEEN_LEAVING = 'not_seen_leaving';

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

/** EC2 modes that stop the old instance first: its stop-old step succeeded, so it no longer serves. */
function oldInstanceStopped(ctx: StepContext, index: number): boolean {
  return ctx.run.steps.some((step) => step.spec.name === `stop-old-${index}` && step.state === 'succeeded');
}

/**
 * Reads the cluster every WATCH_INTERVAL_MS until stopped, noting when `node` is first seen gone (not
 * a member, or short of replicas). A reading that fails is skipped.
 */
function watchForLeave(
  ctx: StepContext,
  port: ClusterHealthPort,
  node: string,
): { stop(): Promise<number | null> } {
  let leftAtMs: number | null = null;
  let running = true;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  const loop = (async () => {
    while (running && leftAtMs === null) {
      try {
        if (nodeGone(await port.health(), node) === true) leftAtMs = ctx.clock.now().getTime();
      } catch {
        // a node going down can make a reading fail: the next one will do
      }
      if (running && leftAtMs === null)
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, WATCH_INTERVAL_MS);
        });
    }
  })();
  return {
    stop: async () => {
      running = false;
      clearTimeout(timer);
      wake?.();
      await loop;
      return leftAtMs;
    },
  };
}

export function rollingReplaceExecutors(
  deps: RollingReplaceDeps,
): Record<RollingReplaceExecutor, StepExecutor> {
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
    ...ec2ReplaceExecutors({
      ec2: deps.ec2,
      nodeOf,
      untilFullyReplicated,
      incarnationOf: async (ctx, node) =>
        readingOf(await reading(deps.healthFor(ctx)), node)?.incarnation ?? null,
      guardCopies: (ctx, node, untouched) => guardCopies(ctx, deps.healthFor(ctx), [node], untouched),
    }),

    'rr-preflight': {
      async execute(ctx) {
        const { cluster } = settingsOf(ctx.target);
        const port = deps.healthFor(ctx);
        // EC2 first: a launch template that does not exist refuses the run before anything moves.
        let ec2Checks: string[] = [];
        if (isEc2Replace(cluster.replace)) {
          if (!deps.ec2) throw fatal('replace is ec2, but this worker was started without an EC2 port');
          ec2Checks = refuseFailedChecks(
            await ec2ReplacePreflight(deps.ec2, cluster.replace.ec2, cluster.nodes).catch(awsFailure),
          );
        }
        const health = await reading(port);
        // Replication readings flicker under load (replicas report offsets about once a second):
        // a few retries before the run is refused.
        if (!health.fullyReplicated) {
          throw retryable(`the cluster is not fully replicated right now: ${summary(health)}`);
        }
        // Data whose copies cannot spare a node: a person accepts it here, for the whole run.
        const accepted = await guardCopies(
          ctx,
          port,
          cluster.nodes.map((node) => node.id),
          'No node has been touched.',
        );
        return {
          type: 'done',
          output: {
            members: health.members,
            ...(accepted.length > 0 ? { acceptedAtRisk: accepted } : {}),
            ...(ec2Checks.length > 0 ? { checks: ec2Checks } : {}),
          },
        };
      },
    },

    'rr-drain': {
      async execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        const port = deps.healthFor(ctx);
        if (readProgress(ctx).hookRan !== true) {
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
        const port = deps.healthFor(ctx);
        if (isEc2Replace(cluster.replace))
          throw fatal('replace is ec2: the plan has launch steps, not rr-replace');
        let progress = readProgress(ctx);
        if (progress.hookStarting !== true) {
          // A fresh attempt first makes sure the cluster has all its copies. A resumed one (its
          // worker died before it recorded the node's incarnation) may find its own node down,
          // which a lost hook did: that alone is no reason to wait. Any other shortfall still is.
          const health = await reading(port);
          const ownNodeDown = ctx.resumed && health.members.length > 0 && !health.members.includes(node);
          if (!ownNodeDown && !health.fullyReplicated) {
            if (elapsedMs(ctx) > cluster.recoverTimeout)
              throw needsHuman(
                `the cluster is still not fully replicated (${summary(health)}); ${node} was not touched`,
              );
            return { type: 'wait', delayMs: cluster.pollInterval, output: { waitingFor: summary(health) } };
          }
          const accepted = await guardCopies(ctx, port, [node], `${node} was not touched.`);
          // Recorded before the hook touches the node: recovery needs a replacement, not this
          // incarnation (a hook that returns before it has replaced the node is not taken as done).
          progress = {
            ...(accepted.length > 0 ? { acceptedAtRisk: accepted } : {}),
            hookStarting: true,
            incarnationBefore: ownNodeDown ? null : (readingOf(health, node)?.incarnation ?? null),
            replaceStartedAtMs: ctx.clock.now().getTime(),
          };
          await ctx.saveProgress(progressJson(progress));
        }
        // The hook may run again after a crash: it must be safe to rerun. Meanwhile the cluster is
        // watched for the node leaving, which a replacement in place can only show then (Kafka).
        const watch = watchForLeave(ctx, port, node);
        let output: string;
        try {
          output = await runHook(ctx, cluster.replace, 'replace');
        } finally {
          const leftAtMs = await watch.stop();
          if (leftAtMs !== null && progress.leftAtMs === undefined) progress = { ...progress, leftAtMs };
        }
        return {
          type: 'done',
          output: progressJson({
            ...progress,
            replaced: node,
            report: `:arrows_counterclockwise: Replaced ${node}.\n\`\`\`${output.slice(-1500)}\`\`\``,
          }),
        };
      },
    },

    'rr-recover': {
      async execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        const { node, index, total } = nodeOf(ctx);
        const health = await reading(deps.healthFor(ctx));
        const now = ctx.clock.now().getTime();
        const progress = readProgress(ctx);
        const replaced = parseProgress(replaceStepOf(ctx, node)?.output);
        // Seen gone now, or by the replace step while its hook ran: the old one has left.
        const leftAtMs =
          replaced.leftAtMs ?? progress.leftAtMs ?? (nodeGone(health, node) === true ? now : undefined);
        const acceptedWithoutLeave =
          progress.acceptedWithoutLeave === true ||
          (ctx.humanOverride && ctx.step.error?.detail?.['decision'] === NOT_SEEN_LEAVING);
        const evidence: ReplacementEvidence = {
          incarnationBefore: replaced.incarnationBefore ?? null,
          incarnationPerProcess: cluster.kind !== 'kafka',
          leftAtMs,
          oldStopped: oldInstanceStopped(ctx, index),
          oldMayStillServe: isEc2Replace(cluster.replace) && !stopsOldFirst(cluster.replace),
          accepted: acceptedWithoutLeave,
        };
        const verdict = judgeReading(health, node, evidence);
        const kept: NodeProgress = {
          ...(leftAtMs !== undefined ? { leftAtMs } : {}),
          ...(acceptedWithoutLeave ? { acceptedWithoutLeave: true } : {}),
        };
        if (verdict.healthy) {
          // One good reading under load can be a flicker, and a crashed Kafka broker reads in sync
          // until it is fenced: consecutive readings over at least healthyFor before moving on.
          const healthyReadings = (progress.healthyReadings ?? 0) + 1;
          const healthySinceMs = progress.healthySinceMs ?? now;
          if (!streakDone(healthyReadings, healthySinceMs, now, cluster.healthyFor)) {
            return {
              type: 'wait',
              delayMs: Math.min(cluster.pollInterval, 1_000),
              output: progressJson({ ...kept, node, healthyReadings, healthySinceMs }),
            };
          }
          return {
            type: 'done',
            output: {
              ...progressJson(kept),
              node,
              progress: `${index} of ${total}`,
              members: health.members,
              replacedBecause: verdict.how,
              ...(verdict.incarnation !== null ? { incarnation: verdict.incarnation } : {}),
            },
          };
        }
        if (!ctx.humanOverride && elapsedMs(ctx) > cluster.recoverTimeout) {
          const neverLeft = leftAtMs === undefined && verdict.state.startsWith('still the node');
          throw needsHuman(
            `${node} has not recovered after ${Math.round(elapsedMs(ctx) / 60_000)} min (${verdict.state}; ${summary(health)}). ` +
              'The remaining nodes are untouched. ' +
              (neverLeft
                ? 'Retry anyway to accept it as replaced once it holds everything (if you know the replace hook replaced it), or abort.'
                : 'Retry to keep waiting, or abort.'),
            neverLeft ? { detail: { decision: NOT_SEEN_LEAVING } } : {},
          );
        }
        return {
          type: 'wait',
          delayMs: backoffMs(ctx, cluster.pollInterval),
          output: {
            ...progressJson(kept),
            node,
            laggingReplicas: health.laggingReplicas,
            state: verdict.state,
            detail: health.detail.slice(0, 10),
          },
        };
      },
    },

    // Kafka: leaders back to their preferred replicas once every node is replaced, then wait until
    // the brokers show them moved. An imbalance is no danger: after recoverTimeout the run finishes
    // and says what is left.
    'rr-rebalance': {
      async execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        const port = deps.healthFor(ctx);
        if (!port.electPreferredLeaders)
          return { type: 'done', output: { skipped: 'not offered by the adapter' } };
        let election: { elected: string[]; failed: string[] };
        try {
          election = await port.electPreferredLeaders();
        } catch (error) {
          throw retryable(
            `the preferred leader election could not be asked for: ${(error as Error).message}`,
          );
        }
        const before = readProgress(ctx);
        const rounds = (before.rounds ?? 0) + 1;
        const moved = rounds === 1 ? election.elected : (before.moved ?? []);
        if (election.elected.length === 0 || elapsedMs(ctx) > cluster.recoverTimeout) {
          const left = [...election.elected, ...election.failed];
          return {
            type: 'done',
            output: {
              moved,
              notPreferred: left.slice(0, 20),
              report:
                left.length === 0
                  ? `:scales: Leadership rebalanced: ${moved.length} partitions back on their preferred replicas.`
                  : `:warning: ${left.length} partitions are not led by their preferred replica: ${left.slice(0, 10).join('; ')}`,
            },
          };
        }
        return {
          type: 'wait',
          delayMs: Math.min(cluster.pollInterval, 500),
          output: { rounds, moved, pending: election.elected.slice(0, 20) },
        };
      },
    },

    'rr-pause': {
      execute(ctx): Promise<StepResult> {
        const { cluster } = settingsOf(ctx.target);
        if (readProgress(ctx).paused === true)
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
