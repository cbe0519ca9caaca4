// A small stateful model of the EC2 calls the EC2 adapter makes, for tests (AWS is never reached).
// Two ways in, as for the RDS model:
//  - installOn(mockClient(EC2Client)): aws-sdk-client-mock replaces Client#send, so the SDK's
//    middleware (retry included) does not run.
//  - attachTo(client): a middleware right after retry and signing answers from the model instead of
//    the network, so the real retry strategy, endpoint resolution and signing run (give the client
//    static test credentials).
// One region: volumes, instances and snapshots are keyed by id alone.
//
// RunInstances launches from a modelled launch template (pending, then running), honours ClientToken
// as EC2 does (the same token with the same parameters returns the first reservation again; with
// other parameters IdempotentParameterMismatch), refuses an unknown template
// (InvalidLaunchTemplateId.NotFound / InvalidLaunchTemplateName.NotFoundException) and, when told,
// answers InsufficientInstanceCapacity. loseNextResponse() applies a call and then fails it with a
// network error, as a response lost on the way back would.
//
// Time moves with describes: a transition started by an action shows its transitional state in the
// next N describes of that resource, then the settled state (N = 0: the next describe is settled).
import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2ServiceException,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type {
  AttachVolumeCommandInput,
  AttachVolumeCommandOutput,
  CreateSnapshotCommandInput,
  CreateSnapshotCommandOutput,
  DescribeInstancesCommandInput,
  DescribeInstancesCommandOutput,
  DescribeLaunchTemplatesCommandInput,
  DescribeLaunchTemplatesCommandOutput,
  DescribeSnapshotsCommandInput,
  DescribeSnapshotsCommandOutput,
  DescribeVolumesCommandInput,
  DescribeVolumesCommandOutput,
  DetachVolumeCommandInput,
  DetachVolumeCommandOutput,
  EC2Client,
  Instance,
  InstanceStateName,
  RunInstancesCommandInput,
  RunInstancesCommandOutput,
  ServiceOutputTypes as Ec2Output,
  Snapshot,
  StartInstancesCommandInput,
  StartInstancesCommandOutput,
  StopInstancesCommandInput,
  StopInstancesCommandOutput,
  TerminateInstancesCommandInput,
  TerminateInstancesCommandOutput,
  Volume,
} from '@aws-sdk/client-ec2';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export const EC2_MODEL_ACCOUNT = '123456789012';

export type Ec2ModelCommand =
  | 'DescribeVolumes'
  | 'DescribeInstances'
  | 'DescribeSnapshots'
  | 'CreateSnapshot'
  | 'DetachVolume'
  | 'AttachVolume'
  | 'StopInstances'
  | 'StartInstances'
  | 'DescribeLaunchTemplates'
  | 'RunInstances'
  | 'TerminateInstances';

/** Commands that honour DryRun and are subject to deny(). */
export type Ec2ModelAction = Exclude<
  Ec2ModelCommand,
  'DescribeVolumes' | 'DescribeInstances' | 'DescribeSnapshots' | 'DescribeLaunchTemplates'
>;

export interface Ec2RecordedCall {
  command: Ec2ModelCommand;
  input: unknown;
  /** 'ok', or the name of the error the model threw (DryRunOperation for a permitted dry run). */
  outcome: string;
  /** The command and its key parameters, e.g. 'DetachVolume vol-1 i-old force=false'. */
  summary: string;
}

export interface Ec2Timing {
  /** Describes of the volume showing `detaching` after DetachVolume. Default 1. */
  detachDescribes?: number;
  /** Describes of the volume showing `attaching` after AttachVolume. Default 1. */
  attachDescribes?: number;
  /** Describes of the instance showing `stopping` after StopInstances. Default 2. */
  stopDescribes?: number;
  /** Describes of the instance showing `pending` after StartInstances. Default 2. */
  startDescribes?: number;
  /** Describes of a new snapshot showing `pending` (progress growing to 100%). Default 3. */
  snapshotDescribes?: number;
  /** Describes of a launched instance showing `pending`. Default 2. */
  launchDescribes?: number;
  /** Describes of an instance showing `shutting-down` after TerminateInstances. Default 1. */
  terminateDescribes?: number;
}

export interface Ec2LaunchTemplateOptions {
  /** Default `lt-` + 17 hex digits derived from the order of creation. */
  id?: string;
  /** Zone of the instances it launches (its subnet's). Default the model's default zone. */
  availabilityZone?: string;
  /** Versions 1..latestVersion exist. Default 1. */
  latestVersion?: number;
}

export interface Ec2VolumeOptions {
  availabilityZone?: string;
  sizeGiB?: number;
  /** Attached (state `attached`, volume `in-use`) from the start. */
  attachedTo?: { instanceId: string; device: string };
  /**
   * A detach that hangs: after DetachVolume the attachment shows this state (`detaching` or `busy`)
   * forever, until DetachVolume is called with Force: true.
   */
  stuckDetach?: 'detaching' | 'busy';
  /** How a snapshot of this volume ends. Default completed. */
  snapshotOutcome?: 'completed' | 'error';
}

