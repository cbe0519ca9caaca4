// Amazon EC2 over its Query protocol: the calls the EC2 adapter makes (volumes, instances,
// snapshots, launch templates, RunInstances), with EC2's own rules:
//  - transitions take time on the emulator's clock (stopping → stopped, attaching → attached, ...);
//  - DryRun=true answers DryRunOperation (412) after the existence and permission checks and
//    before the state checks (a DryRun attach of an in-use volume "would have succeeded");
//  - RunInstances honours ClientToken: the same token with the same parameters returns the first
//    reservation, with other parameters IdempotentParameterMismatch;
//  - ids must be well formed (InvalidVolumeID.Malformed, ...), unknown ones are NotFound;
//  - throttling is RequestLimitExceeded with HTTP 503, a missing permission UnauthorizedOperation 403.
// One world for every region (requests are recorded with the region they were signed for).
import { AwsError, invalidParameterValue } from './aws-error';
import {
  attachmentXml,
  instanceXml,
  launchTemplateXml,
  reservationXml,
  snapshotXml,
  stateChangeXml,
  volumeXml,
} from './ec2-xml';
import { EC2_ACCOUNT, EC2_DEFAULT_DURATIONS, wellFormedId } from './ec2-state';
import type {
  AttachmentState,
  Ec2Durations,
  InstanceState,
  LaunchTemplateState,
  Reservation,
  SnapshotState,
  VolumeState,
} from './ec2-state';
import { EmulatedServiceBase } from './emulated-service';
import { QueryProtocol } from './query-protocol';
import type { QueryParams } from './query-params';
import type { Timeline } from './timeline';
import { list } from './xml';

export { EC2_ACCOUNT, EC2_DEFAULT_DURATIONS };
export type { Ec2Durations };

export interface Ec2InstanceOptions {
  availabilityZone?: string;
  state?: string;
  /** Devices not backed by an emulated volume (the root device first). Default ['/dev/xvda']. */
  devices?: string[];
}

export interface Ec2VolumeOptions {
  availabilityZone?: string;
  sizeGiB?: number;
  /** Attached (volume in-use, attachment attached) from the start. */
  attachedTo?: { instanceId: string; device: string };
  /** A detach that hangs in this state until it is forced. */
  stuckDetach?: 'detaching' | 'busy';
  /** How a snapshot of the volume ends. Default completed. */
  snapshotOutcome?: 'completed' | 'error';
}

export interface Ec2LaunchTemplateOptions {
  /** Default `lt-` and 17 digits from the order of creation. */
  id?: string;
  /** Zone of the instances it launches (its subnet's). Default the region's zone a. */
  availabilityZone?: string;
  /** Versions 1..latestVersion exist. Default 1. */
  latestVersion?: number;
}

/** What a test sees of a volume (EC2's fields, not the SDK's types). */
export interface VolumeView {
  id: string;
  state: 'available' | 'in-use';
  availabilityZone: string;
  sizeGiB: number;
  attachments: { instanceId: string; device: string; state: string }[];
}

export interface InstanceView {
  id: string;
  state: string;
  availabilityZone: string;
  tags: Record<string, string>;
}

export interface SnapshotView {
  id: string;
  volumeId: string;
  state: string;
  progress: string;
  description: string;
}

/** The actions that change the world (the others only read it). */
const MUTATING = new Set([
  'CreateSnapshot',
  'DetachVolume',
  'AttachVolume',
  'StopInstances',
  'StartInstances',
  'RunInstances',
  'TerminateInstances',
]);

/** For call filters: the call was a DryRun request. */
export function isDryRun(params: Readonly<Record<string, unknown>>): boolean {
  return params['DryRun'] === 'true';
}

export function ec2Error(code: string, status: number, message: string): AwsError {
  return new AwsError(code, status, message);
}

export function unauthorizedOperationMessage(action: string): string {
  return `You are not authorized to perform this operation. User: arn:aws:iam::${EC2_ACCOUNT}:user/cutover-bot is not authorized to perform: ec2:${action} because no identity-based policy allows the ec2:${action} action.`;
}

