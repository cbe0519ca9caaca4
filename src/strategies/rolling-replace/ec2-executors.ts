// Executors of the EC2 replace mode of a rolling replacement: launch a replacement from a launch
// template, optionally move the node's data volume across with the volume-swap EC2 steps, and
// retire the old instance. The rules:
//  - RunInstances carries a ClientToken derived from the run and the node: a retry after an unknown
//    outcome or a crash between the call and its record gets the same instance back from EC2, never
//    a second one.
//  - Nothing that shrinks redundancy (stopping the old instance) starts while the cluster is not
//    fully replicated, nor while data that cannot spare the node is not accepted by a person.
//  - The node's incarnation is recorded before the launch: recovery needs the replacement.
//  - Undos run only while the node is unfinished: once recover-<i> succeeded, the node stays.
import { createHash } from 'node:crypto';
import { fatal, needsHuman } from '../../engine/failures';
import type { JsonObject } from '../../engine/types';
import type { Ec2Port, LaunchTemplateRef } from '../../ports/ec2';
import { AwsRefusal } from '../../ports/aws-refusal';
import type { PreflightCheck, StepContext, StepExecutor, StepResult } from '../types';
import { awsFailure } from '../shared/aws-failure';
import {
  attachmentTo,
  attachVolumeStep,
  detachVolumeStep,
  dryRunCheck,
  powerInstance,
  progressOf,
  tolerateIncorrectState,
  type VolumeMove,
} from '../volume-swap/ec2-steps';
import { isEc2Replace, stopsOldFirst, type Ec2ReplaceConfig, type NodeSettings } from './config';
import { settingsOf } from './plan';
import { parseProgress, progressJson, readProgress } from './progress';
import { outputOf } from '../progress';
import type { RollingReplaceEc2Executor } from './plan';

export interface NodeRef {
  node: string;
  index: number;
  total: number;
}

export interface Ec2ReplaceHelpers {
  ec2: Ec2Port | undefined;
  nodeOf(ctx: StepContext): NodeRef;
  /** A wait result while the cluster is not fully replicated (after `timeoutMs`: needs-human), else null. */
  untilFullyReplicated(ctx: StepContext, what: string): Promise<StepResult | null>;
  /** The node's incarnation now (null: not read). */
  incarnationOf(ctx: StepContext, node: string): Promise<string | null>;
  /** Needs-human unless the copies that cannot spare `node` were accepted; returns those accepted now. */
  guardCopies(ctx: StepContext, node: string, untouched: string): Promise<string[]>;
}

/** Tags every replacement carries (and what to search for when a record was lost). */
export const TAG_RUN = 'cutover-bot:run';
export const TAG_NODE = 'cutover-bot:node';

/**
 * EC2's idempotency key for the launch of one node in one run (at most 64 ASCII characters): the
 * same on every attempt, resumed or retried, different for another run or node.
 */
export function launchClientToken(runId: string, node: string): string {
  const digest = createHash('sha256').update(`${runId}\n${node}`).digest('hex').slice(0, 40);
  return `cutover-bot-${digest}`;
}

function describeTemplate(template: LaunchTemplateRef): string {
  const which = 'id' in template ? template.id : template.name;
  return `launch template ${which}${template.version ? ` version ${template.version}` : ''}`;
}

function replaceOf(ctx: Pick<StepContext, 'target'>): Ec2ReplaceConfig['ec2'] {
  const { replace } = settingsOf(ctx.target).cluster;
  if (!isEc2Replace(replace)) throw fatal('replace is not ec2 for this target');
  return replace.ec2;
}

function nodeSettings(ctx: Pick<StepContext, 'target'>, index: number): NodeSettings {
  const node = settingsOf(ctx.target).cluster.nodes[index - 1];
  if (!node) throw fatal(`no node ${index} in the target`);
  return node;
}

function oldInstanceOf(ctx: Pick<StepContext, 'target'>, index: number): string {
  const id = nodeSettings(ctx, index).instanceId;
  if (!id) throw fatal(`node ${index} has no instanceId`);
  return id;
}