export interface Ec2InstanceOptions {
  availabilityZone?: string;
  state?: string;
  /** Device names not backed by a modelled volume (the root device). Default ['/dev/xvda']. */
  devices?: string[];
}

interface Transition<S> {
  /** Describes still showing `showing`. */
  remaining: number;
  showing: S;
  then: () => void;
}

interface AttachmentState {
  instanceId: string;
  device: string;
  state: string;
  transition: Transition<string> | null;
}

interface VolumeState {
  id: string;
  availabilityZone: string;
  sizeGiB: number;
  attachment: AttachmentState | null;
  stuckDetach: 'detaching' | 'busy' | null;
  snapshotOutcome: 'completed' | 'error';
}

interface InstanceState {
  id: string;
  availabilityZone: string;
  state: string;
  devices: string[];
  transition: Transition<string> | null;
  tags: Record<string, string>;
  launchTemplateId: string | null;
}

interface LaunchTemplateState {
  id: string;
  name: string;
  availabilityZone: string;
  latestVersion: number;
}

interface Reservation {
  id: string;
  instanceId: string;
  /** The parameters of the first call, compared on a repeated ClientToken. */
  fingerprint: string;
}

interface SnapshotState {
  id: string;
  volumeId: string;
  description: string;
  describes: number;
  total: number;
  outcome: 'completed' | 'error';
  startTime: Date;
}

interface InjectedFailure {
  remaining: number;
  error: () => Error;
  /** Only calls whose input matches (e.g. not the DryRun ones). Default every call. */
  when?: (input: unknown) => boolean;
}

/** An SDK-shaped EC2 error as the SDK builds it (EC2 errors are unmodeled: name = wire code). */
export function ec2Error(code: string, httpStatusCode: number, message: string): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: `req-${code}` },
    message,
  });
}

/** EC2's throttling answer, marked the way the SDK's standard retry strategy recognises it. */
export function requestLimitExceeded(): EC2ServiceException {
  const error = ec2Error('RequestLimitExceeded', 503, 'Request limit exceeded.');
  error.$retryable = { throttling: true };
  return error;
}

export function unauthorizedOperation(action: string): EC2ServiceException {
  return ec2Error(
    'UnauthorizedOperation',
    403,
    `You are not authorized to perform this operation. User: arn:aws:iam::${EC2_MODEL_ACCOUNT}:user/cutover-bot is not authorized to perform: ec2:${action}`,
  );
}

/** For failNext: only calls that are not DryRun requests. */
export function notDryRun(input: unknown): boolean {
  return (input as { DryRun?: boolean } | undefined)?.DryRun !== true;
}

export function dryRunOperation(): EC2ServiceException {
  return ec2Error('DryRunOperation', 412, 'Request would have succeeded, but DryRun flag is set.');
}

const ACTIONS: readonly Ec2ModelCommand[] = [
  'CreateSnapshot',
  'DetachVolume',
  'AttachVolume',
  'StopInstances',
  'StartInstances',
  'RunInstances',
  'TerminateInstances',
];

export class Ec2Model {
  readonly calls: Ec2RecordedCall[] = [];
  private readonly volumes = new Map<string, VolumeState>();
  private readonly instances = new Map<string, InstanceState>();
  private readonly snapshots = new Map<string, SnapshotState>();
  private readonly failures = new Map<Ec2ModelCommand, InjectedFailure[]>();
  private readonly denied = new Set<Ec2ModelAction>();
  private readonly timing: Required<Ec2Timing>;
  private snapshotSequence = 0;
  private readonly templates = new Map<string, LaunchTemplateState>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly lostResponses = new Map<Ec2ModelCommand, number>();
  private launchSequence = 0;
  private capacity = true;
  /** Instances RunInstances created, in order. */
  readonly launched: string[] = [];

  constructor(
    readonly region = 'eu-west-1',
    timing: Ec2Timing = {},
  ) {
    this.timing = {
      detachDescribes: 1,
      attachDescribes: 1,
      stopDescribes: 2,
      startDescribes: 2,
      snapshotDescribes: 3,
      launchDescribes: 2,
      terminateDescribes: 1,
      ...timing,
    };
  }

  get defaultZone(): string {
    return `${this.region}a`;
  }

  // ---- setup --------------------------------------------------------------------------------

  addInstance(id: string, options: Ec2InstanceOptions = {}): this {
    this.instances.set(id, {
      id,
      availabilityZone: options.availabilityZone ?? this.defaultZone,
      state: options.state ?? 'running',
      devices: options.devices ?? ['/dev/xvda'],
      transition: null,
      tags: {},
      launchTemplateId: null,
    });
    return this;
  }

  addLaunchTemplate(name: string, options: Ec2LaunchTemplateOptions = {}): this {
    const id = options.id ?? `lt-${String(this.templates.size + 1).padStart(17, '0')}`;
    this.templates.set(id, {
      id,
      name,
      availabilityZone: options.availabilityZone ?? this.defaultZone,
      latestVersion: options.latestVersion ?? 1,
    });
    return this;
  }

  /** While false, RunInstances answers InsufficientInstanceCapacity (and launches nothing). */
  setCapacity(available: boolean): this {
    this.capacity = available;
    return this;
  }