export class Ec2Emulator extends EmulatedServiceBase<QueryParams> {
  readonly signingName = 'ec2';
  protected readonly protocol = new QueryProtocol({
    kind: 'ec2',
    version: '2016-11-15',
    xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  });
  protected override readonly permissionCheckedByAction = true;
  protected readonly handlers: Readonly<Record<string, (params: QueryParams) => string>> = {
    DescribeVolumes: (params) => this.describeVolumes(params),
    DescribeInstances: (params) => this.describeInstances(params),
    DescribeSnapshots: (params) => this.describeSnapshots(params),
    DescribeLaunchTemplates: (params) => this.describeLaunchTemplates(params),
    CreateSnapshot: (params) => this.createSnapshot(params),
    DetachVolume: (params) => this.detachVolume(params),
    AttachVolume: (params) => this.attachVolume(params),
    StopInstances: (params) => this.stopInstances(params),
    StartInstances: (params) => this.startInstances(params),
    RunInstances: (params) => this.runInstances(params),
    TerminateInstances: (params) => this.terminateInstances(params),
  };

  private durations: Ec2Durations;
  private readonly volumes = new Map<string, VolumeState>();
  private readonly instances = new Map<string, InstanceState>();
  private readonly snapshots = new Map<string, SnapshotState>();
  private readonly templates = new Map<string, LaunchTemplateState>();
  private readonly reservations = new Map<string, Reservation>();
  private capacity = true;
  private sequence = 0;
  /** Instances RunInstances created, in order. */
  readonly launched: string[] = [];

  constructor(
    timeline: Timeline,
    readonly region: string,
    durations: Partial<Ec2Durations> = {},
  ) {
    super(timeline);
    this.durations = { ...EC2_DEFAULT_DURATIONS, ...durations };
  }

  get defaultZone(): string {
    return `${this.region}a`;
  }

  /** An empty world with these durations; calls, faults and permissions forgotten. */
  reset(durations: Partial<Ec2Durations> = {}): this {
    this.resetBase();
    this.durations = { ...EC2_DEFAULT_DURATIONS, ...durations };
    for (const store of [this.volumes, this.instances, this.snapshots, this.templates, this.reservations]) {
      store.clear();
    }
    this.launched.length = 0;
    this.capacity = true;
    this.sequence = 0;
    return this;
  }

  // ---- setup --------------------------------------------------------------------------------

  addInstance(id: string, options: Ec2InstanceOptions = {}): this {
    mustBeWellFormed('i', id);
    this.instances.set(id, {
      id,
      availabilityZone: options.availabilityZone ?? this.defaultZone,
      state: options.state ?? 'running',
      devices: options.devices ?? ['/dev/xvda'],
      tags: {},
      launchTemplateId: null,
      change: null,
    });
    return this;
  }

  addVolume(id: string, options: Ec2VolumeOptions = {}): this {
    mustBeWellFormed('vol', id);
    const attachedTo = options.attachedTo;
    if (attachedTo !== undefined) this.mustInstance(attachedTo.instanceId);
    this.volumes.set(id, {
      id,
      availabilityZone: options.availabilityZone ?? this.defaultZone,
      sizeGiB: options.sizeGiB ?? 100,
      createTime: new Date(this.timeline.now() - 86_400_000),
      attachment:
        attachedTo === undefined
          ? null
          : {
              ...attachedTo,
              state: 'attached',
              attachTime: new Date(this.timeline.now() - 86_400_000),
              change: null,
            },
      stuckDetach: options.stuckDetach ?? null,
      snapshotOutcome: options.snapshotOutcome ?? 'completed',
    });
    return this;
  }

  addLaunchTemplate(name: string, options: Ec2LaunchTemplateOptions = {}): this {
    const id = options.id ?? `lt-${String(this.templates.size + 1).padStart(17, '0')}`;
    mustBeWellFormed('lt', id);
    this.templates.set(id, {
      id,
      name,
      availabilityZone: options.availabilityZone ?? this.defaultZone,
      defaultVersion: 1,
      latestVersion: options.latestVersion ?? 1,
      createTime: new Date(this.timeline.now() - 86_400_000),
    });
    return this;
  }

  /** While false, RunInstances answers InsufficientInstanceCapacity and launches nothing. */
  setCapacity(available: boolean): this {
    this.capacity = available;
    return this;
  }