function moveOf(ctx: Pick<StepContext, 'target'>, index: number): VolumeMove & { attachTimeout: number } {
  const replace = replaceOf(ctx);
  const volumeId = nodeSettings(ctx, index).volumeId;
  if (!replace.moveVolume || !volumeId) throw fatal(`node ${index} has no data volume to move`);
  return {
    region: replace.region,
    volumeId,
    device: replace.moveVolume.device,
    detachTimeout: replace.moveVolume.detachTimeout,
    attachTimeout: replace.moveVolume.attachTimeout,
    pollInterval: replace.pollInterval,
  };
}

/** The replacement the launch step of this node recorded. */
function replacementOf(ctx: StepContext, index: number): string | null {
  return parseProgress(outputOf(ctx.run, `launch-${index}`)).instanceId ?? null;
}

/** The node is finished once its recover step succeeded: nothing of it is undone any more. */
function nodeFinished(ctx: StepContext, index: number): boolean {
  return ctx.run.steps.some((step) => step.spec.name === `recover-${index}` && step.state === 'succeeded');
}

/** Read-only checks of the EC2 replace config: the template exists and may be launched, the nodes' instances. */
export async function ec2ReplacePreflight(
  ec2: Ec2Port,
  replace: Ec2ReplaceConfig['ec2'],
  nodes: readonly NodeSettings[],
): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const what = describeTemplate(replace.launchTemplate);
  const template = await ec2.describeLaunchTemplate(replace.region, replace.launchTemplate);
  if (template === null) {
    return [{ name: 'launch template', ok: false, detail: `${what} not found in ${replace.region}` }];
  }
  const version = replace.launchTemplate.version;
  const versionOk =
    version === undefined || !/^\d+$/.test(version) || Number(version) <= template.latestVersion;
  checks.push({
    name: 'launch template',
    ok: versionOk,
    detail: versionOk
      ? `${what} (${template.id}, default version ${template.defaultVersion})`
      : `${what}: the template has versions 1 to ${template.latestVersion}`,
  });
  checks.push(
    await dryRunCheck(
      () => ec2.checkLaunchPermission(replace.region, replace.launchTemplate),
      `RunInstances from ${what} allowed`,
    ),
  );
  for (const node of nodes) {
    const instanceId = node.instanceId ?? '';
    const instance = await ec2.describeInstance(replace.region, instanceId);
    const ok = instance !== null && instance.state === 'running';
    checks.push({
      name: `instance of ${node.id}`,
      ok,
      detail: instance === null ? `${instanceId} not found` : `${instanceId} is ${instance.state}`,
    });
    if (replace.moveVolume && node.volumeId !== undefined && instance !== null) {
      const volume = await ec2.describeVolume(replace.region, node.volumeId);
      const attached = volume ? attachmentTo(volume, instanceId) : undefined;
      const placed = attached?.state === 'attached' && attached.device === replace.moveVolume.device;
      checks.push({
        name: `data volume of ${node.id}`,
        ok: placed,
        detail: placed
          ? `${node.volumeId} attached to ${instanceId} at ${attached.device}`
          : `${node.volumeId} is not attached to ${instanceId} at ${replace.moveVolume.device} (${volume ? volume.attachments.map((a) => `${a.instanceId} ${a.device} ${a.state}`).join(', ') || volume.state : 'not found'})`,
      });
    }
  }
  return checks;
}

