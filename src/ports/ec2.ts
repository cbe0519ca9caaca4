// Amazon EC2 as the volume-swap and rolling-replace strategies see it: EBS volumes moving between
// two instances, and replacement instances launched from a launch template.
// Step-shaped like the RDS port: executors describe first, then act only if the world needs it.
// EC2 Attach/Detach are not idempotent; an IncorrectState / VolumeInUse on a retry means "look
// again". This file imports no SDK: executors and their fakes depend on it alone.

export interface VolumeAttachment {
  instanceId: string;
  device: string;
  /** attaching | attached | detaching | detached | busy */
  state: string;
}

export interface VolumeDescription {
  id: string;
  /** creating | available | in-use | deleting | deleted | error */
  state: string;
  availabilityZone: string;
  sizeGiB: number;
  attachments: VolumeAttachment[];
}

export interface InstanceDescription {
  id: string;
  /** pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
  availabilityZone: string;
  /** Device names in use on the instance (block device mappings). */
  devices: string[];
}

export interface SnapshotDescription {
  id: string;
  /** pending | completed | error */
  state: string;
  /** "0%" .. "100%" as EC2 reports it. */
  progress: string;
}

/** A launch template by id or by name, and the version to launch (default: the template's default). */
export type LaunchTemplateRef = ({ id: string } | { name: string }) & { version?: string };

export interface LaunchTemplateDescription {
  id: string;
  name: string;
  defaultVersion: number;
  latestVersion: number;
}

export interface LaunchRequest {
  launchTemplate: LaunchTemplateRef;
  /**
   * EC2's own idempotency key (at most 64 ASCII characters): RunInstances with a token already used
   * returns the instance of that first call instead of launching another one.
   */
  clientToken: string;
  tags: Record<string, string>;
}

export interface Ec2Port {
  describeVolume(region: string, volumeId: string): Promise<VolumeDescription | null>;
  describeInstance(region: string, instanceId: string): Promise<InstanceDescription | null>;
  /** DryRun of DetachVolume and AttachVolume: resolves when EC2 says the caller may do both. */
  checkPermissions(region: string, volumeId: string, from: string, to: string, device: string): Promise<void>;
  /** DryRun of CreateSnapshot: resolves when EC2 says the caller may snapshot the volume. */
  checkSnapshotPermission(region: string, volumeId: string): Promise<void>;
  createSnapshot(region: string, volumeId: string, description: string): Promise<string>;
  describeSnapshot(region: string, snapshotId: string): Promise<SnapshotDescription | null>;
  detachVolume(region: string, volumeId: string, instanceId: string, force: boolean): Promise<void>;
  attachVolume(region: string, volumeId: string, instanceId: string, device: string): Promise<void>;
  stopInstance(region: string, instanceId: string): Promise<void>;
  startInstance(region: string, instanceId: string): Promise<void>;
  /** The launch template, or null when EC2 does not know it. */
  describeLaunchTemplate(
    region: string,
    template: LaunchTemplateRef,
  ): Promise<LaunchTemplateDescription | null>;
  /** DryRun of RunInstances from the template: resolves when EC2 says the caller may launch it. */
  checkLaunchPermission(region: string, template: LaunchTemplateRef): Promise<void>;
  /**
   * RunInstances of one instance from the template with the client token and the tags; returns the
   * instance (the same one again for a token already used).
   */
  runInstance(region: string, request: LaunchRequest): Promise<InstanceDescription>;
  terminateInstance(region: string, instanceId: string): Promise<void>;
}