  /** A later detach of the volume hangs (`detaching` or `busy`) until a forced detach. */
  stickDetach(volumeId: string, showing: 'detaching' | 'busy' = 'detaching'): this {
    this.mustVolume(volumeId).stuckDetach = showing;
    return this;
  }

  /** Sets an instance's state now, dropping any transition under way. */
  setInstanceState(id: string, state: string): this {
    const instance = this.mustInstance(id);
    instance.change?.cancel();
    instance.change = null;
    instance.state = state;
    return this;
  }

  // ---- inspection (the world as EC2 shows it now) --------------------------------------------

  volume(id: string): VolumeView | undefined {
    this.settle();
    const volume = this.volumes.get(id);
    if (volume === undefined) return undefined;
    const attachment = volume.attachment;
    return {
      id,
      state: attachment === null ? 'available' : 'in-use',
      availabilityZone: volume.availabilityZone,
      sizeGiB: volume.sizeGiB,
      attachments:
        attachment === null
          ? []
          : [{ instanceId: attachment.instanceId, device: attachment.device, state: attachment.state }],
    };
  }

  instance(id: string): InstanceView | undefined {
    this.settle();
    const instance = this.instances.get(id);
    if (instance === undefined) return undefined;
    return {
      id,
      state: instance.state,
      availabilityZone: instance.availabilityZone,
      tags: { ...instance.tags },
    };
  }

  snapshot(id: string): SnapshotView | undefined {
    this.settle();
    const snapshot = this.snapshots.get(id);
    if (snapshot === undefined) return undefined;
    return {
      id,
      volumeId: snapshot.volumeId,
      state: snapshot.state,
      progress: this.progressOf(snapshot),
      description: snapshot.description,
    };
  }

  snapshotIds(): string[] {
    return [...this.snapshots.keys()];
  }

  tagsOf(id: string): Record<string, string> {
    return { ...this.mustInstance(id).tags };
  }

  /**
   * One line per call ('DetachVolume vol-... i-... force=false', a refused one with ' -> Code').
   * Describes are left out unless asked for: polling makes them noise.
   */
  history(options: { describes?: boolean } = {}): string[] {
    return this.calls
      .filter((call) => options.describes === true || MUTATING.has(call.action))
      .map((call) => (call.outcome === 'ok' ? call.summary : `${call.summary} -> ${call.outcome}`));
  }

  /** The calls that acted on the world: successful, not DryRun, not describes. */
  actions(): string[] {
    return this.calls
      .filter((call) => MUTATING.has(call.action) && call.outcome === 'ok')
      .map((call) => call.summary);
  }

  // ---- the service's rules ------------------------------------------------------------------

  protected throttlingError(): AwsError {
    return ec2Error('RequestLimitExceeded', 503, 'Request limit exceeded.');
  }

  protected notAuthorized(action: string): AwsError {
    return ec2Error('UnauthorizedOperation', 403, unauthorizedOperationMessage(action));
  }

  protected authenticationFailure(reason: 'missing' | 'unknown-key' | 'bad-signature'): AwsError {
    return ec2Error(
      'AuthFailure',
      401,
      reason === 'bad-signature'
        ? 'AWS was not able to validate the provided access credentials (signature mismatch)'
        : 'AWS was not able to validate the provided access credentials',
    );
  }

  protected summarize(action: string, params: Readonly<Record<string, unknown>>): string {
    const get = (key: string): string => textOf(params[key]);
    const ids = (key: string): string => {
      const values = Object.keys(params)
        .filter((name) => new RegExp(`^${key}\\.\\d+$`).test(name))
        .map((name) => textOf(params[name]));
      return values.length === 0 ? '*' : values.join(',');
    };
    const dryRun = isDryRun(params) ? ' dryRun' : '';
    switch (action) {
      case 'DescribeVolumes':
        return `DescribeVolumes ${ids('VolumeId')}`;
      case 'DescribeInstances':
        return `DescribeInstances ${ids('InstanceId')}`;
      case 'DescribeSnapshots':
        return `DescribeSnapshots ${ids('SnapshotId')}`;
      case 'DescribeLaunchTemplates':
        return `DescribeLaunchTemplates ${ids('LaunchTemplateId')} ${ids('LaunchTemplateName')}`;
      case 'CreateSnapshot':
        return `CreateSnapshot ${get('VolumeId')}${dryRun}`;
      case 'DetachVolume':
        return `DetachVolume ${get('VolumeId')} ${get('InstanceId')} force=${String(params['Force'] === 'true')}${dryRun}`;
      case 'AttachVolume':
        return `AttachVolume ${get('VolumeId')} ${get('InstanceId')} ${get('Device')}${dryRun}`;
      case 'RunInstances': {
        const template =
          get('LaunchTemplate.LaunchTemplateId') || get('LaunchTemplate.LaunchTemplateName') || '?';
        return `RunInstances ${template} token=${get('ClientToken')}${dryRun}`;
      }
      default:
        return `${action} ${ids('InstanceId')}${dryRun}`;
    }
  }

