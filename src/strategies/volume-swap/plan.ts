// Pure planning of a volume swap: stop on the old server, move the volume, start on the new one.
import type { TargetConfig } from '../../config/types';
import type { Plan, StepSpec } from '../../engine/types';
import type { VolumeSwapSettings } from './config';

export const VOLUME_SWAP = 'volume-swap';

export function settingsOf(target: Pick<TargetConfig, 'settings'>): VolumeSwapSettings {
  return target.settings as unknown as VolumeSwapSettings;
}

export function planVolumeSwap(target: TargetConfig): Plan {
  const { volume, route } = settingsOf(target);
  const from = volume.from.instanceId;
  const to = volume.to.instanceId;
  const steps: StepSpec[] = [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: ${volume.volumeId} on ${from}, ${to} ready in the same zone`,
      executor: 'vs-preflight',
    },
  ];
  if (volume.snapshot) {
    steps.push({
      name: 'snapshot',
      kind: 'action',
      title: `Safety snapshot of ${volume.volumeId}`,
      executor: 'vs-snapshot',
    });
  }
  steps.push(
    {
      name: 'approve-move',
      kind: 'gate',
      title: `Approve: stop the database on ${from} and move ${volume.volumeId} to ${to}`,
      destructive: true,
      explain: `stop the database of ${target.name} on ${from}, detach ${volume.volumeId} and attach it to ${to} at ${volume.device}, then start the database there`,
      warning:
        'Writes stop from now until the database is healthy on the new server. Any failure or abort after the detach re-attaches the volume to the old server and starts the database there.',
    },
    {
      name: 'stop-database',
      kind: 'action',
      title: `Stop the database on ${from}`,
      executor: 'vs-stop-from',
      compensation: { executor: 'vs-start-from', title: `Start the database on ${from} again` },
    },
    {
      name: 'detach-volume',
      kind: 'action',
      title: `Detach ${volume.volumeId} from ${from}`,
      executor: 'vs-detach',
      compensation: { executor: 'vs-reattach-from', title: `Re-attach ${volume.volumeId} to ${from}` },
    },
    {
      name: 'attach-volume',
      kind: 'action',
      title: `Attach ${volume.volumeId} to ${to} at ${volume.device}`,
      executor: 'vs-attach',
      compensation: { executor: 'vs-detach-to', title: `Detach ${volume.volumeId} from ${to}` },
    },
    {
      name: 'start-database',
      kind: 'action',
      title: `Start the database on ${to}`,
      executor: 'vs-start-to',
      compensation: { executor: 'vs-stop-to', title: `Stop the database on ${to}` },
    },
  );
  if (route)
    steps.push({
      name: 'route-traffic',
      kind: 'action',
      title: 'Route traffic to the new server',
      executor: 'route',
    });
  steps.push({ name: 'report', kind: 'check', title: 'Report', executor: 'vs-report' });
  return { strategy: VOLUME_SWAP, target: target.name, steps };
}
