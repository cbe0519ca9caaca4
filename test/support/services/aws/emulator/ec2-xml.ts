// EC2's XML answers, element names as the EC2 API reference gives them (lower camel case, lists of
// `<item>` inside `...Set`).
import { EC2_ACCOUNT, INSTANCE_STATE_CODES } from './ec2-state';
import type {
  AttachmentState,
  InstanceState,
  LaunchTemplateState,
  SnapshotState,
  VolumeState,
} from './ec2-state';
import { element, leaf, list } from './xml';

export function attachmentXml(volumeId: string, attachment: AttachmentState): string {
  return [
    leaf('volumeId', volumeId),
    leaf('instanceId', attachment.instanceId),
    leaf('device', attachment.device),
    leaf('status', attachment.state),
    leaf('attachTime', attachment.attachTime),
    leaf('deleteOnTermination', false),
  ].join('');
}

export function volumeXml(volume: VolumeState): string {
  const attachment = volume.attachment;
  return [
    leaf('volumeId', volume.id),
    leaf('size', volume.sizeGiB),
    leaf('availabilityZone', volume.availabilityZone),
    leaf('status', attachment === null ? 'available' : 'in-use'),
    leaf('createTime', volume.createTime),
    list('attachmentSet', 'item', attachment === null ? [] : [attachmentXml(volume.id, attachment)]),
    leaf('volumeType', 'gp3'),
    leaf('encrypted', true),
  ].join('');
}

export function stateXml(name: string, state: string): string {
  return element(name, leaf('code', INSTANCE_STATE_CODES[state] ?? 0), leaf('name', state));
}

export function tagSetXml(tags: Readonly<Record<string, string>>): string {
  const entries = Object.entries(tags);
  return entries.length === 0
    ? ''
    : list(
        'tagSet',
        'item',
        entries.map(([key, value]) => leaf('key', key) + leaf('value', value)),
      );
}

/** The instance; `volumes` are the emulated volumes attached to it (or on their way). */
export function instanceXml(instance: InstanceState, volumes: readonly VolumeState[]): string {
  const rootMappings = instance.devices.map(
    (device) =>
      leaf('deviceName', device) +
      element('ebs', leaf('status', 'attached'), leaf('deleteOnTermination', true)),
  );
  const volumeMappings = volumes.flatMap((volume) =>
    volume.attachment === null
      ? []
      : [
          leaf('deviceName', volume.attachment.device) +
            element(
              'ebs',
              leaf('volumeId', volume.id),
              leaf('status', volume.attachment.state),
              leaf('attachTime', volume.attachment.attachTime),
              leaf('deleteOnTermination', false),
            ),
        ],
  );
  return [
    leaf('instanceId', instance.id),
    instance.launchTemplateId === null ? '' : leaf('imageId', 'ami-0e0000000000000a1'),
    stateXml('instanceState', instance.state),
    leaf('instanceType', 'r6i.xlarge'),
    element('placement', leaf('availabilityZone', instance.availabilityZone)),
    leaf('rootDeviceName', instance.devices[0]),
    list('blockDeviceMapping', 'item', [...rootMappings, ...volumeMappings]),
    tagSetXml(instance.tags),
  ].join('');
}

export function reservationXml(id: string, instances: string[]): string {
  return [
    leaf('reservationId', id),
    leaf('ownerId', EC2_ACCOUNT),
    element('groupSet'),
    list('instancesSet', 'item', instances),
  ].join('');
}

export function snapshotXml(snapshot: SnapshotState, progress: string): string {
  return [
    leaf('snapshotId', snapshot.id),
    leaf('volumeId', snapshot.volumeId),
    leaf('status', snapshot.state),
    snapshot.state === 'error' ? leaf('statusMessage', 'Snapshot creation failed.') : '',
    leaf('startTime', snapshot.startTime),
    leaf('progress', progress),
    leaf('ownerId', EC2_ACCOUNT),
    leaf('volumeSize', snapshot.volumeSize),
    leaf('description', snapshot.description),
    leaf('encrypted', true),
  ].join('');
}

export function launchTemplateXml(template: LaunchTemplateState): string {
  return [
    leaf('launchTemplateId', template.id),
    leaf('launchTemplateName', template.name),
    leaf('createTime', template.createTime),
    leaf('createdBy', `arn:aws:iam::${EC2_ACCOUNT}:user/admin`),
    leaf('defaultVersionNumber', template.defaultVersion),
    leaf('latestVersionNumber', template.latestVersion),
  ].join('');
}

/** One entry of StopInstances/StartInstances/TerminateInstances's instancesSet. */
export function stateChangeXml(instanceId: string, previous: string, current: string): string {
  return (
    leaf('instanceId', instanceId) + stateXml('currentState', current) + stateXml('previousState', previous)
  );
}