  /** Permission, then DryRun: what EC2 checks once it has found what the request names. */
  private permitted(action: string, params: QueryParams): void {
    this.authorize(action);
    if (params.bool('DryRun') === true) {
      throw ec2Error('DryRunOperation', 412, 'Request would have succeeded, but DryRun flag is set.');
    }
  }

  private describeVolumes(params: QueryParams): string {
    this.authorize('DescribeVolumes');
    const ids = params.list('VolumeId');
    const found = ids.length === 0 ? [...this.volumes.values()] : ids.map((id) => this.volumeFor(id));
    return list('volumeSet', 'item', found.map(volumeXml));
  }

  private describeInstances(params: QueryParams): string {
    this.authorize('DescribeInstances');
    const ids = params.list('InstanceId');
    const found = ids.length === 0 ? [...this.instances.values()] : ids.map((id) => this.instanceFor(id));
    const reservations = found.map((instance) =>
      reservationXml(`r-0e${instance.id.slice(-15)}`, [instanceXml(instance, this.volumesOn(instance.id))]),
    );
    return list('reservationSet', 'item', reservations);
  }

  private describeSnapshots(params: QueryParams): string {
    this.authorize('DescribeSnapshots');
    const ids = params.list('SnapshotId');
    const found = ids.length === 0 ? [...this.snapshots.values()] : ids.map((id) => this.snapshotFor(id));
    return list(
      'snapshotSet',
      'item',
      found.map((snapshot) => snapshotXml(snapshot, this.progressOf(snapshot))),
    );
  }

  private describeLaunchTemplates(params: QueryParams): string {
    this.authorize('DescribeLaunchTemplates');
    const ids = params.list('LaunchTemplateId');
    const names = params.list('LaunchTemplateName');
    const found =
      ids.length === 0 && names.length === 0
        ? [...this.templates.values()]
        : [...ids.map((id) => this.templateFor({ id })), ...names.map((name) => this.templateFor({ name }))];
    return list('launchTemplates', 'item', found.map(launchTemplateXml));
  }

  private createSnapshot(params: QueryParams): string {
    const volume = this.volumeFor(params.required('VolumeId'));
    this.permitted('CreateSnapshot', params);
    this.sequence += 1;
    const snapshot: SnapshotState = {
      id: `snap-${String(this.sequence).padStart(17, '0')}`,
      volumeId: volume.id,
      volumeSize: volume.sizeGiB,
      description: params.string('Description') ?? '',
      startTime: new Date(this.timeline.now()),
      durationMs: this.durations.snapshotMs,
      state: 'pending',
    };
    this.snapshots.set(snapshot.id, snapshot);
    this.timeline.after(snapshot.durationMs, () => {
      snapshot.state = volume.snapshotOutcome;
    });
    return snapshotXml(snapshot, this.progressOf(snapshot));
  }

