// Pure planning of a rolling replacement: for each node, in order, drain, replace, wait until the
// cluster is fully replicated again, pause; gates once or before each node.
import type { TargetConfig } from '../../config/types';
import type { Plan, StepSpec } from '../../engine/types';
import type { RollingReplaceSettings } from './config';

export const ROLLING_REPLACE = 'rolling-replace';

export function settingsOf(target: Pick<TargetConfig, 'settings'>): RollingReplaceSettings {
  return target.settings as unknown as RollingReplaceSettings;
}

export function planRollingReplace(target: TargetConfig): Plan {
  const { cluster } = settingsOf(target);
  const total = cluster.nodes.length;
  const gate = (title: string, explain: string): StepSpec => ({
    name: title.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    kind: 'gate',
    title,
    destructive: true,
    explain,
    warning:
      'A replaced node is not put back automatically; abort stops between nodes with the cluster fully replicated.',
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
    steps.push({
      name: `replace-${index + 1}`,
      kind: 'action',
      title: `Replace ${of}`,
      executor: 'rr-replace',
      params,
    });
    steps.push({
      name: `recover-${index + 1}`,
      kind: 'wait',
      title: `Wait until ${node.id} has rejoined and the cluster is fully replicated`,
      executor: 'rr-recover',
      params,
    });
    if (cluster.pauseBetweenNodes > 0 && index < total - 1) {
      steps.push({
        name: `pause-${index + 1}`,
        kind: 'wait',
        title: 'Pause before the next node',
        executor: 'rr-pause',
        params,
      });
    }
  });
  steps.push({ name: 'report', kind: 'check', title: 'Report', executor: 'rr-report' });
  return { strategy: ROLLING_REPLACE, target: target.name, steps };
}