  /**
   * The next `count` calls of `command` are applied by the model, and then fail as a lost response
   * would (a network error the SDK cannot tell from a request that never arrived).
   */
  loseNextResponse(command: Ec2ModelCommand, count = 1): this {
    this.lostResponses.set(command, (this.lostResponses.get(command) ?? 0) + count);
    return this;
  }

  /** Tags of an instance (RunInstances TagSpecifications). */
  tagsOf(id: string): Record<string, string> {
    return { ...this.mustInstance(id).tags };
  }

  addVolume(id: string, options: Ec2VolumeOptions = {}): this {
    const attachedTo = options.attachedTo;
    if (attachedTo !== undefined) this.mustInstance(attachedTo.instanceId);
    this.volumes.set(id, {
      id,
      availabilityZone: options.availabilityZone ?? this.defaultZone,
      sizeGiB: options.sizeGiB ?? 100,
      attachment:
        attachedTo === undefined
          ? null
          : {
              instanceId: attachedTo.instanceId,
              device: attachedTo.device,
              state: 'attached',
              transition: null,
            },
      stuckDetach: options.stuckDetach ?? null,
      snapshotOutcome: options.snapshotOutcome ?? 'completed',
    });
    return this;
  }

  /** Makes a later detach of the volume hang (`detaching` or `busy`) until a forced detach. */
  stickDetach(volumeId: string, showing: 'detaching' | 'busy' = 'detaching'): this {
    this.mustVolume(volumeId).stuckDetach = showing;
    return this;
  }

  /** Sets an instance's state now, dropping any transition in flight. */
  setInstanceState(id: string, state: string): this {
    const instance = this.mustInstance(id);
    instance.state = state;
    instance.transition = null;
    return this;
  }

  /** Every call of `action` (DryRun or not) is refused with UnauthorizedOperation. */
  deny(...actions: Ec2ModelAction[]): this {
    for (const action of actions) this.denied.add(action);
    return this;
  }

  allow(...actions: Ec2ModelAction[]): this {
    for (const action of actions) this.denied.delete(action);
    return this;
  }

  /**
   * The next `count` calls of `command` throw `error()` (default: RequestLimitExceeded); with `when`,
   * only the calls whose input it accepts (e.g. `notDryRun`).
   */
  failNext(
    command: Ec2ModelCommand,
    count: number,
    error: () => Error = requestLimitExceeded,
    when?: (input: unknown) => boolean,
  ): this {
    const queue = this.failures.get(command) ?? [];
    queue.push({ remaining: count, error, ...(when ? { when } : {}) });
    this.failures.set(command, queue);
    return this;
  }

  failAlways(command: Ec2ModelCommand, error: () => Error): this {
    return this.failNext(command, Number.POSITIVE_INFINITY, error);
  }

  // ---- inspection (never advances anything) -------------------------------------------------

  volume(id: string): Volume | undefined {
    const state = this.volumes.get(id);
    return state === undefined ? undefined : this.renderVolume(state);
  }

  instance(id: string): Instance | undefined {
    const state = this.instances.get(id);
    return state === undefined ? undefined : this.renderInstance(state);
  }

  snapshot(id: string): Snapshot | undefined {
    const state = this.snapshots.get(id);
    return state === undefined ? undefined : this.renderSnapshot(state);
  }

  /** Snapshot ids created so far, in order. */
  snapshotIds(): string[] {
    return [...this.snapshots.keys()];
  }

  /**
   * Calls of `command` that reached the model: all of them, only the successful ones ('ok'), or
   * those that ended with a given error name (e.g. 'DryRunOperation', 'IncorrectState').
   */
  count(command: Ec2ModelCommand, outcome: string = 'all'): number {
    return this.calls.filter(
      (call) => call.command === command && (outcome === 'all' || call.outcome === outcome),
    ).length;
  }

  /**
   * The calls as one line each ('DetachVolume vol-1 i-old force=false', a failed one with
   * ' -> IncorrectState'). Describes are left out unless asked for: polling makes them noise.
   */
  history(options: { describes?: boolean } = {}): string[] {
    return this.calls
      .filter((call) => options.describes === true || ACTIONS.includes(call.command))
      .map((call) => (call.outcome === 'ok' ? call.summary : `${call.summary} -> ${call.outcome}`));
  }

  /** Only the calls that acted on the world: successful, non-DryRun, non-describe. */
  actions(): string[] {
    return this.calls
      .filter((call) => ACTIONS.includes(call.command) && call.outcome === 'ok')
      .map((call) => call.summary);
  }

  // ---- the service --------------------------------------------------------------------------

  describeVolumes(input: DescribeVolumesCommandInput): DescribeVolumesCommandOutput {
    const ids = input.VolumeIds ?? [...this.volumes.keys()];
    const states = ids.map((id) => {
      const state = this.volumes.get(id);
      if (state === undefined)
        throw ec2Error('InvalidVolume.NotFound', 400, `The volume '${id}' does not exist.`);
      return state;
    });
    const Volumes = states.map((state) => {
      const rendered = this.renderVolume(state);
      const attachment = state.attachment;
      if (attachment !== null) this.tick(attachment.transition, () => (attachment.transition = null));
      return rendered;
    });
    return { Volumes, $metadata: { httpStatusCode: 200 } };
  }