  private detachVolume(params: QueryParams): string {
    const volume = this.volumeFor(params.required('VolumeId'));
    const instanceId = params.string('InstanceId');
    if (instanceId !== undefined) this.instanceFor(instanceId);
    this.permitted('DetachVolume', params);
    const attachment = volume.attachment;
    if (attachment === null) {
      throw ec2Error('IncorrectState', 400, `Volume '${volume.id}' is in the 'available' state.`);
    }
    if (instanceId !== undefined && instanceId !== attachment.instanceId) {
      throw ec2Error(
        'InvalidAttachment.NotFound',
        400,
        `Volume ${volume.id} can not be detached from ${instanceId} because it is not attached`,
      );
    }
    const device = params.string('Device');
    if (device !== undefined && device !== attachment.device) {
      throw ec2Error(
        'InvalidAttachment.NotFound',
        400,
        `Volume ${volume.id} is not attached at ${device} on ${attachment.instanceId}`,
      );
    }
    const force = params.bool('Force') === true;
    if (attachment.state === 'attaching' && !force) {
      throw ec2Error('IncorrectState', 400, `Volume '${volume.id}' is in the 'attaching' state.`);
    }
    const underWay = attachment.state === 'detaching' || attachment.state === 'busy';
    // A repeated plain detach changes nothing: the first one is still under way (or stuck).
    if (underWay && !force) return attachmentXml(volume.id, attachment);
    attachment.change?.cancel();
    if (volume.stuckDetach !== null && !force) {
      attachment.state = volume.stuckDetach;
      attachment.change = null;
    } else {
      attachment.state = 'detaching';
      attachment.change = this.timeline.after(this.durations.detachMs, () => {
        if (volume.attachment === attachment) volume.attachment = null;
      });
    }
    return attachmentXml(volume.id, attachment);
  }

  private attachVolume(params: QueryParams): string {
    const volume = this.volumeFor(params.required('VolumeId'));
    const instance = this.instanceFor(params.required('InstanceId'));
    const device = params.required('Device');
    this.permitted('AttachVolume', params);
    if (volume.attachment !== null) {
      throw ec2Error(
        'VolumeInUse',
        400,
        `${volume.id} is already attached to an instance (${volume.attachment.instanceId}, ${volume.attachment.state})`,
      );
    }
    if (volume.availabilityZone !== instance.availabilityZone) {
      throw ec2Error(
        'InvalidVolume.ZoneMismatch',
        400,
        `The volume '${volume.id}' is not in the same availability zone as instance '${instance.id}'`,
      );
    }
    if (instance.state !== 'running' && instance.state !== 'stopped') {
      throw ec2Error(
        'IncorrectInstanceState',
        400,
        `The instance '${instance.id}' is not in the 'running' or 'stopped' states.`,
      );
    }
    if (this.devicesOf(instance).includes(device)) {
      throw invalidParameterValue(
        `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`,
      );
    }
    const attachment: AttachmentState = {
      instanceId: instance.id,
      device,
      state: 'attaching',
      attachTime: new Date(this.timeline.now()),
      change: null,
    };
    attachment.change = this.timeline.after(this.durations.attachMs, () => {
      attachment.state = 'attached';
      attachment.change = null;
    });
    volume.attachment = attachment;
    return attachmentXml(volume.id, attachment);
  }

  private stopInstances(params: QueryParams): string {
    const instances = this.instancesNamed(params);
    this.permitted('StopInstances', params);
    for (const instance of instances) {
      if (!['running', 'stopping', 'stopped'].includes(instance.state)) {
        throw ec2Error(
          'IncorrectInstanceState',
          400,
          `This instance '${instance.id}' is not in a state from which it can be stopped.`,
        );
      }
    }
    const changes = instances.map((instance) => {
      const previous = instance.state;
      if (previous === 'running') {
        instance.state = 'stopping';
        instance.change = this.timeline.after(this.durations.stopMs, () => {
          instance.state = 'stopped';
          instance.change = null;
        });
      }
      return stateChangeXml(instance.id, previous, instance.state);
    });
    return list('instancesSet', 'item', changes);
  }

  private startInstances(params: QueryParams): string {
    const instances = this.instancesNamed(params);
    this.permitted('StartInstances', params);
    for (const instance of instances) {
      if (!['stopped', 'pending', 'running'].includes(instance.state)) {
        throw ec2Error(
          'IncorrectInstanceState',
          400,
          `The instance '${instance.id}' is not in a state from which it can be started.`,
        );
      }
    }
    const changes = instances.map((instance) => {
      const previous = instance.state;
      if (previous === 'stopped') {
        instance.state = 'pending';
        instance.change = this.timeline.after(this.durations.startMs, () => {
          instance.state = 'running';
          instance.change = null;
        });
      }
      return stateChangeXml(instance.id, previous, instance.state);
    });
    return list('instancesSet', 'item', changes);
  }

