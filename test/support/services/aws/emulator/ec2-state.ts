// The EC2 world the emulator holds: instances, EBS volumes and their attachments, snapshots,
// launch templates and RunInstances reservations. Plain data; ec2.ts changes it.
import type { Scheduled } from './timeline';

export const EC2_ACCOUNT = '123456789012';

/** How long each EC2 transition takes on the emulator's clock. */
export interface Ec2Durations {
  /** stopping → stopped. */
  stopMs: number;
  /** pending → running after StartInstances. */
  startMs: number;
  /** detaching → detached (the volume available). */
  detachMs: number;
  /** attaching → attached. */
  attachMs: number;
  /** A snapshot pending → completed (or error). */
  snapshotMs: number;
  /** A launched instance pending → running. */
  launchMs: number;
  /** shutting-down → terminated. */
  terminateMs: number;
}

export const EC2_DEFAULT_DURATIONS: Readonly<Ec2Durations> = {
  stopMs: 40,
  startMs: 40,
  detachMs: 30,
  attachMs: 30,
  snapshotMs: 60,
  launchMs: 60,
  terminateMs: 30,
};

export interface AttachmentState {
  instanceId: string;
  device: string;
  /** attaching | attached | detaching | busy */
  state: string;
  attachTime: Date;
  change: Scheduled | null;
}

export interface VolumeState {
  id: string;
  availabilityZone: string;
  sizeGiB: number;
  createTime: Date;
  attachment: AttachmentState | null;
  /** A detach that hangs showing this state until DetachVolume with Force. */
  stuckDetach: 'detaching' | 'busy' | null;
  snapshotOutcome: 'completed' | 'error';
}

export interface InstanceState {
  id: string;
  availabilityZone: string;
  /** pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
  /** Devices not backed by an emulated volume (the root device). */
  devices: string[];
  tags: Record<string, string>;
  launchTemplateId: string | null;
  change: Scheduled | null;
}

export interface SnapshotState {
  id: string;
  volumeId: string;
  volumeSize: number;
  description: string;
  startTime: Date;
  durationMs: number;
  state: 'pending' | 'completed' | 'error';
}

export interface LaunchTemplateState {
  id: string;
  name: string;
  availabilityZone: string;
  defaultVersion: number;
  latestVersion: number;
  createTime: Date;
}

export interface Reservation {
  id: string;
  instanceIds: string[];
  /** Every parameter of the first request but ClientToken: a reuse must match it. */
  fingerprint: string;
}

/** EC2's state codes (the low byte of `instanceState.code`). */
export const INSTANCE_STATE_CODES: Readonly<Record<string, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

// EC2 resource ids: a prefix, then 8 or 17 lower-case hex digits.
const ID_PATTERN = /^[0-9a-f]{8}([0-9a-f]{9})?$/;

export function wellFormedId(prefix: string, id: string): boolean {
  return id.startsWith(`${prefix}-`) && ID_PATTERN.test(id.slice(prefix.length + 1));
}
