// Pure planning of a rolling replacement: for each node, in order, drain, replace, wait until the
// cluster is fully replicated again, pause; gates once or before each node.
//
// With `replace: { ec2 }` the replace step becomes visible EC2 steps (see ec2Steps below).
import type { TargetConfig } from '../../config/types';
import { settingsReader, type PlanOf, type PlannedStep } from '../define';
import {
  isEc2Replace,
  rollingReplaceSettingsSchema,
  type ClusterSettings,
  type Ec2ReplaceConfig,
  type RollingReplaceSettings,
} from './config';

export const ROLLING_REPLACE = 'rolling-replace';

/** The executors that replace a node through EC2 (ec2-executors.ts). */
export type RollingReplaceEc2Executor =
  | 'rr-launch'
  | 'rr-unlaunch'
  | 'rr-stop-old'
  | 'rr-start-old'
  | 'rr-detach'
  | 'rr-reattach-old'
  | 'rr-attach'
  | 'rr-detach-new'
  | 'rr-start-new'
  | 'rr-stop-new'
  | 'rr-retire';

export type RollingReplaceExecutor =
  | 'rr-preflight'
  | 'rr-drain'
  | 'rr-replace'
  | 'rr-recover'
  | 'rr-rebalance'
  | 'rr-pause'
  | 'rr-report'
  | RollingReplaceEc2Executor;

type StepSpec = PlannedStep<RollingReplaceExecutor>;

export const settingsOf = settingsReader(ROLLING_REPLACE, rollingReplaceSettingsSchema);