  private terminateInstances(params: QueryParams): string {
    const instances = this.instancesNamed(params);
    this.permitted('TerminateInstances', params);
    const changes = instances.map((instance) => {
      const previous = instance.state;
      if (previous !== 'terminated' && previous !== 'shutting-down') {
        instance.change?.cancel();
        instance.state = 'shutting-down';
        instance.change = this.timeline.after(this.durations.terminateMs, () => {
          instance.state = 'terminated';
          instance.change = null;
          // A terminated instance lets go of its data volumes (DeleteOnTermination is false).
          for (const volume of this.volumesOn(instance.id)) volume.attachment = null;
        });
      }
      return stateChangeXml(instance.id, previous, instance.state);
    });
    return list('instancesSet', 'item', changes);
  }

  private runInstances(params: QueryParams): string {
    const spec = params.scope('LaunchTemplate');
    const templateId = spec.string('LaunchTemplateId');
    const template =
      templateId !== undefined
        ? this.templateFor({ id: templateId })
        : this.templateFor({ name: spec.required('LaunchTemplateName') });
    const version = spec.string('Version') ?? '$Default';
    if (!['$Default', '$Latest'].includes(version)) {
      const number = Number(version);
      if (!Number.isInteger(number) || number < 1 || number > template.latestVersion) {
        throw ec2Error(
          'InvalidLaunchTemplateId.VersionNotFound',
          400,
          `Could not find launch template version ${version} for template ${template.id}.`,
        );
      }
    }
    const count = params.int('MaxCount') ?? 1;
    if ((params.int('MinCount') ?? 1) !== 1 || count !== 1) {
      throw invalidParameterValue(
        'This emulator launches one instance per request (MinCount = MaxCount = 1).',
      );
    }
    this.permitted('RunInstances', params);
    const token = params.string('ClientToken');
    const { ClientToken: _token, ...rest } = params.record();
    const fingerprint = JSON.stringify(Object.entries(rest).sort());
    if (token !== undefined) {
      if (token.length > 64) {
        throw invalidParameterValue('The client token must be at most 64 characters.');
      }
      const earlier = this.reservations.get(token);
      if (earlier !== undefined) {
        if (earlier.fingerprint !== fingerprint) {
          throw ec2Error(
            'IdempotentParameterMismatch',
            400,
            'The client token you have provided is associated with a resource that is already created with different parameters.',
          );
        }
        return this.reservationOf(earlier);
      }
    }
    if (!this.capacity) {
      throw ec2Error(
        'InsufficientInstanceCapacity',
        500,
        `We currently do not have sufficient r6i.xlarge capacity in the Availability Zone you requested (${template.availabilityZone}). Our system will be working on provisioning additional capacity.`,
      );
    }
    this.sequence += 1;
    const id = `i-0e${String(this.sequence).padStart(15, '0')}`;
    const tags: Record<string, string> = {};
    for (const specification of params.structs('TagSpecification')) {
      if (specification.string('ResourceType') !== 'instance') continue;
      for (const tag of specification.structs('Tag')) tags[tag.required('Key')] = tag.string('Value') ?? '';
    }
    const instance: InstanceState = {
      id,
      availabilityZone: template.availabilityZone,
      state: 'pending',
      devices: ['/dev/xvda'],
      tags,
      launchTemplateId: template.id,
      change: null,
    };
    instance.change = this.timeline.after(this.durations.launchMs, () => {
      instance.state = 'running';
      instance.change = null;
    });
    this.instances.set(id, instance);
    this.launched.push(id);
    const reservation: Reservation = {
      id: `r-0e${String(this.sequence).padStart(15, '0')}`,
      instanceIds: [id],
      fingerprint,
    };
    if (token !== undefined) this.reservations.set(token, reservation);
    return this.reservationOf(reservation);
  }

  // ---- lookups ------------------------------------------------------------------------------

  private reservationOf(reservation: Reservation): string {
    const instances = reservation.instanceIds.map((id) => {
      const instance = this.mustInstance(id);
      return instanceXml(instance, this.volumesOn(id));
    });
    return reservationXml(reservation.id, instances);
  }