export function ec2ReplaceExecutors(
  helpers: Ec2ReplaceHelpers,
): Record<RollingReplaceEc2Executor, StepExecutor> {
  const portOf = (): Ec2Port => {
    if (!helpers.ec2) throw fatal('replace is ec2, but this worker was started without an EC2 port');
    return helpers.ec2;
  };

  /** Brings an instance to a state; `timeoutMs` from the first request (null: no timeout, an undo). */
  const power = async (
    ctx: StepContext,
    instanceId: string,
    want: 'stopped' | 'running',
    timeoutMs: number | null,
    undo: boolean,
    extra: JsonObject = {},
  ): Promise<StepResult> => {
    const replace = replaceOf(ctx);
    const progress = parseProgress(progressOf(ctx, undo));
    const shown = await powerInstance(portOf(), replace.region, instanceId, want);
    if (shown.settled) return { type: 'done', output: { ...extra, instanceId, state: want } };
    const now = ctx.clock.now().getTime();
    const sentAt = progress.requestedAtMs ?? now;
    if (timeoutMs !== null && !ctx.humanOverride && now - sentAt > timeoutMs) {
      throw needsHuman(
        `${instanceId} is still ${shown.shown} ${Math.round((now - sentAt) / 1000)} s after it was asked to be ${want}. ` +
          'Check it in the EC2 console; approve to keep waiting, or abort.',
      );
    }
    return {
      type: 'wait',
      delayMs: replace.pollInterval,
      output: { ...extra, instanceId, state: shown.shown, requestedAtMs: sentAt },
    };
  };

  /** An undo of node `index`: a no-op once the node is finished. */
  const undoFor =
    (run: (ctx: StepContext, index: number) => Promise<StepResult>): StepExecutor['execute'] =>
    async (ctx) => {
      const { index, node } = helpers.nodeOf(ctx);
      if (nodeFinished(ctx, index))
        return { type: 'done', output: { kept: `${node} was finished; it is not rolled back` } };
      return run(ctx, index);
    };

  const launch = async (ctx: StepContext): Promise<StepResult> => {
    const ec2 = portOf();
    const replace = replaceOf(ctx);
    const { node, index, total } = helpers.nodeOf(ctx);
    const progress = readProgress(ctx);
    let instanceId = progress.instanceId ?? null;
    const now = ctx.clock.now().getTime();
    let incarnationBefore = readProgress(ctx).incarnationBefore;
    if (instanceId === null) {
      // Never start on a node while the cluster is short of copies (a resumed attempt may have
      // launched already: the token makes the call below safe either way).
      if (!ctx.resumed) {
        const wait = await helpers.untilFullyReplicated(ctx, `${node} was not touched`);
        if (wait) return wait;
      }
      // Durable before the launch: recovery waits for another incarnation than this one.
      if (incarnationBefore === undefined) {
        incarnationBefore = ctx.resumed ? null : await helpers.incarnationOf(ctx, node);
        await ctx.saveProgress(progressJson({ ...readProgress(ctx), incarnationBefore }));
      }
      const clientToken = launchClientToken(ctx.run.id, node);
      try {
        const launched = await ec2.runInstance(replace.region, {
          launchTemplate: replace.launchTemplate,
          clientToken,
          tags: {
            [TAG_RUN]: ctx.run.id,
            [TAG_NODE]: node,
            'cutover-bot:target': ctx.target.name,
            'cutover-bot:replaces': oldInstanceOf(ctx, index),
          },
        });
        instanceId = launched.id;
      } catch (error) {
        if (error instanceof AwsRefusal && error.code === 'insufficient_capacity') {
          throw needsHuman(
            `EC2 has no capacity right now for ${describeTemplate(replace.launchTemplate)} (${error.message}). ` +
              `Nothing was launched and ${node} (node ${index} of ${total}) is untouched and still serving. ` +
              'Approve to try the launch again (capacity often returns within minutes), or abort and change the template (another instance type or subnet).',
            { cause: error },
          );
        }
        if (error instanceof AwsRefusal && error.code === 'idempotency_mismatch') {
          throw fatal(
            `EC2 refused the launch for ${node}: its client token was used before with other parameters (was the launch template changed during the run?). Look for instances tagged ${TAG_RUN}=${ctx.run.id}. ${error.message}`,
            { cause: error },
          );
        }
        awsFailure(error);
      }
      return {
        type: 'wait',
        delayMs: replace.pollInterval,
        output: { instanceId, clientToken, launchedAtMs: now, state: 'pending', incarnationBefore },
      };
    }
    const launchedAtMs = progress.launchedAtMs ?? now;
    const instance = await ec2.describeInstance(replace.region, instanceId).catch(awsFailure);
    // Just launched: EC2's describe is eventually consistent, a new instance may not show yet.
    const state = instance?.state ?? 'pending';
    const record = {
      instanceId,
      clientToken: progress.clientToken ?? null,
      launchedAtMs,
      incarnationBefore: incarnationBefore ?? null,
    };
    if (state === 'terminated' || state === 'shutting-down') {
      throw fatal(
        `the replacement ${instanceId} for ${node} is ${state} (EC2 ended it during launch: check its state reason, e.g. a KMS key or a quota). ${node} is untouched.`,
      );
    }
    const move = replace.moveVolume ? moveOf(ctx, index) : null;
    // Kept stopped until the old instance is stopped (and its volume, if it moves, attached).
    const keepStopped = stopsOldFirst(settingsOf(ctx.target).cluster.replace);
    if (state === 'running' || (keepStopped && (state === 'stopping' || state === 'stopped'))) {
      if (!keepStopped) {
        return {
          type: 'done',
          output: {
            ...record,
            state,
            report: `:rocket: Launched ${instanceId} to replace ${node} (node ${index} of ${total}).`,
          },
        };
      }
      // The data volume must be in the replacement's zone, or nothing below can work: refuse now,
      // while the old node is still serving.
      const volume = move ? await ec2.describeVolume(replace.region, move.volumeId).catch(awsFailure) : null;
      if (move && instance && volume && volume.availabilityZone !== instance.availabilityZone) {
        throw fatal(
          `the replacement ${instanceId} is in ${instance.availabilityZone}, the data volume ${move.volumeId} in ${volume.availabilityZone}: EBS volumes attach only within their zone. Fix the launch template's subnet; ${node} is untouched.`,
        );
      }
      // The replacement waits stopped until its data volume is attached (its services then start
      // with their data, see docs/architecture.md), or until the old instance is stopped.
      if (state === 'stopped') {
        return {
          type: 'done',
          output: {
            ...record,
            state,
            report: `:rocket: Launched ${instanceId} to replace ${node} (node ${index} of ${total}); stopped until ${move ? 'its data volume arrives' : 'the old instance is stopped'}.`,
          },
        };
      }
      if (state === 'running')
        await tolerateIncorrectState(() => ec2.stopInstance(replace.region, instanceId));
      return { type: 'wait', delayMs: replace.pollInterval, output: { ...record, state: 'stopping' } };
    }
    if (!ctx.humanOverride && now - launchedAtMs > replace.startTimeout) {
      throw needsHuman(
        `the replacement ${instanceId} for ${node} is still ${state} ${Math.round((now - launchedAtMs) / 1000)} s after the launch. ${node} is untouched. Approve to keep waiting, or abort (the replacement is stopped, not terminated).`,
      );
    }
    return { type: 'wait', delayMs: replace.pollInterval, output: { ...record, state } };
  };

  const requireReplacement = (ctx: StepContext, index: number): string => {
    const id = replacementOf(ctx, index);
    if (!id) throw fatal(`no replacement instance recorded for node ${index}`);
    return id;
  };

  return {
    'rr-launch': { execute: launch },

    // Undo of the launch: stop the replacement (kept, tagged, for a look at why the run failed).
    'rr-unlaunch': {
      execute: undoFor(async (ctx, index): Promise<StepResult> => {
        const id = replacementOf(ctx, index);
        if (!id) {
          return {
            type: 'done',
            output: {
              report: `:warning: No replacement was recorded for node ${index}; look for instances tagged ${TAG_RUN}=${ctx.run.id}.`,
            },
          };
        }
        const instance = await portOf().describeInstance(replaceOf(ctx).region, id).catch(awsFailure);
        if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down')
          return { type: 'done', output: { instanceId: id, state: instance?.state ?? 'gone' } };
        const result = await power(ctx, id, 'stopped', null, true);
        return result.type === 'done'
          ? {
              type: 'done',
              output: {
                ...result.output,
                report: `:leftwards_arrow_with_hook: The replacement ${id} is stopped and kept (tag ${TAG_RUN}=${ctx.run.id}); terminate it when you no longer need it.`,
              },
            }
          : result;
      }),
    },

    'rr-stop-old': {
      async execute(ctx) {
        const { index, node } = helpers.nodeOf(ctx);
        const progress = readProgress(ctx);
        // Stopping the old node shrinks redundancy: only with all copies in place, and none that
        // cannot spare it unless a person accepted that.
        let accepted: string[] = progress.acceptedAtRisk ?? [];
        if (!ctx.resumed && progress.requestedAtMs === undefined) {
          const wait = await helpers.untilFullyReplicated(ctx, `${node} is still running`);
          if (wait) return wait;
          accepted = [...accepted, ...(await helpers.guardCopies(ctx, node, `${node} is still running.`))];
        }
        return power(
          ctx,
          oldInstanceOf(ctx, index),
          'stopped',
          replaceOf(ctx).stopTimeout,
          false,
          accepted.length > 0 ? { acceptedAtRisk: accepted } : {},
        );
      },
    },
    'rr-start-old': {
      execute: undoFor((ctx, index) => power(ctx, oldInstanceOf(ctx, index), 'running', null, true)),
    },

    'rr-detach': {
      execute: (ctx) => {
        const { index } = helpers.nodeOf(ctx);
        return detachVolumeStep(
          portOf(),
          ctx,
          moveOf(ctx, index),
          oldInstanceOf(ctx, index),
          false,
          'abort leaves it where it is and starts the old instance again.',
        );
      },
    },
    'rr-reattach-old': {
      execute: undoFor((ctx, index) =>
        attachVolumeStep(portOf(), ctx, moveOf(ctx, index), oldInstanceOf(ctx, index), null, true),
      ),
    },

    'rr-attach': {
      execute: (ctx) => {
        const { index } = helpers.nodeOf(ctx);
        const move = moveOf(ctx, index);
        return attachVolumeStep(
          portOf(),
          ctx,
          move,
          requireReplacement(ctx, index),
          move.attachTimeout,
          false,
        );
      },
    },
    'rr-detach-new': {
      execute: undoFor((ctx, index) => {
        const id = replacementOf(ctx, index);
        if (!id) return Promise.resolve({ type: 'done', output: { volume: 'not moved' } });
        return detachVolumeStep(portOf(), ctx, moveOf(ctx, index), id, true);
      }),
    },

    'rr-start-new': {
      execute: (ctx) => {
        const { index } = helpers.nodeOf(ctx);
        return power(ctx, requireReplacement(ctx, index), 'running', replaceOf(ctx).startTimeout, false);
      },
    },
    'rr-stop-new': {
      execute: undoFor((ctx, index) => {
        const id = replacementOf(ctx, index);
        if (!id) return Promise.resolve({ type: 'done', output: {} });
        return power(ctx, id, 'stopped', null, true);
      }),
    },

    // Only after recover-<i>: the new copy is current, so the old one can go.
    'rr-retire': {
      async execute(ctx) {
        const { index, node } = helpers.nodeOf(ctx);
        const replace = replaceOf(ctx);
        const old = oldInstanceOf(ctx, index);
        const progress = readProgress(ctx);
        if (!replace.terminateOld) {
          if (!ctx.resumed && progress.requestedAtMs === undefined) {
            const wait = await helpers.untilFullyReplicated(ctx, `${old} is still running`);
            if (wait) return wait;
          }
          const result = await power(ctx, old, 'stopped', replace.stopTimeout, false);
          if (result.type !== 'done') return result;
          return {
            type: 'done',
            output: {
              ...result.output,
              report: `:zzz: ${old} (the old ${node}) is stopped and kept for rollback and forensics.`,
            },
          };
        }
        const ec2 = portOf();
        const instance = await ec2.describeInstance(replace.region, old).catch(awsFailure);
        if (!instance || instance.state === 'terminated') {
          return {
            type: 'done',
            output: {
              instanceId: old,
              state: 'terminated',
              report: `:wastebasket: ${old} (the old ${node}) is terminated.`,
            },
          };
        }
        if (instance.state !== 'shutting-down') {
          if (!ctx.resumed && progress.requestedAtMs === undefined) {
            const wait = await helpers.untilFullyReplicated(ctx, `${old} is still there`);
            if (wait) return wait;
          }
          if (replace.moveVolume) {
            // The data volume must be on the replacement, never on the instance being terminated.
            const volume = await ec2
              .describeVolume(replace.region, moveOf(ctx, index).volumeId)
              .catch(awsFailure);
            if (volume && attachmentTo(volume, old)) {
              throw fatal(`${moveOf(ctx, index).volumeId} is still attached to ${old}; it is not terminated`);
            }
          }
          await tolerateIncorrectState(() => ec2.terminateInstance(replace.region, old));
        }
        const now = ctx.clock.now().getTime();
        return {
          type: 'wait',
          delayMs: replace.pollInterval,
          output: {
            instanceId: old,
            state: 'shutting-down',
            requestedAtMs: progress.requestedAtMs ?? now,
          },
        };
      },
    },
  };
}
