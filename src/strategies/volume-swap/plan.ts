// Pure planning of a volume swap: stop on the old server, move the volumes, start on the new one.
import type { TargetConfig } from '../../config/types';
import { settingsReader, type PlanOf, type PlannedStep } from '../define';
import { volumeList, volumeSwapConfigSchema, type VolumeSwapSettings } from './config';

export const VOLUME_SWAP = 'volume-swap';

/** The undo executors (volume-swap/undo.ts). */
export type VolumeSwapUndoExecutor = 'vs-start-from' | 'vs-reattach-from' | 'vs-detach-to' | 'vs-stop-to';

/** Every executor a volume-swap plan names. */
export type VolumeSwapExecutor =
  | 'vs-preflight'
  | 'vs-snapshot'
  | 'vs-stop-from'
  | 'vs-detach'
  | 'vs-attach'
  | 'vs-start-to'
  | 'vs-report'
  | 'route'
  | VolumeSwapUndoExecutor;

export const settingsOf = settingsReader<VolumeSwapSettings>(VOLUME_SWAP, volumeSwapConfigSchema);

export function planVolumeSwap(
  target: TargetConfig,
  settings: VolumeSwapSettings = settingsOf(target),
): PlanOf<VolumeSwapExecutor> {
  const { volume, route } = settings;
  const from = volume.from.instanceId;
  const to = volume.to.instanceId;
  const volumes = volumeList(volume);
  const several = volume.volumes.length > 1;
  const steps: PlannedStep<VolumeSwapExecutor>[] = [
    {
      name: 'preflight',
      kind: 'check',
      title: `Preflight: ${volumes} on ${from}, ${to} ready in the same zone, both health checks`,
      executor: 'vs-preflight',
    },
  ];
  if (volume.snapshotBeforeGate) {
    steps.push({
      name: 'snapshot',
      kind: 'action',
      title: `Snapshot of ${volumes} while the database runs (not waited for)`,
      executor: 'vs-snapshot',
    });
  }
  const devices = volume.volumes.map((entry) => `${entry.volumeId} at ${entry.device}`).join(', ');
  steps.push(
    {
      name: 'approve-move',
      kind: 'gate',
      title: `Approve: stop the database on ${from} and move ${volumes} to ${to}`,
      destructive: true,
      explain: `stop the database of ${target.name} on ${from}, prove it is down, detach ${volumes} and attach ${several ? 'them' : 'it'} to ${to} (${devices}), then start the database there and check it serves the same data`,
      warning:
        'Writes stop from now until the database is healthy on the new server. Any failure or abort after the detach re-attaches the volumes to the old server and starts the database there.',
    },
    {
      name: 'stop-database',
      kind: 'action',
      title: `Stop the database on ${from} and prove it is down${volume.snapshot ? `; snapshot ${volumes}` : ''}`,
      executor: 'vs-stop-from',
      compensation: { executor: 'vs-start-from', title: `Start the database on ${from} again` },
    },
    {
      name: 'detach-volume',
      kind: 'action',
      title: `Detach ${volumes} from ${from}`,
      executor: 'vs-detach',
      compensation: { executor: 'vs-reattach-from', title: `Re-attach ${volumes} to ${from}` },
    },
    {
      name: 'attach-volume',
      kind: 'action',
      title: `Attach ${volumes} to ${to}${several ? ', in this order' : ` at ${volume.volumes[0]?.device ?? ''}`}`,
      executor: 'vs-attach',
      compensation: { executor: 'vs-detach-to', title: `Detach ${volumes} from ${to}` },
    },
    {
      name: 'start-database',
      kind: 'action',
      title: `Start the database on ${to}, healthy with the same data`,
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
