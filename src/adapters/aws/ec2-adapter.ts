// Ec2Port on the AWS SDK v3. Clients come from the SDK's standard configuration: the region of the
// target, the default credential chain, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_EC2 read by the SDK
// itself. Nothing here names an endpoint or a credential. No waiting here: executors poll the
// describe methods (volume-swap steps are step-shaped, each decides from what it sees).
import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Instance, LaunchTemplateSpecification, Snapshot, Volume } from '@aws-sdk/client-ec2';
import type {
  Ec2Port,
  InstanceDescription,
  LaunchRequest,
  LaunchTemplateDescription,
  LaunchTemplateRef,
  SnapshotDescription,
  VolumeDescription,
} from '../../ports/ec2';
import { classifyEc2Error } from './ec2-errors';
import { AwsRefusal } from '../../ports/aws-refusal';
import { RegionalClients } from './regional-clients';

export type Ec2ClientFactory = (region: string) => EC2Client;

/** The SDK's standard retry mode: throttling and transient errors back off and retry. */
export const EC2_CLIENT_RETRY = { retryMode: 'standard', maxAttempts: 5 } as const;

export const defaultEc2ClientFactory: Ec2ClientFactory = (region) =>
  new EC2Client({ region, ...EC2_CLIENT_RETRY });

export interface AwsEc2AdapterOptions {
  ec2Client?: Ec2ClientFactory;
}

export function toVolumeDescription(volume: Volume): VolumeDescription {
  return {
    id: volume.VolumeId ?? '',
    state: volume.State ?? 'unknown',
    availabilityZone: volume.AvailabilityZone ?? '',
    sizeGiB: volume.Size ?? 0,
    attachments: (volume.Attachments ?? []).map((attachment) => ({
      instanceId: attachment.InstanceId ?? '',
      device: attachment.Device ?? '',
      state: attachment.State ?? 'unknown',
    })),
  };
}

export function toInstanceDescription(instance: Instance): InstanceDescription {
  return {
    id: instance.InstanceId ?? '',
    state: instance.State?.Name ?? 'unknown',
    availabilityZone: instance.Placement?.AvailabilityZone ?? '',
    devices: (instance.BlockDeviceMappings ?? [])
      .map((mapping) => mapping.DeviceName)
      .filter((name): name is string => name !== undefined && name !== ''),
  };
}

export function toSnapshotDescription(snapshot: Snapshot): SnapshotDescription {
  return {
    id: snapshot.SnapshotId ?? '',
    state: snapshot.State ?? 'unknown',
    progress: snapshot.Progress ?? '0%',
  };
}

/** The SDK's launch template specification; the version defaults to the template's default. */
export function toLaunchTemplateSpecification(template: LaunchTemplateRef): LaunchTemplateSpecification {
  return {
    ...('id' in template ? { LaunchTemplateId: template.id } : { LaunchTemplateName: template.name }),
    Version: template.version ?? '$Default',
  };
}

interface DryRunCheck {
  action: string;
  what: string;
  run: () => Promise<unknown>;
}

export class AwsEc2Adapter implements Ec2Port {
  private readonly clients: RegionalClients<EC2Client>;

  constructor(options: AwsEc2AdapterOptions = {}) {
    this.clients = new RegionalClients(options.ec2Client ?? defaultEc2ClientFactory);
  }

  /** The cached client of a region (one per region for the adapter's lifetime). */
  ec2(region: string): EC2Client {
    return this.clients.of(region);
  }

  /** Closes every client's sockets (worker shutdown). */
  destroy(): void {
    this.clients.destroy();
  }

  async describeVolume(region: string, volumeId: string): Promise<VolumeDescription | null> {
    try {
      const output = await this.ec2(region).send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
      const volume = output.Volumes?.find((candidate) => candidate.VolumeId === volumeId);
      return volume === undefined ? null : toVolumeDescription(volume);
    } catch (error) {
      return nullIfNotFound(error);
    }
  }

  async describeInstance(region: string, instanceId: string): Promise<InstanceDescription | null> {
    try {
      const output = await this.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const instance = (output.Reservations ?? [])
        .flatMap((reservation) => reservation.Instances ?? [])
        .find((candidate) => candidate.InstanceId === instanceId);
      return instance === undefined ? null : toInstanceDescription(instance);
    } catch (error) {
      return nullIfNotFound(error);
    }
  }