  describeInstances(input: DescribeInstancesCommandInput): DescribeInstancesCommandOutput {
    const ids = input.InstanceIds ?? [...this.instances.keys()];
    const states = ids.map((id) => {
      const state = this.instances.get(id);
      if (state === undefined) {
        throw ec2Error('InvalidInstanceID.NotFound', 400, `The instance ID '${id}' does not exist`);
      }
      return state;
    });
    const Instances = states.map((state) => {
      const rendered = this.renderInstance(state);
      this.tick(state.transition, () => (state.transition = null));
      return rendered;
    });
    return {
      Reservations: [{ ReservationId: 'r-0model', OwnerId: EC2_MODEL_ACCOUNT, Instances }],
      $metadata: { httpStatusCode: 200 },
    };
  }

  describeSnapshots(input: DescribeSnapshotsCommandInput): DescribeSnapshotsCommandOutput {
    const ids = input.SnapshotIds ?? [...this.snapshots.keys()];
    const states = ids.map((id) => {
      const state = this.snapshots.get(id);
      if (state === undefined) {
        throw ec2Error('InvalidSnapshot.NotFound', 400, `The snapshot '${id}' does not exist.`);
      }
      return state;
    });
    const Snapshots = states.map((state) => {
      state.describes += 1;
      return this.renderSnapshot(state);
    });
    return { Snapshots, $metadata: { httpStatusCode: 200 } };
  }

  createSnapshot(input: CreateSnapshotCommandInput): CreateSnapshotCommandOutput {
    const volume = this.volumeFor(input.VolumeId);
    this.authorize('CreateSnapshot', input.DryRun);
    this.snapshotSequence += 1;
    const id = `snap-${String(this.snapshotSequence).padStart(17, '0')}`;
    const state: SnapshotState = {
      id,
      volumeId: volume.id,
      description: input.Description ?? '',
      describes: 0,
      total: this.timing.snapshotDescribes,
      outcome: volume.snapshotOutcome,
      startTime: new Date(),
    };
    this.snapshots.set(id, state);
    return {
      SnapshotId: id,
      VolumeId: volume.id,
      VolumeSize: volume.sizeGiB,
      State: 'pending',
      Progress: '',
      Description: state.description,
      OwnerId: EC2_MODEL_ACCOUNT,
      StartTime: state.startTime,
      $metadata: { httpStatusCode: 200 },
    };
  }

  detachVolume(input: DetachVolumeCommandInput): DetachVolumeCommandOutput {
    const volume = this.volumeFor(input.VolumeId);
    if (input.InstanceId !== undefined) this.instanceFor(input.InstanceId);
    this.authorize('DetachVolume', input.DryRun);
    const attachment = volume.attachment;
    if (attachment === null) {
      throw ec2Error('IncorrectState', 400, `Volume '${volume.id}' is in the 'available' state.`);
    }
    if (input.InstanceId !== undefined && input.InstanceId !== attachment.instanceId) {
      throw ec2Error(
        'InvalidAttachment.NotFound',
        400,
        `Volume ${volume.id} can not be detached from ${input.InstanceId} because it is not attached`,
      );
    }
    if (input.Device !== undefined && input.Device !== attachment.device) {
      throw ec2Error(
        'InvalidAttachment.NotFound',
        400,
        `Volume ${volume.id} is not attached at ${input.Device} on ${attachment.instanceId}`,
      );
    }
    const force = input.Force === true;
    const detaching = attachment.state === 'detaching' || attachment.state === 'busy';
    if (attachment.state === 'attaching' && !force) {
      throw ec2Error('IncorrectState', 400, `Volume '${volume.id}' is in the 'attaching' state.`);
    }
    if (detaching && !force) {
      // A repeated plain detach changes nothing: the first one is still under way (or stuck).
      return this.attachmentOutput(volume.id, attachment);
    }
    const stuck = volume.stuckDetach;
    if (stuck !== null && !force) {
      attachment.state = stuck;
      attachment.transition = null;
    } else {
      attachment.state = 'detaching';
      attachment.transition = this.transition(this.timing.detachDescribes, 'detaching', () => {
        volume.attachment = null;
      });
    }
    return this.attachmentOutput(volume.id, attachment);
  }