export function planRollingReplace(
  target: TargetConfig,
  { cluster }: RollingReplaceSettings = settingsOf(target),
): PlanOf<RollingReplaceExecutor> {
  const total = cluster.nodes.length;
  const gate = (title: string, explain: string): StepSpec => ({
    name: title.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    kind: 'gate',
    title,
    destructive: true,
    explain,
    warning: isEc2Replace(cluster.replace)
      ? 'Each replacement is launched before its old instance is touched. A failure or abort before a node has recovered undoes that node (the replacement is stopped and kept); recovered nodes stay replaced.'
      : 'A replaced node is not put back automatically; abort stops between nodes with the cluster fully replicated.',
  });
  const steps: StepSpec[] = [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: the ${cluster.kind} cluster is fully replicated`,
      executor: 'rr-preflight',
    },
  ];
  if (cluster.approve === 'once') {
    steps.push(
      gate(
        `Approve: replace ${total} nodes of ${target.name}`,
        `replace the ${total} nodes of ${target.name} one at a time: ${cluster.nodes.map((n) => n.id).join(', ')}`,
      ),
    );
  }
  cluster.nodes.forEach((node, index) => {
    const params = { node: node.id, index: index + 1, total };
    const of = `node ${index + 1} of ${total} (${node.id})`;
    if (cluster.approve === 'eachNode')
      steps.push(gate(`Approve: replace ${of}`, `replace ${of} of ${target.name}`));
    if (cluster.drain)
      steps.push({
        name: `drain-${index + 1}`,
        kind: 'action',
        title: `Drain ${of}`,
        executor: 'rr-drain',
        params,
      });
    const recover: StepSpec = {
      name: `recover-${index + 1}`,
      kind: 'wait',
      title: `Wait until ${node.id} has rejoined and the cluster is fully replicated`,
      executor: 'rr-recover',
      params,
    };
    const replace = cluster.replace;
    if (isEc2Replace(replace)) {
      steps.push(...ec2Steps(cluster, replace, index, recover));
    } else {
      steps.push(
        {
          name: `replace-${index + 1}`,
          kind: 'action',
          title: `Replace ${of}`,
          executor: 'rr-replace',
          params,
        },
        recover,
      );
    }
    if (cluster.pauseBetweenNodes > 0 && index < total - 1) {
      steps.push({
        name: `pause-${index + 1}`,
        kind: 'wait',
        title: `Pause before node ${index + 2} of ${total}`,
        executor: 'rr-pause',
        // Not the node's own step (no `node`): the node is done once it has recovered.
        params: { after: node.id, index: index + 1, total },
      });
    }
  });
  // Kafka: a roll leaves leadership on the brokers that stayed up longest.
  if (cluster.kind === 'kafka')
    steps.push({
      name: 'rebalance',
      kind: 'wait',
      title: 'Give partitions back to their preferred leaders',
      executor: 'rr-rebalance',
    });
  steps.push({ name: 'report', kind: 'check', title: 'Report', executor: 'rr-report' });
  return { strategy: ROLLING_REPLACE, target: target.name, steps };
}

/**
 * The EC2 steps of one node. Without moveVolume or stopOldFirst: launch the replacement (a fresh
 * copy that re-replicates), wait until it holds the data, and only then retire the old instance
 * (redundancy never shrinks before the new copy is current). With moveVolume: launch the replacement
 * and stop it until its data arrives, stop the old instance, detach the volume, attach it to the
 * replacement, start the replacement, wait for full replication (then terminate the old one if
 * asked). stopOldFirst alone is the same without the volume: the replacement starts empty once the
 * old instance is stopped (a node id two running servers cannot share, as a Kafka broker id). The
 * moving steps undo like a volume swap while the node is not finished; once recover-<i> succeeded
 * the node is kept as it is.
 */
function ec2Steps(
  cluster: ClusterSettings,
  replace: Ec2ReplaceConfig,
  index: number,
  recover: StepSpec,
): StepSpec[] {
  const node = cluster.nodes[index]!;
  const params = { node: node.id, index: index + 1, total: cluster.nodes.length };
  const of = `node ${index + 1} of ${cluster.nodes.length} (${node.id})`;
  const old = node.instanceId ?? '?';
  const n = index + 1;
  const { moveVolume, terminateOld, stopOldFirst } = replace.ec2;
  const keptStopped = moveVolume
    ? ' (kept stopped until its data volume is attached)'
    : stopOldFirst
      ? ' (kept stopped until the old instance is)'
      : '';
  const launch: StepSpec = {
    name: `launch-${n}`,
    kind: 'action',
    title: `Launch replacement for ${of}${keptStopped}`,
    executor: 'rr-launch',
    params,
    compensation: { executor: 'rr-unlaunch', title: `Stop the replacement for ${node.id}` },
  };
  const retire: StepSpec = {
    name: `retire-${n}`,
    kind: 'action',
    title: `Retire old instance ${old} of ${node.id} (${terminateOld ? 'terminate' : 'stop, kept for rollback and forensics'})`,
    executor: 'rr-retire',
    params,
  };
  if (!moveVolume && !stopOldFirst) return [launch, recover, retire];
  const volume = node.volumeId ?? '?';
  const stopOld: StepSpec = {
    name: `stop-old-${n}`,
    kind: 'action',
    title: `Stop old instance ${old} of ${node.id}`,
    executor: 'rr-stop-old',
    params,
    compensation: { executor: 'rr-start-old', title: `Start ${old} again` },
  };
  const startNew: StepSpec = {
    name: `start-${n}`,
    kind: 'action',
    title: `Start the replacement for ${node.id}${moveVolume ? ' with its data volume' : ' (it re-replicates)'}`,
    executor: 'rr-start-new',
    params,
    compensation: { executor: 'rr-stop-new', title: `Stop the replacement for ${node.id}` },
  };
  if (!moveVolume) return [launch, stopOld, startNew, recover, ...(terminateOld ? [retire] : [])];
  const steps: StepSpec[] = [
    launch,
    stopOld,
    {
      name: `detach-${n}`,
      kind: 'action',
      title: `Move data volume ${volume} of ${node.id}: detach from ${old}`,
      executor: 'rr-detach',
      params,
      compensation: { executor: 'rr-reattach-old', title: `Re-attach ${volume} to ${old}` },
    },
    {
      name: `attach-${n}`,
      kind: 'action',
      title: `Move data volume ${volume} of ${node.id}: attach to the replacement at ${moveVolume.device}`,
      executor: 'rr-attach',
      params,
      compensation: { executor: 'rr-detach-new', title: `Detach ${volume} from the replacement` },
    },
    startNew,
    recover,
  ];
  if (terminateOld) steps.push(retire);
  return steps;
}