  /**
   * DryRun of DetachVolume (volume from `from`) and AttachVolume (volume to `to` at `device`). Both
   * are asked even when the first is refused, so one answer names every missing permission.
   */
  async checkPermissions(
    region: string,
    volumeId: string,
    from: string,
    to: string,
    device: string,
  ): Promise<void> {
    const client = this.ec2(region);
    const checks: DryRunCheck[] = [
      {
        action: 'ec2:DetachVolume',
        what: `${volumeId} from ${from}`,
        run: () =>
          client.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: from, DryRun: true })),
      },
      {
        action: 'ec2:AttachVolume',
        what: `${volumeId} to ${to} at ${device}`,
        run: () =>
          client.send(
            new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: to, Device: device, DryRun: true }),
          ),
      },
    ];
    await this.dryRuns(checks);
  }

  /** DryRun of CreateSnapshot of the volume: resolves when EC2 says the caller may snapshot it. */
  async checkSnapshotPermission(region: string, volumeId: string): Promise<void> {
    const client = this.ec2(region);
    await this.dryRuns([
      {
        action: 'ec2:CreateSnapshot',
        what: volumeId,
        run: () => client.send(new CreateSnapshotCommand({ VolumeId: volumeId, DryRun: true })),
      },
    ]);
  }

  /** Runs every DryRun check; throws one `unauthorized` refusal naming all the denied ones. */
  private async dryRuns(checks: readonly DryRunCheck[]): Promise<void> {
    const denied: { check: DryRunCheck; refusal: AwsRefusal }[] = [];
    for (const check of checks) {
      let refusal: AwsRefusal;
      try {
        await check.run();
        // A DryRun request that "succeeds" was not a dry run: never treat that as a permission answer.
        refusal = new AwsRefusal(
          'other',
          `${check.action} DryRun (${check.what}) answered without DryRunOperation`,
          { retryable: false, awsCode: null },
        );
      } catch (error) {
        refusal = classifyEc2Error(error);
      }
      if (refusal.code === 'dry_run_ok') continue;
      if (refusal.code !== 'unauthorized') throw refusal;
      denied.push({ check, refusal });
    }
    const first = denied[0];
    if (first === undefined) return;
    const names = denied.map(({ check }) => `${check.action} (${check.what})`).join(', ');
    throw new AwsRefusal('unauthorized', `not authorized to perform ${names}: ${first.refusal.message}`, {
      retryable: false,
      awsCode: first.refusal.awsCode ?? null,
      cause: first.refusal.cause,
    });
  }

  async createSnapshot(region: string, volumeId: string, description: string): Promise<string> {
    let snapshotId: string | undefined;
    try {
      const output = await this.ec2(region).send(
        new CreateSnapshotCommand({ VolumeId: volumeId, Description: description }),
      );
      snapshotId = output.SnapshotId;
    } catch (error) {
      throw classifyEc2Error(error);
    }
    if (snapshotId === undefined || snapshotId === '') {
      throw new AwsRefusal('other', `CreateSnapshot of ${volumeId} returned no SnapshotId`, {
        awsCode: null,
      });
    }
    return snapshotId;
  }

  async describeSnapshot(region: string, snapshotId: string): Promise<SnapshotDescription | null> {
    try {
      const output = await this.ec2(region).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
      const snapshot = output.Snapshots?.find((candidate) => candidate.SnapshotId === snapshotId);
      return snapshot === undefined ? null : toSnapshotDescription(snapshot);
    } catch (error) {
      return nullIfNotFound(error);
    }
  }

  async detachVolume(region: string, volumeId: string, instanceId: string, force: boolean): Promise<void> {
    try {
      await this.ec2(region).send(
        new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Force: force }),
      );
    } catch (error) {
      throw classifyEc2Error(error);
    }
  }

  async attachVolume(region: string, volumeId: string, instanceId: string, device: string): Promise<void> {
    try {
      await this.ec2(region).send(
        new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }),
      );
    } catch (error) {
      throw classifyEc2Error(error);
    }
  }

  async stopInstance(region: string, instanceId: string): Promise<void> {
    try {
      await this.ec2(region).send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (error) {
      throw classifyEc2Error(error);
    }
  }

  async startInstance(region: string, instanceId: string): Promise<void> {
    try {
      await this.ec2(region).send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (error) {
      throw classifyEc2Error(error);
    }
  }

  async describeLaunchTemplate(
    region: string,
    template: LaunchTemplateRef,
  ): Promise<LaunchTemplateDescription | null> {
    try {
      const output = await this.ec2(region).send(
        new DescribeLaunchTemplatesCommand(
          'id' in template ? { LaunchTemplateIds: [template.id] } : { LaunchTemplateNames: [template.name] },
        ),
      );
      const found = output.LaunchTemplates?.[0];
      if (found === undefined) return null;
      return {
        id: found.LaunchTemplateId ?? '',
        name: found.LaunchTemplateName ?? '',
        defaultVersion: found.DefaultVersionNumber ?? 0,
        latestVersion: found.LatestVersionNumber ?? 0,
      };
    } catch (error) {
      return nullIfNotFound(error);
    }
  }

  async checkLaunchPermission(region: string, template: LaunchTemplateRef): Promise<void> {
    let refusal: AwsRefusal;
    try {
      await this.ec2(region).send(
        new RunInstancesCommand({
          LaunchTemplate: toLaunchTemplateSpecification(template),
          MinCount: 1,
          MaxCount: 1,
          DryRun: true,
        }),
      );
      refusal = new AwsRefusal('other', 'RunInstances DryRun answered without DryRunOperation', {
        retryable: false,
        awsCode: null,
      });
    } catch (error) {
      refusal = classifyEc2Error(error);
    }
    if (refusal.code !== 'dry_run_ok') throw refusal;
  }

  async runInstance(region: string, request: LaunchRequest): Promise<InstanceDescription> {
    let instance: Instance | undefined;
    try {
      const output = await this.ec2(region).send(
        new RunInstancesCommand({
          LaunchTemplate: toLaunchTemplateSpecification(request.launchTemplate),
          MinCount: 1,
          MaxCount: 1,
          ClientToken: request.clientToken,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })),
            },
          ],
        }),
      );
      instance = output.Instances?.[0];
    } catch (error) {
      throw classifyEc2Error(error);
    }
    if (instance?.InstanceId === undefined || instance.InstanceId === '') {
      throw new AwsRefusal('other', 'RunInstances returned no instance', { awsCode: null });
    }
    return toInstanceDescription(instance);
  }

  async terminateInstance(region: string, instanceId: string): Promise<void> {
    try {
      await this.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    } catch (error) {
      throw classifyEc2Error(error);
    }
  }
}

function nullIfNotFound(error: unknown): null {
  const refusal = classifyEc2Error(error);
  if (refusal.code === 'not_found') return null;
  throw refusal;
}