  attachVolume(input: AttachVolumeCommandInput): AttachVolumeCommandOutput {
    const volume = this.volumeFor(input.VolumeId);
    const instance = this.instanceFor(input.InstanceId);
    this.authorize('AttachVolume', input.DryRun);
    const device = input.Device ?? '';
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
      throw ec2Error(
        'InvalidParameterValue',
        400,
        `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`,
      );
    }
    const attachment: AttachmentState = {
      instanceId: instance.id,
      device,
      state: 'attaching',
      transition: null,
    };
    attachment.transition = this.transition(this.timing.attachDescribes, 'attaching', () => {
      attachment.state = 'attached';
    });
    volume.attachment = attachment;
    return this.attachmentOutput(volume.id, attachment);
  }

  stopInstances(input: StopInstancesCommandInput): StopInstancesCommandOutput {
    const instances = (input.InstanceIds ?? []).map((id) => this.instanceFor(id));
    this.authorize('StopInstances', input.DryRun);
    for (const instance of instances) {
      if (!['running', 'stopping', 'stopped'].includes(this.shownState(instance))) {
        throw ec2Error(
          'IncorrectInstanceState',
          400,
          `This instance '${instance.id}' is not in a state from which it can be stopped.`,
        );
      }
    }
    const StoppingInstances = instances.map((instance) => {
      const previous = this.shownState(instance);
      if (previous === 'running') {
        instance.state = 'stopped';
        instance.transition = this.transition(this.timing.stopDescribes, 'stopping', () => undefined);
      }
      return this.stateChange(instance, previous);
    });
    return { StoppingInstances, $metadata: { httpStatusCode: 200 } };
  }

  startInstances(input: StartInstancesCommandInput): StartInstancesCommandOutput {
    const instances = (input.InstanceIds ?? []).map((id) => this.instanceFor(id));
    this.authorize('StartInstances', input.DryRun);
    for (const instance of instances) {
      if (!['stopped', 'pending', 'running'].includes(this.shownState(instance))) {
        throw ec2Error(
          'IncorrectInstanceState',
          400,
          `The instance '${instance.id}' is not in a state from which it can be started.`,
        );
      }
    }
    const StartingInstances = instances.map((instance) => {
      const previous = this.shownState(instance);
      if (previous === 'stopped') {
        instance.state = 'running';
        instance.transition = this.transition(this.timing.startDescribes, 'pending', () => undefined);
      }
      return this.stateChange(instance, previous);
    });
    return { StartingInstances, $metadata: { httpStatusCode: 200 } };
  }

  describeLaunchTemplates(input: DescribeLaunchTemplatesCommandInput): DescribeLaunchTemplatesCommandOutput {
    const found = [
      ...(input.LaunchTemplateIds ?? []).map((id) => this.templateFor({ LaunchTemplateId: id })),
      ...(input.LaunchTemplateNames ?? []).map((name) => this.templateFor({ LaunchTemplateName: name })),
    ];
    const chosen =
      input.LaunchTemplateIds === undefined && input.LaunchTemplateNames === undefined
        ? [...this.templates.values()]
        : found;
    return {
      LaunchTemplates: chosen.map((template) => ({
        LaunchTemplateId: template.id,
        LaunchTemplateName: template.name,
        DefaultVersionNumber: 1,
        LatestVersionNumber: template.latestVersion,
      })),
      $metadata: { httpStatusCode: 200 },
    };
  }

  runInstances(input: RunInstancesCommandInput): RunInstancesCommandOutput {
    const spec = input.LaunchTemplate ?? {};
    const template = this.templateFor(spec);
    const version = spec.Version ?? '$Default';
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
    this.authorize('RunInstances', input.DryRun);
    const token = input.ClientToken;
    const fingerprint = JSON.stringify({
      template: template.id,
      version,
      min: input.MinCount,
      max: input.MaxCount,
      tags: input.TagSpecifications ?? [],
    });
    if (token !== undefined) {
      if (token.length > 64) {
        throw ec2Error('InvalidParameterValue', 400, 'The client token must be at most 64 characters.');
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
        return this.reservationOutput(earlier);
      }
    }
    if (!this.capacity) {
      throw ec2Error(
        'InsufficientInstanceCapacity',
        500,
        `We currently do not have sufficient r6i.xlarge capacity in the Availability Zone you requested (${template.availabilityZone}). Our system will be working on provisioning additional capacity.`,
      );
    }
    this.launchSequence += 1;
    const id = `i-0e${String(this.launchSequence).padStart(15, '0')}`;
    const tags: Record<string, string> = {};
    for (const specification of input.TagSpecifications ?? []) {
      if (specification.ResourceType !== 'instance') continue;
      for (const tag of specification.Tags ?? []) tags[tag.Key ?? ''] = tag.Value ?? '';
    }
    const instance: InstanceState = {
      id,
      availabilityZone: template.availabilityZone,
      state: 'running',
      devices: ['/dev/xvda'],
      transition: null,
      tags,
      launchTemplateId: template.id,
    };
    instance.transition = this.transition(this.timing.launchDescribes, 'pending', () => undefined);
    this.instances.set(id, instance);
    this.launched.push(id);
    const reservation: Reservation = {
      id: `r-0e${String(this.launchSequence).padStart(15, '0')}`,
      instanceId: id,
      fingerprint,
    };
    if (token !== undefined) this.reservations.set(token, reservation);
    return this.reservationOutput(reservation);
  }

  terminateInstances(input: TerminateInstancesCommandInput): TerminateInstancesCommandOutput {
    const instances = (input.InstanceIds ?? []).map((id) => this.instanceFor(id));
    this.authorize('TerminateInstances', input.DryRun);
    const TerminatingInstances = instances.map((instance) => {
      const previous = this.shownState(instance);
      if (previous !== 'terminated' && previous !== 'shutting-down') {
        instance.state = 'terminated';
        instance.transition = this.transition(this.timing.terminateDescribes, 'shutting-down', () => {
          // A terminated instance lets go of its volumes (data volumes survive: DeleteOnTermination false).
          for (const volume of this.volumes.values()) {
            if (volume.attachment?.instanceId === instance.id) volume.attachment = null;
          }
        });
      }
      return this.stateChange(instance, previous);
    });
    return { TerminatingInstances, $metadata: { httpStatusCode: 200 } };
  }

  // ---- wiring -------------------------------------------------------------------------------

  /** Answers an aws-sdk-client-mock stub from the model. */
  installOn(ec2: AwsClientStub<EC2Client>): void {
    ec2
      .on(DescribeVolumesCommand)
      .callsFake((input: DescribeVolumesCommandInput) =>
        this.call('DescribeVolumes', input, (i) => this.describeVolumes(i)),
      );
    ec2
      .on(DescribeInstancesCommand)
      .callsFake((input: DescribeInstancesCommandInput) =>
        this.call('DescribeInstances', input, (i) => this.describeInstances(i)),
      );
    ec2
      .on(DescribeSnapshotsCommand)
      .callsFake((input: DescribeSnapshotsCommandInput) =>
        this.call('DescribeSnapshots', input, (i) => this.describeSnapshots(i)),
      );
    ec2
      .on(CreateSnapshotCommand)
      .callsFake((input: CreateSnapshotCommandInput) =>
        this.call('CreateSnapshot', input, (i) => this.createSnapshot(i)),
      );
    ec2
      .on(DetachVolumeCommand)
      .callsFake((input: DetachVolumeCommandInput) =>
        this.call('DetachVolume', input, (i) => this.detachVolume(i)),
      );
    ec2
      .on(AttachVolumeCommand)
      .callsFake((input: AttachVolumeCommandInput) =>
        this.call('AttachVolume', input, (i) => this.attachVolume(i)),
      );
    ec2
      .on(StopInstancesCommand)
      .callsFake((input: StopInstancesCommandInput) =>
        this.call('StopInstances', input, (i) => this.stopInstances(i)),
      );
    ec2
      .on(StartInstancesCommand)
      .callsFake((input: StartInstancesCommandInput) =>
        this.call('StartInstances', input, (i) => this.startInstances(i)),
      );
    ec2
      .on(DescribeLaunchTemplatesCommand)
      .callsFake((input: DescribeLaunchTemplatesCommandInput) =>
        this.call('DescribeLaunchTemplates', input, (i) => this.describeLaunchTemplates(i)),
      );
    ec2
      .on(RunInstancesCommand)
      .callsFake((input: RunInstancesCommandInput) =>
        this.call('RunInstances', input, (i) => this.runInstances(i)),
      );
    ec2
      .on(TerminateInstancesCommand)
      .callsFake((input: TerminateInstancesCommandInput) =>
        this.call('TerminateInstances', input, (i) => this.terminateInstances(i)),
      );
  }

  /**
   * Puts the model where the network would be, inside the client's retry middleware.
   * `onRequest` sees each signed HTTP request (e.g. to check which endpoint the SDK resolved).
   */
  attachTo(client: EC2Client, onRequest?: (request: unknown) => void): void {
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        onRequest?.(args.request);
        const output = (await this.dispatch(context.commandName, args.input)) as Ec2Output;
        return { response: {}, output };
      },
      { step: 'finalizeRequest', priority: 'low', name: 'ec2ModelTransport', override: true },
    );
  }

  // ---- internals ----------------------------------------------------------------------------

  private dispatch(commandName: string | undefined, input: unknown): Promise<unknown> {
    const command = commandName?.replace(/Command$/, '') as Ec2ModelCommand | undefined;
    switch (command) {
      case 'DescribeVolumes':
        return this.call(command, input as DescribeVolumesCommandInput, (i) => this.describeVolumes(i));
      case 'DescribeInstances':
        return this.call(command, input as DescribeInstancesCommandInput, (i) => this.describeInstances(i));
      case 'DescribeSnapshots':
        return this.call(command, input as DescribeSnapshotsCommandInput, (i) => this.describeSnapshots(i));
      case 'CreateSnapshot':
        return this.call(command, input as CreateSnapshotCommandInput, (i) => this.createSnapshot(i));
      case 'DetachVolume':
        return this.call(command, input as DetachVolumeCommandInput, (i) => this.detachVolume(i));
      case 'AttachVolume':
        return this.call(command, input as AttachVolumeCommandInput, (i) => this.attachVolume(i));
      case 'StopInstances':
        return this.call(command, input as StopInstancesCommandInput, (i) => this.stopInstances(i));
      case 'StartInstances':
        return this.call(command, input as StartInstancesCommandInput, (i) => this.startInstances(i));
      case 'DescribeLaunchTemplates':
        return this.call(command, input as DescribeLaunchTemplatesCommandInput, (i) =>
          this.describeLaunchTemplates(i),
        );
      case 'RunInstances':
        return this.call(command, input as RunInstancesCommandInput, (i) => this.runInstances(i));
      case 'TerminateInstances':
        return this.call(command, input as TerminateInstancesCommandInput, (i) => this.terminateInstances(i));
      default:
        return Promise.reject(new Error(`Ec2Model does not implement ${commandName ?? 'this command'}`));
    }
  }

  /** Records the call, applies injected failures, then runs the handler; always async. */
  private async call<I, O>(command: Ec2ModelCommand, input: I, handler: (input: I) => O): Promise<O> {
    const summary = summarize(command, input);
    const injected = this.failures
      .get(command)
      ?.find((failure) => failure.remaining > 0 && (failure.when?.(input) ?? true));
    if (injected !== undefined) {
      injected.remaining -= 1;
      const error = injected.error();
      this.calls.push({ command, input, outcome: error.name, summary });
      throw error;
    }
    try {
      const output = handler(input);
      const lost = this.lostResponses.get(command) ?? 0;
      if (lost > 0) {
        this.lostResponses.set(command, lost - 1);
        const error = Object.assign(new Error('socket hang up'), { name: 'ECONNRESET', code: 'ECONNRESET' });
        this.calls.push({ command, input, outcome: 'lost-response', summary });
        throw error;
      }
      this.calls.push({ command, input, outcome: 'ok', summary });
      return await Promise.resolve(output);
    } catch (error) {
      if (this.calls.at(-1)?.outcome !== 'lost-response' || this.calls.at(-1)?.input !== input) {
        this.calls.push({ command, input, outcome: error instanceof Error ? error.name : 'error', summary });
      }
      throw error;
    }
  }

  /** Permission check, after the resources were found (as EC2 answers a DryRun). */
  private authorize(action: Ec2ModelAction, dryRun: boolean | undefined): void {
    if (this.denied.has(action)) throw unauthorizedOperation(action);
    if (dryRun === true) throw dryRunOperation();
  }

  private transition(describes: number, showing: string, then: () => void): Transition<string> | null {
    if (describes <= 0) {
      then();
      return null;
    }
    return { remaining: describes, showing, then };
  }

  /** One describe of a resource in transition has passed. */
  private tick(transition: Transition<string> | null, clear: () => void): void {
    if (transition === null) return;
    transition.remaining -= 1;
    if (transition.remaining > 0) return;
    clear();
    transition.then();
  }

  private shownState(instance: InstanceState): string {
    return instance.transition?.showing ?? instance.state;
  }

  private stateChange(instance: InstanceState, previous: string) {
    return {
      InstanceId: instance.id,
      PreviousState: { Name: previous as InstanceStateName },
      CurrentState: { Name: this.shownState(instance) as InstanceStateName },
    };
  }

  private attachmentOutput(volumeId: string, attachment: AttachmentState): AttachVolumeCommandOutput {
    return {
      VolumeId: volumeId,
      InstanceId: attachment.instanceId,
      Device: attachment.device,
      State: (attachment.transition?.showing ?? attachment.state) as AttachVolumeCommandOutput['State'],
      AttachTime: new Date(),
      $metadata: { httpStatusCode: 200 },
    };
  }

  private volumeFor(id: string | undefined): VolumeState {
    const state = this.volumes.get(id ?? '');
    if (state === undefined) {
      throw ec2Error('InvalidVolume.NotFound', 400, `The volume '${id ?? ''}' does not exist.`);
    }
    return state;
  }

  private instanceFor(id: string | undefined): InstanceState {
    const state = this.instances.get(id ?? '');
    if (state === undefined) {
      throw ec2Error('InvalidInstanceID.NotFound', 400, `The instance ID '${id ?? ''}' does not exist`);
    }
    return state;
  }

  private templateFor(spec: { LaunchTemplateId?: string; LaunchTemplateName?: string }): LaunchTemplateState {
    if (spec.LaunchTemplateId !== undefined) {
      const found = this.templates.get(spec.LaunchTemplateId);
      if (found === undefined) {
        throw ec2Error(
          'InvalidLaunchTemplateId.NotFound',
          400,
          `The specified launch template, with template ID ${spec.LaunchTemplateId}, does not exist.`,
        );
      }
      return found;
    }
    const found = [...this.templates.values()].find((template) => template.name === spec.LaunchTemplateName);
    if (found === undefined) {
      throw ec2Error(
        'InvalidLaunchTemplateName.NotFoundException',
        400,
        `The specified launch template, with template name ${spec.LaunchTemplateName ?? ''}, does not exist.`,
      );
    }
    return found;
  }

  private reservationOutput(reservation: Reservation): RunInstancesCommandOutput {
    const instance = this.mustInstance(reservation.instanceId);
    return {
      ReservationId: reservation.id,
      OwnerId: EC2_MODEL_ACCOUNT,
      Instances: [this.renderInstance(instance)],
      $metadata: { httpStatusCode: 200 },
    };
  }

  private mustVolume(id: string): VolumeState {
    const state = this.volumes.get(id);
    if (state === undefined) throw new Error(`Ec2Model: no volume ${id}`);
    return state;
  }

  private mustInstance(id: string): InstanceState {
    const state = this.instances.get(id);
    if (state === undefined) throw new Error(`Ec2Model: no instance ${id}`);
    return state;
  }

  /** The instance's own devices plus those of modelled volumes attached (or on their way). */
  private devicesOf(instance: InstanceState): string[] {
    const attached = [...this.volumes.values()]
      .filter((volume) => volume.attachment?.instanceId === instance.id)
      .map((volume) => volume.attachment!.device);
    return [...instance.devices, ...attached];
  }

  private renderVolume(state: VolumeState): Volume {
    const attachment = state.attachment;
    return {
      VolumeId: state.id,
      Size: state.sizeGiB,
      AvailabilityZone: state.availabilityZone,
      State: attachment === null ? 'available' : 'in-use',
      VolumeType: 'gp3',
      Encrypted: true,
      CreateTime: new Date('2025-01-01T00:00:00Z'),
      Attachments:
        attachment === null
          ? []
          : [
              {
                VolumeId: state.id,
                InstanceId: attachment.instanceId,
                Device: attachment.device,
                State: (attachment.transition?.showing ?? attachment.state) as NonNullable<
                  Volume['Attachments']
                >[number]['State'],
                DeleteOnTermination: false,
              },
            ],
    };
  }

  private renderInstance(state: InstanceState): Instance {
    const volumeMappings = [...this.volumes.values()]
      .filter((volume) => volume.attachment?.instanceId === state.id)
      .map((volume) => ({
        DeviceName: volume.attachment!.device,
        Ebs: {
          VolumeId: volume.id,
          Status: volume.attachment!.transition?.showing ?? volume.attachment!.state,
        },
      }));
    return {
      InstanceId: state.id,
      InstanceType: 'r6i.xlarge',
      State: { Name: this.shownState(state) as InstanceStateName },
      Placement: { AvailabilityZone: state.availabilityZone },
      RootDeviceName: state.devices[0],
      ...(Object.keys(state.tags).length > 0
        ? { Tags: Object.entries(state.tags).map(([Key, Value]) => ({ Key, Value })) }
        : {}),
      ...(state.launchTemplateId !== null ? { ImageId: 'ami-0model000000000001' } : {}),
      BlockDeviceMappings: [
        ...state.devices.map((device) => ({ DeviceName: device, Ebs: { Status: 'attached' as const } })),
        ...volumeMappings,
      ] as Instance['BlockDeviceMappings'],
    };
  }

  private renderSnapshot(state: SnapshotState): Snapshot {
    const volume = this.volumes.get(state.volumeId);
    const done = state.describes > state.total;
    const percent =
      state.total === 0 ? 100 : Math.min(100, Math.floor((state.describes * 100) / state.total));
    return {
      SnapshotId: state.id,
      VolumeId: state.volumeId,
      VolumeSize: volume?.sizeGiB ?? 0,
      Description: state.description,
      OwnerId: EC2_MODEL_ACCOUNT,
      StartTime: state.startTime,
      State: done ? state.outcome : 'pending',
      Progress: done && state.outcome === 'completed' ? '100%' : `${percent}%`,
      ...(done && state.outcome === 'error' ? { StateMessage: 'Snapshot creation failed.' } : {}),
    };
  }
}