  private progressOf(snapshot: SnapshotState): string {
    if (snapshot.state !== 'pending') return snapshot.state === 'completed' ? '100%' : '0%';
    if (snapshot.durationMs <= 0) return '0%';
    const elapsed = this.timeline.now() - snapshot.startTime.getTime();
    return `${Math.min(99, Math.floor((elapsed * 100) / snapshot.durationMs))}%`;
  }

  private instancesNamed(params: QueryParams): InstanceState[] {
    const ids = params.list('InstanceId');
    if (ids.length === 0)
      throw ec2Error('MissingParameter', 400, 'The request must contain the parameter InstanceId');
    return ids.map((id) => this.instanceFor(id));
  }

  private volumesOn(instanceId: string): VolumeState[] {
    return [...this.volumes.values()].filter((volume) => volume.attachment?.instanceId === instanceId);
  }

  /** The instance's own devices plus those of emulated volumes attached (or on their way). */
  private devicesOf(instance: InstanceState): string[] {
    return [
      ...instance.devices,
      ...this.volumesOn(instance.id).map((volume) => volume.attachment?.device ?? ''),
    ];
  }

  private volumeFor(id: string): VolumeState {
    if (!wellFormedId('vol', id)) {
      throw ec2Error('InvalidVolumeID.Malformed', 400, `Invalid id: "${id}" (expecting "vol-...")`);
    }
    const volume = this.volumes.get(id);
    if (volume === undefined)
      throw ec2Error('InvalidVolume.NotFound', 400, `The volume '${id}' does not exist.`);
    return volume;
  }

  private instanceFor(id: string): InstanceState {
    if (!wellFormedId('i', id)) {
      throw ec2Error('InvalidInstanceID.Malformed', 400, `Invalid id: "${id}" (expecting "i-...")`);
    }
    const instance = this.instances.get(id);
    if (instance === undefined) {
      throw ec2Error('InvalidInstanceID.NotFound', 400, `The instance ID '${id}' does not exist`);
    }
    return instance;
  }

  private snapshotFor(id: string): SnapshotState {
    if (!wellFormedId('snap', id)) {
      throw ec2Error('InvalidSnapshotID.Malformed', 400, `Invalid id: "${id}" (expecting "snap-...")`);
    }
    const snapshot = this.snapshots.get(id);
    if (snapshot === undefined) {
      throw ec2Error('InvalidSnapshot.NotFound', 400, `The snapshot '${id}' does not exist.`);
    }
    return snapshot;
  }

  private templateFor(ref: { id: string } | { name: string }): LaunchTemplateState {
    if ('id' in ref) {
      if (!wellFormedId('lt', ref.id)) {
        throw ec2Error(
          'InvalidLaunchTemplateId.Malformed',
          400,
          `The specified launch template ID ${ref.id} is malformed.`,
        );
      }
      const found = this.templates.get(ref.id);
      if (found === undefined) {
        throw ec2Error(
          'InvalidLaunchTemplateId.NotFound',
          400,
          `The specified launch template, with template ID ${ref.id}, does not exist.`,
        );
      }
      return found;
    }
    const found = [...this.templates.values()].find((template) => template.name === ref.name);
    if (found === undefined) {
      throw ec2Error(
        'InvalidLaunchTemplateName.NotFoundException',
        400,
        `The specified launch template, with template name ${ref.name}, does not exist.`,
      );
    }
    return found;
  }

  private mustVolume(id: string): VolumeState {
    const volume = this.volumes.get(id);
    if (volume === undefined) throw new Error(`Ec2Emulator: no volume ${id}`);
    return volume;
  }

  private mustInstance(id: string): InstanceState {
    const instance = this.instances.get(id);
    if (instance === undefined) throw new Error(`Ec2Emulator: no instance ${id}`);
    return instance;
  }
}

/** A Query parameter's value ('' when absent). */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function mustBeWellFormed(prefix: string, id: string): void {
  if (!wellFormedId(prefix, id)) {
    throw new Error(`Ec2Emulator: ${id} is not a well-formed EC2 id (${prefix}- and 8 or 17 hex digits)`);
  }
}
