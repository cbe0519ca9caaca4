// The volumes of one database moving together: detached all at once (one look at each, in
// parallel), attached one after the other in the configured order (a RAID or LVM set assembles the
// same way on every boot, the WAL volume after the data volume), each recorded by volume id.
import type { JsonObject } from '../../engine/types';
import type { Ec2Port } from '../../ports/ec2';
import type { SwapVolume } from './config';
import { lookAttach, lookDetach, volumeRecord } from './ec2-steps';

export type VolumeRecords = Record<string, JsonObject>;

/** A volume not where it should be yet: its state and since when it is on its way. */
export interface Pending {
  volumeId: string;
  state: string;
  /** When the request that moves it went out (a force detach counts anew), null: none went out. */
  sinceMs: number | null;
  /** Attached to another instance than the one asked about. */
  elsewhere?: string | null;
}

export interface SetLook {
  done: boolean;
  volumes: VolumeRecords;
  pending: Pending[];
}

/** `fn` run at most once however many callers wait for it (the proof before the first detach). */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= fn());
}

/**
 * One look at every volume leaving `instanceId`; a detach goes out for each still attached (after
 * `beforeSend`, once), a forced one for those in `force`.
 */
export async function lookDetachSet(
  ec2: Ec2Port,
  volume: SwapVolume,
  instanceId: string,
  recorded: VolumeRecords,
  nowMs: number,
  options: { force?: readonly string[]; beforeSend?: () => Promise<void> } = {},
): Promise<SetLook> {
  const looks = await Promise.all(
    volume.volumes.map(async ({ volumeId, device }) => {
      const look = await lookDetach(
        ec2,
        { region: volume.region, volumeId },
        instanceId,
        recorded[volumeId] ?? {},
        nowMs,
        {
          force: options.force?.includes(volumeId) ?? false,
          ...(options.beforeSend ? { beforeSend: options.beforeSend } : {}),
        },
      );
      return { volumeId, device, look };
    }),
  );
  const volumes: VolumeRecords = {};
  const pending: Pending[] = [];
  for (const { volumeId, look } of looks) {
    if (look.detached) {
      volumes[volumeId] = { volume: 'available' };
      continue;
    }
    volumes[volumeId] = look.progress;
    pending.push({
      volumeId,
      state: look.state,
      sinceMs: volumeRecord.parse(look.progress).forcedAtMs ?? look.sentAtMs,
    });
  }
  return { done: pending.length === 0, volumes, pending };
}

/**
 * One look at the set going onto `instanceId`, in order: each volume is attached only once the one
 * before it shows attached. `pending` names the volume waited for (at most one).
 */
export async function lookAttachSet(
  ec2: Ec2Port,
  volume: SwapVolume,
  instanceId: string,
  recorded: VolumeRecords,
  nowMs: number,
): Promise<SetLook> {
  const volumes: VolumeRecords = { ...recorded };
  for (const { volumeId, device } of volume.volumes) {
    const look = await lookAttach(
      ec2,
      { region: volume.region, volumeId, device },
      instanceId,
      recorded[volumeId] ?? {},
      nowMs,
    );
    if (look.attached) {
      volumes[volumeId] = { attachment: 'attached' };
      continue;
    }
    volumes[volumeId] = look.progress;
    return {
      done: false,
      volumes,
      pending: [{ volumeId, state: look.state, sinceMs: look.sentAtMs, elsewhere: look.elsewhere }],
    };
  }
  return { done: true, volumes, pending: [] };
}

/** "vol-a (detaching for 12 s)" for messages. */
export function describePending(pending: readonly Pending[], nowMs: number): string {
  return pending
    .map(({ volumeId, state, sinceMs, elsewhere }) => {
      const where = elsewhere ? ` on ${elsewhere}` : '';
      const since = sinceMs === null ? '' : ` for ${Math.round((nowMs - sinceMs) / 1000)} s`;
      return `${volumeId} (${state}${where}${since})`;
    })
    .join(', ');
}