function summarize(command: Ec2ModelCommand, input: unknown): string {
  const get = (key: string): unknown => (input as Record<string, unknown> | undefined)?.[key];
  const list = (key: string): string => {
    const value = get(key);
    return Array.isArray(value) ? value.join(',') : '*';
  };
  const dryRun = get('DryRun') === true ? ' dryRun' : '';
  switch (command) {
    case 'DescribeVolumes':
      return `DescribeVolumes ${list('VolumeIds')}`;
    case 'DescribeInstances':
      return `DescribeInstances ${list('InstanceIds')}`;
    case 'DescribeSnapshots':
      return `DescribeSnapshots ${list('SnapshotIds')}`;
    case 'CreateSnapshot':
      return `CreateSnapshot ${String(get('VolumeId'))}${dryRun}`;
    case 'DetachVolume':
      return `DetachVolume ${String(get('VolumeId'))} ${String(get('InstanceId'))} force=${String(get('Force') === true)}${dryRun}`;
    case 'AttachVolume':
      return `AttachVolume ${String(get('VolumeId'))} ${String(get('InstanceId'))} ${String(get('Device'))}${dryRun}`;
    case 'StopInstances':
      return `StopInstances ${list('InstanceIds')}${dryRun}`;
    case 'StartInstances':
      return `StartInstances ${list('InstanceIds')}${dryRun}`;
    case 'DescribeLaunchTemplates':
      return `DescribeLaunchTemplates ${list('LaunchTemplateIds')} ${list('LaunchTemplateNames')}`;
    case 'RunInstances': {
      const template = get('LaunchTemplate') as
        { LaunchTemplateId?: string; LaunchTemplateName?: string } | undefined;
      return `RunInstances ${template?.LaunchTemplateId ?? template?.LaunchTemplateName ?? '?'} token=${String(get('ClientToken'))}${dryRun}`;
    }
    case 'TerminateInstances':
      return `TerminateInstances ${list('InstanceIds')}${dryRun}`;
  }
}
