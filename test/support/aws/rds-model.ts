// A small stateful model of the RDS and CloudWatch calls the RDS adapter makes, for tests (AWS is
// never reached). Two ways in:
//  - installOn(mockClient(RDSClient), mockClient(CloudWatchClient)): aws-sdk-client-mock replaces
//    Client#send, so the SDK's middleware (retry included) does not run; the SDK waiters do, since
//    they call send.
//  - attachToRds(client) / attachToCloudWatch(client): a middleware right after retry and signing
//    answers from the model instead of the network, so the real retry strategy, endpoint resolution
//    and signing run (give the client static test credentials).
// One region: instances and deployments are keyed by identifier alone.
import {
  ApplyPendingMaintenanceActionCommand,
  BlueGreenDeploymentNotFoundFault,
  CreateDBSnapshotCommand,
  DBInstanceNotFoundFault,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DescribeBlueGreenDeploymentsCommand,
  DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribePendingMaintenanceActionsCommand,
  ModifyDBInstanceCommand,
  ResourceNotFoundFault,
  InvalidBlueGreenDeploymentStateFault,
  InvalidDBInstanceStateFault,
  PromoteReadReplicaCommand,
  RDSServiceException,
  SwitchoverBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import type {
  ApplyPendingMaintenanceActionCommandInput,
  ApplyPendingMaintenanceActionCommandOutput,
  BlueGreenDeployment,
  CreateDBSnapshotCommandInput,
  CreateDBSnapshotCommandOutput,
  DBInstance,
  DBSnapshot,
  DescribeDBEngineVersionsCommandInput,
  DescribeDBEngineVersionsCommandOutput,
  DescribeDBSnapshotsCommandInput,
  DescribeDBSnapshotsCommandOutput,
  DescribePendingMaintenanceActionsCommandInput,
  DescribePendingMaintenanceActionsCommandOutput,
  ModifyDBInstanceCommandInput,
  ModifyDBInstanceCommandOutput,
  DescribeBlueGreenDeploymentsCommandInput,
  DescribeBlueGreenDeploymentsCommandOutput,
  DescribeDBInstancesCommandInput,
  DescribeDBInstancesCommandOutput,
  PromoteReadReplicaCommandInput,
  PromoteReadReplicaCommandOutput,
  RDSClient,
  ServiceOutputTypes as RdsOutput,
  SwitchoverBlueGreenDeploymentCommandInput,
  SwitchoverBlueGreenDeploymentCommandOutput,
} from '@aws-sdk/client-rds';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type {
  CloudWatchClient,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  ServiceOutputTypes as CloudWatchOutput,
} from '@aws-sdk/client-cloudwatch';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { MODIFIABLE_KEYS } from '../../../src/strategies/in-place/config';

export const MODEL_ACCOUNT = '123456789012';

export type ModelCommand =
  | 'DescribeDBInstances'
  | 'PromoteReadReplica'
  | 'DescribeBlueGreenDeployments'
  | 'SwitchoverBlueGreenDeployment'
  | 'GetMetricData'
  | 'DescribeDBSnapshots'
  | 'CreateDBSnapshot'
  | 'ModifyDBInstance'
  | 'DescribePendingMaintenanceActions'
  | 'ApplyPendingMaintenanceAction'
  | 'DescribeDBEngineVersions';

export interface RecordedCall {
  command: ModelCommand;
  input: unknown;
  /** 'ok', or the name of the error the model threw. */
  outcome: string;
  /** Date.now() when the call reached the model (the index in `calls` is its sequence number). */
  at?: number;
}

/** The values ModifyDBInstance changes, as the model holds them (RDS API names). */
export interface ModelSettings {
  DBInstanceClass: string;
  EngineVersion: string;
  AllocatedStorage: number;
  StorageType: string;
  Iops?: number;
  StorageThroughput?: number;
  DBParameterGroupName: string;
  MultiAZ: boolean;
}

/** How in-place changes unfold, in describes of the instance (or of the snapshot). */
export interface InPlaceScript {
  /** Describes of a new snapshot in `creating` (the instance shows `backing-up` meanwhile). Default 2. */
  snapshotDescribes?: number;
  /** Describes after ModifyDBInstance that still show `available` with the values pending. Default 1. */
  modifyStale?: number;
  /** Describes in `modifying` before the values show. Default 2. */
  modifying?: number;
  /** Describes in `upgrading` after ApplyPendingMaintenanceAction. Default 2. */
  upgrading?: number;
}

export interface MaintenanceOptions {
  description?: string;
  optInStatus?: string;
}

/** How a promotion unfolds, in describes of that instance (each describe shows one phase). */
export interface PromotionScript {
  /** Describes that still show `available` with the source set (RDS lagging the request). Default 0. */
  stale?: number;
  /** Default 2. */
  modifying?: number;
  /** Default 1. */
  rebooting?: number;
}

export interface InstanceOptions {
  status?: string;
  sourceId?: string | null;
  pendingModifications?: boolean;
  engine?: string;
  /** The modifiable values (defaults: db.t3.medium, postgres 15.5, 100 GiB gp2, single-AZ). */
  settings?: Partial<ModelSettings>;
}

export interface BlueGreenOptions {
  /** Instance id of blue (source) and green (target). */
  source: string;
  target: string;
  name?: string;
  status?: string;
  statusDetails?: string;
  tasks?: { name: string; status: string }[];
  /** Switchover status of the (single) member pair before switchover. Default AVAILABLE. */
  memberStatus?: string;
  /** How a switchover ends, and after how many describes in SWITCHOVER_IN_PROGRESS. */
  switchover?: { result: 'completed' | 'failed' | 'rolled_back'; inProgressDescribes?: number };
}

interface Phase {
  status: string;
  sourceId: string | null;
  /** Runs when the phase shows (a modification taking effect). */
  apply?: () => void;
}

interface SnapshotState {
  id: string;
  instanceId: string;
  status: string;
  remainingCreating: number;
}

interface MaintenanceState {
  action: string;
  description: string;
  optInStatus: string | null;
}

interface InstanceState {
  id: string;
  status: string;
  sourceId: string | null;
  pendingModifications: boolean;
  engine: string;
  promotionRequested: boolean;
  /** Phases still to show, one per describe. */
  queue: Phase[];
  settings: ModelSettings;
  /** PendingModifiedValues after a ModifyDBInstance, until the values show. */
  pending: Partial<ModelSettings>;
  parameterApplyStatus: string;
  maintenance: MaintenanceState[];
}

interface DeploymentState {
  id: string;
  name: string;
  source: string;
  target: string;
  status: string;
  statusDetails: string | null;
  memberStatus: string;
  tasks: { name: string; status: string }[];
  result: 'completed' | 'failed' | 'rolled_back';
  inProgressDescribes: number;
  remainingInProgress: number;
  switchoverTimeout: number | null;
}

interface InjectedFailure {
  remaining: number;
  error: () => Error;
}

/** An SDK-shaped service error as the SDK builds it for an unmodeled code (name = wire code). */
export function awsError(name: string, httpStatusCode: number, message: string): RDSServiceException {
  return new RDSServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: `req-${name}` },
    message,
  });
}

export function throttlingError(name = 'Throttling'): RDSServiceException {
  const error = awsError(name, 400, 'Rate exceeded');
  error.$retryable = { throttling: true };
  return error;
}

export function accessDeniedError(action = 'rds:DescribeDBInstances'): RDSServiceException {
  return awsError(
    'AccessDenied',
    403,
    `User: arn:aws:iam::${MODEL_ACCOUNT}:user/cutover-bot is not authorized to perform: ${action}`,
  );
}

/** RDS's answer to a ModifyDBInstance it validated and refused (an unmodeled wire code). */
export function invalidParameterCombination(message: string): RDSServiceException {
  return awsError('InvalidParameterCombination', 400, message);
}

export class RdsModel {
  readonly calls: RecordedCall[] = [];
  private readonly instances = new Map<string, InstanceState>();
  private readonly deployments = new Map<string, DeploymentState>();
  private readonly failures = new Map<ModelCommand, InjectedFailure[]>();
  private readonly lag = new Map<string, { at: Date; value: number }[]>();
  private readonly promotion: Required<PromotionScript>;
  private readonly snapshots = new Map<string, SnapshotState>();
  private readonly engineVersions = new Map<string, string[]>();
  private readonly inPlace: Required<InPlaceScript>;
  /**
   * What happened to the world, in order: mutating calls the model accepted and the state changes
   * they led to (`CreateDBSnapshot s`, `snapshot s available`, `ModifyDBInstance i`, `i applied`).
   */
  readonly events: string[] = [];

  constructor(
    readonly region = 'eu-west-1',
    promotion: PromotionScript = {},
    inPlace: InPlaceScript = {},
  ) {
    this.promotion = { stale: 0, modifying: 2, rebooting: 1, ...promotion };
    this.inPlace = { snapshotDescribes: 2, modifyStale: 1, modifying: 2, upgrading: 2, ...inPlace };
  }

  arn(instanceId: string): string {
    return `arn:aws:rds:${this.region}:${MODEL_ACCOUNT}:db:${instanceId}`;
  }

  addInstance(id: string, options: InstanceOptions = {}): this {
    this.instances.set(id, {
      id,
      status: options.status ?? 'available',
      sourceId: options.sourceId ?? null,
      pendingModifications: options.pendingModifications ?? false,
      engine: options.engine ?? 'postgres',
      promotionRequested: false,
      queue: [],
      settings: {
        DBInstanceClass: 'db.t3.medium',
        EngineVersion: '15.5',
        AllocatedStorage: 100,
        StorageType: 'gp2',
        DBParameterGroupName: 'default.postgres15',
        MultiAZ: false,
        ...options.settings,
      },
      pending: {},
      parameterApplyStatus: 'in-sync',
      maintenance: [],
    });
    return this;
  }

  /** A pending maintenance action of the instance (DescribePendingMaintenanceActions lists it). */
  addMaintenance(instanceId: string, action: string, options: MaintenanceOptions = {}): this {
    this.mustInstance(instanceId).maintenance.push({
      action,
      description: options.description ?? `New ${action} available`,
      optInStatus: options.optInStatus ?? null,
    });
    return this;
  }

  /** DescribeDBEngineVersions answers `targets` as the ValidUpgradeTarget of engine/version. */
  addEngineVersion(engine: string, version: string, targets: string[]): this {
    this.engineVersions.set(`${engine}:${version}`, targets);
    return this;
  }

  /** A manual snapshot as the model holds it now, without advancing anything. */
  snapshot(id: string): DBSnapshot | undefined {
    const state = this.snapshots.get(id);
    return state === undefined ? undefined : this.renderSnapshot(state);
  }

  snapshotIds(): string[] {
    return [...this.snapshots.keys()];
  }

  addReplica(id: string, sourceId: string, options: Omit<InstanceOptions, 'sourceId'> = {}): this {
    return this.addInstance(id, { ...options, sourceId });
  }

  /** Sets an instance's status now; a queued promotion continues from there. */
  setStatus(id: string, status: string): this {
    this.mustInstance(id).status = status;
    return this;
  }

  /** What the model holds now, without advancing anything. */
  instance(id: string): DBInstance | undefined {
    const state = this.instances.get(id);
    return state === undefined ? undefined : this.renderInstance(state);
  }

  addBlueGreen(id: string, options: BlueGreenOptions): this {
    this.deployments.set(id, {
      id,
      name: options.name ?? `${options.source}-bg`,
      source: options.source,
      target: options.target,
      status: options.status ?? 'AVAILABLE',
      statusDetails: options.statusDetails ?? null,
      memberStatus: options.memberStatus ?? 'AVAILABLE',
      tasks: options.tasks ?? [
        { name: 'CREATING_READ_REPLICA_OF_SOURCE', status: 'COMPLETED' },
        { name: 'DB_ENGINE_VERSION_UPGRADE', status: 'COMPLETED' },
      ],
      result: options.switchover?.result ?? 'completed',
      inProgressDescribes: options.switchover?.inProgressDescribes ?? 2,
      remainingInProgress: 0,
      switchoverTimeout: null,
    });
    return this;
  }

  /** The SwitchoverTimeout the model was sent, or null. */
  switchoverTimeoutOf(id: string): number | null {
    return this.deployments.get(id)?.switchoverTimeout ?? null;
  }

  addLagDatapoint(instanceId: string, at: Date, value: number): this {
    const points = this.lag.get(instanceId) ?? [];
    points.push({ at, value });
    this.lag.set(instanceId, points);
    return this;
  }

  /** The next `count` calls of `command` throw `error()` (default: Throttling). */
  failNext(command: ModelCommand, count: number, error: () => Error = () => throttlingError()): this {
    const queue = this.failures.get(command) ?? [];
    queue.push({ remaining: count, error });
    this.failures.set(command, queue);
    return this;
  }

  failAlways(command: ModelCommand, error: () => Error): this {
    return this.failNext(command, Number.POSITIVE_INFINITY, error);
  }

  /** Calls of `command` that reached the model (including the ones it failed), or only successful ones. */
  count(command: ModelCommand, which: 'all' | 'ok' = 'all'): number {
    return this.calls.filter((call) => call.command === command && (which === 'all' || call.outcome === 'ok'))
      .length;
  }

  // ---- the service --------------------------------------------------------------------------

  describeDBInstances(input: DescribeDBInstancesCommandInput): DescribeDBInstancesCommandOutput {
    let states: InstanceState[];
    if (input.DBInstanceIdentifier !== undefined) {
      const state = this.instances.get(input.DBInstanceIdentifier);
      if (state === undefined) {
        throw new DBInstanceNotFoundFault({
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      states = [state];
    } else {
      states = [...this.instances.values()];
    }
    const DBInstances = states.map((state) => {
      const rendered = this.renderInstance(state);
      this.advance(state);
      return rendered;
    });
    return { DBInstances, $metadata: { httpStatusCode: 200 } };
  }

  promoteReadReplica(input: PromoteReadReplicaCommandInput): PromoteReadReplicaCommandOutput {
    const id = input.DBInstanceIdentifier ?? '';
    const state = this.instances.get(id);
    if (state === undefined) {
      throw new DBInstanceNotFoundFault({
        message: `DBInstance ${id} not found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    if (state.sourceId === null) {
      throw new InvalidDBInstanceStateFault({
        message: 'DB Instance is not a read replica.',
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (state.promotionRequested || state.status !== 'available') {
      throw new InvalidDBInstanceStateFault({
        message: `Instance ${id} is not in available state (${state.status}).`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    state.promotionRequested = true;
    const source = state.sourceId;
    const phases = (count: number, status: string): Phase[] =>
      Array.from({ length: count }, () => ({ status, sourceId: source }));
    state.queue = [
      ...phases(this.promotion.stale, 'available'),
      ...phases(this.promotion.modifying, 'modifying'),
      ...phases(this.promotion.rebooting, 'rebooting'),
      { status: 'available', sourceId: null },
    ];
    this.advance(state);
    return { DBInstance: this.renderInstance(state), $metadata: { httpStatusCode: 200 } };
  }

  describeBlueGreenDeployments(
    input: DescribeBlueGreenDeploymentsCommandInput,
  ): DescribeBlueGreenDeploymentsCommandOutput {
    let states: DeploymentState[];
    if (input.BlueGreenDeploymentIdentifier !== undefined) {
      const state = this.deployments.get(input.BlueGreenDeploymentIdentifier);
      if (state === undefined) {
        throw new BlueGreenDeploymentNotFoundFault({
          message: `BlueGreenDeployment ${input.BlueGreenDeploymentIdentifier} not found.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      states = [state];
    } else {
      states = [...this.deployments.values()];
    }
    const BlueGreenDeployments = states.map((state) => {
      const rendered = this.renderDeployment(state);
      this.advanceDeployment(state);
      return rendered;
    });
    return { BlueGreenDeployments, $metadata: { httpStatusCode: 200 } };
  }

  switchoverBlueGreenDeployment(
    input: SwitchoverBlueGreenDeploymentCommandInput,
  ): SwitchoverBlueGreenDeploymentCommandOutput {
    const id = input.BlueGreenDeploymentIdentifier ?? '';
    const state = this.deployments.get(id);
    if (state === undefined) {
      throw new BlueGreenDeploymentNotFoundFault({
        message: `BlueGreenDeployment ${id} not found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    if (state.status !== 'AVAILABLE') {
      throw new InvalidBlueGreenDeploymentStateFault({
        message: `The blue/green deployment ${id} is ${state.status}; switchover needs AVAILABLE.`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    state.switchoverTimeout = input.SwitchoverTimeout ?? 300;
    state.status = 'SWITCHOVER_IN_PROGRESS';
    state.memberStatus = 'SWITCHOVER_IN_PROGRESS';
    state.statusDetails = null;
    state.remainingInProgress = state.inProgressDescribes;
    return { BlueGreenDeployment: this.renderDeployment(state), $metadata: { httpStatusCode: 200 } };
  }

  describeDBSnapshots(input: DescribeDBSnapshotsCommandInput): DescribeDBSnapshotsCommandOutput {
    const id = input.DBSnapshotIdentifier;
    let states = [...this.snapshots.values()];
    if (id !== undefined) {
      const state = this.snapshots.get(id);
      if (state === undefined) {
        throw new DBSnapshotNotFoundFault({
          message: `DBSnapshot ${id} not found.`,
          $metadata: { httpStatusCode: 404 },
        });
      }
      states = [state];
    }
    if (input.DBInstanceIdentifier !== undefined) {
      states = states.filter((state) => state.instanceId === input.DBInstanceIdentifier);
    }
    const DBSnapshots = states.map((state) => {
      const rendered = this.renderSnapshot(state);
      this.advanceSnapshot(state);
      return rendered;
    });
    return { DBSnapshots, $metadata: { httpStatusCode: 200 } };
  }

  createDBSnapshot(input: CreateDBSnapshotCommandInput): CreateDBSnapshotCommandOutput {
    const id = input.DBSnapshotIdentifier ?? '';
    const instance = this.needInstance(input.DBInstanceIdentifier ?? '');
    if (this.snapshots.has(id)) {
      throw new DBSnapshotAlreadyExistsFault({
        message: `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (instance.status !== 'available') {
      throw new InvalidDBInstanceStateFault({
        message: `Cannot create a snapshot: instance ${instance.id} is ${instance.status}.`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    const state: SnapshotState = {
      id,
      instanceId: instance.id,
      status: 'creating',
      remainingCreating: this.inPlace.snapshotDescribes,
    };
    this.snapshots.set(id, state);
    // A single-AZ instance shows backing-up while a manual snapshot is taken.
    instance.status = 'backing-up';
    this.events.push(`CreateDBSnapshot ${id}`);
    return { DBSnapshot: this.renderSnapshot(state), $metadata: { httpStatusCode: 200 } };
  }

  modifyDBInstance(input: ModifyDBInstanceCommandInput): ModifyDBInstanceCommandOutput {
    const state = this.needInstance(input.DBInstanceIdentifier ?? '');
    if (state.status !== 'available') {
      throw new InvalidDBInstanceStateFault({
        message: `Database instance is not in available state (${state.status}).`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    const requested: Partial<ModelSettings> = {};
    for (const key of MODIFIABLE_KEYS) {
      const value = input[key];
      if (value !== undefined) Object.assign(requested, { [key]: value });
    }
    const storageType = requested.StorageType ?? state.settings.StorageType;
    if (requested.Iops !== undefined && (storageType === 'gp2' || storageType === 'standard')) {
      throw invalidParameterCombination(
        `You can't specify IOPS or storage throughput for storage type ${storageType}.`,
      );
    }
    if (
      requested.AllocatedStorage !== undefined &&
      requested.AllocatedStorage < state.settings.AllocatedStorage
    ) {
      throw invalidParameterCombination(
        'Invalid storage size for engine name postgres and storage type gp2: cannot shrink.',
      );
    }
    if (
      requested.EngineVersion !== undefined &&
      requested.EngineVersion.split('.')[0] !== state.settings.EngineVersion.split('.')[0] &&
      input.AllowMajorVersionUpgrade !== true
    ) {
      throw invalidParameterCombination(
        'The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.',
      );
    }
    this.events.push(`ModifyDBInstance ${state.id} ApplyImmediately=${String(input.ApplyImmediately)}`);
    const { DBParameterGroupName, ...pending } = requested;
    if (DBParameterGroupName !== undefined) {
      state.settings.DBParameterGroupName = DBParameterGroupName;
      state.parameterApplyStatus = 'applying';
    }
    if (input.ApplyImmediately !== true) {
      // Without ApplyImmediately the change waits for the maintenance window: pending, for good.
      state.pending = pending;
      return { DBInstance: this.renderInstance(state), $metadata: { httpStatusCode: 200 } };
    }
    state.pending = pending;
    const phase = (status: string): Phase => ({ status, sourceId: state.sourceId });
    state.queue = [
      ...Array.from({ length: this.inPlace.modifyStale }, () => phase('available')),
      ...Array.from({ length: this.inPlace.modifying }, () => phase('modifying')),
      {
        ...phase('available'),
        apply: () => {
          state.settings = { ...state.settings, ...pending };
          state.pending = {};
          state.parameterApplyStatus = 'in-sync';
          this.events.push(`${state.id} applied`);
        },
      },
    ];
    return { DBInstance: this.renderInstance(state), $metadata: { httpStatusCode: 200 } };
  }

  describePendingMaintenanceActions(
    input: DescribePendingMaintenanceActionsCommandInput,
  ): DescribePendingMaintenanceActionsCommandOutput {
    const wanted = input.Filters?.find((filter) => filter.Name === 'db-instance-id')?.Values;
    const PendingMaintenanceActions = [...this.instances.values()]
      .filter((state) => state.maintenance.length > 0 && (wanted === undefined || wanted.includes(state.id)))
      .map((state) => ({
        ResourceIdentifier: this.arn(state.id),
        PendingMaintenanceActionDetails: state.maintenance.map((action) => ({
          Action: action.action,
          Description: action.description,
          ...(action.optInStatus === null ? {} : { OptInStatus: action.optInStatus }),
        })),
      }));
    return { PendingMaintenanceActions, $metadata: { httpStatusCode: 200 } };
  }

  applyPendingMaintenanceAction(
    input: ApplyPendingMaintenanceActionCommandInput,
  ): ApplyPendingMaintenanceActionCommandOutput {
    const arn = input.ResourceIdentifier ?? '';
    const state = [...this.instances.values()].find((candidate) => this.arn(candidate.id) === arn);
    const action = state?.maintenance.find((candidate) => candidate.action === input.ApplyAction);
    if (state === undefined || action === undefined) {
      throw new ResourceNotFoundFault({
        message: `No pending maintenance action ${input.ApplyAction ?? ''} for ${arn}.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    if (input.OptInType !== 'immediate') {
      action.optInStatus = input.OptInType ?? null;
      return { $metadata: { httpStatusCode: 200 } };
    }
    action.optInStatus = 'immediate';
    this.events.push(`ApplyPendingMaintenanceAction ${state.id} ${action.action}`);
    const phase = (status: string): Phase => ({ status, sourceId: state.sourceId });
    state.queue = [
      ...Array.from({ length: this.inPlace.upgrading }, () => phase('upgrading')),
      {
        ...phase('available'),
        apply: () => {
          state.maintenance = state.maintenance.filter((candidate) => candidate !== action);
          this.events.push(`${state.id} ${action.action} applied`);
        },
      },
    ];
    return { $metadata: { httpStatusCode: 200 } };
  }

  describeDBEngineVersions(
    input: DescribeDBEngineVersionsCommandInput,
  ): DescribeDBEngineVersionsCommandOutput {
    const engine = input.Engine ?? 'postgres';
    const version = input.EngineVersion ?? '';
    const targets = this.engineVersions.get(`${engine}:${version}`);
    const DBEngineVersions =
      targets === undefined
        ? []
        : [
            {
              Engine: engine,
              EngineVersion: version,
              ValidUpgradeTarget: targets.map((target) => ({
                Engine: engine,
                EngineVersion: target,
                IsMajorVersionUpgrade: target.split('.')[0] !== version.split('.')[0],
              })),
            },
          ];
    return { DBEngineVersions, $metadata: { httpStatusCode: 200 } };
  }

  getMetricData(input: GetMetricDataCommandInput): GetMetricDataCommandOutput {
    const start = input.StartTime?.getTime() ?? 0;
    const end = input.EndTime?.getTime() ?? Number.POSITIVE_INFINITY;
    const descending = (input.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
    const MetricDataResults = (input.MetricDataQueries ?? []).map((query) => {
      const metric = query.MetricStat?.Metric;
      const instanceId = metric?.Dimensions?.find((d) => d.Name === 'DBInstanceIdentifier')?.Value;
      const known = metric?.Namespace === 'AWS/RDS' && metric.MetricName === 'ReplicaLag';
      const points = (known && instanceId !== undefined ? (this.lag.get(instanceId) ?? []) : [])
        .filter((point) => point.at.getTime() >= start && point.at.getTime() < end)
        .sort((a, b) => (descending ? b.at.getTime() - a.at.getTime() : a.at.getTime() - b.at.getTime()));
      return {
        Id: query.Id,
        Label: metric?.MetricName,
        Timestamps: points.map((point) => point.at),
        Values: points.map((point) => point.value),
        StatusCode: 'Complete' as const,
      };
    });
    return { MetricDataResults, Messages: [], $metadata: { httpStatusCode: 200 } };
  }

  // ---- wiring -------------------------------------------------------------------------------

  /** Answers aws-sdk-client-mock stubs from the model. */
  installOn(rds: AwsClientStub<RDSClient>, cloudWatch?: AwsClientStub<CloudWatchClient>): void {
    rds
      .on(DescribeDBInstancesCommand)
      .callsFake((input: DescribeDBInstancesCommandInput) =>
        this.call('DescribeDBInstances', input, (i) => this.describeDBInstances(i)),
      );
    rds
      .on(PromoteReadReplicaCommand)
      .callsFake((input: PromoteReadReplicaCommandInput) =>
        this.call('PromoteReadReplica', input, (i) => this.promoteReadReplica(i)),
      );
    rds
      .on(DescribeBlueGreenDeploymentsCommand)
      .callsFake((input: DescribeBlueGreenDeploymentsCommandInput) =>
        this.call('DescribeBlueGreenDeployments', input, (i) => this.describeBlueGreenDeployments(i)),
      );
    rds
      .on(SwitchoverBlueGreenDeploymentCommand)
      .callsFake((input: SwitchoverBlueGreenDeploymentCommandInput) =>
        this.call('SwitchoverBlueGreenDeployment', input, (i) => this.switchoverBlueGreenDeployment(i)),
      );
    rds
      .on(DescribeDBSnapshotsCommand)
      .callsFake((input: DescribeDBSnapshotsCommandInput) =>
        this.call('DescribeDBSnapshots', input, (i) => this.describeDBSnapshots(i)),
      );
    rds
      .on(CreateDBSnapshotCommand)
      .callsFake((input: CreateDBSnapshotCommandInput) =>
        this.call('CreateDBSnapshot', input, (i) => this.createDBSnapshot(i)),
      );
    rds
      .on(ModifyDBInstanceCommand)
      .callsFake((input: ModifyDBInstanceCommandInput) =>
        this.call('ModifyDBInstance', input, (i) => this.modifyDBInstance(i)),
      );
    rds
      .on(DescribePendingMaintenanceActionsCommand)
      .callsFake((input: DescribePendingMaintenanceActionsCommandInput) =>
        this.call('DescribePendingMaintenanceActions', input, (i) =>
          this.describePendingMaintenanceActions(i),
        ),
      );
    rds
      .on(ApplyPendingMaintenanceActionCommand)
      .callsFake((input: ApplyPendingMaintenanceActionCommandInput) =>
        this.call('ApplyPendingMaintenanceAction', input, (i) => this.applyPendingMaintenanceAction(i)),
      );
    rds
      .on(DescribeDBEngineVersionsCommand)
      .callsFake((input: DescribeDBEngineVersionsCommandInput) =>
        this.call('DescribeDBEngineVersions', input, (i) => this.describeDBEngineVersions(i)),
      );
    cloudWatch
      ?.on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) =>
        this.call('GetMetricData', input, (i) => this.getMetricData(i)),
      );
  }

  /**
   * Puts the model where the network would be, inside the client's retry middleware.
   * `onRequest` sees each signed HTTP request (e.g. to check which endpoint the SDK resolved).
   */
  attachToRds(client: RDSClient, onRequest?: (request: unknown) => void): void {
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        onRequest?.(args.request);
        const output = (await this.dispatch(context.commandName, args.input)) as RdsOutput;
        return { response: {}, output };
      },
      { step: 'finalizeRequest', priority: 'low', name: 'rdsModelTransport', override: true },
    );
  }

  attachToCloudWatch(client: CloudWatchClient, onRequest?: (request: unknown) => void): void {
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        onRequest?.(args.request);
        const output = (await this.dispatch(context.commandName, args.input)) as CloudWatchOutput;
        return { response: {}, output };
      },
      { step: 'finalizeRequest', priority: 'low', name: 'cloudWatchModelTransport', override: true },
    );
  }

  // ---- internals ----------------------------------------------------------------------------

  private dispatch(commandName: string | undefined, input: unknown): Promise<unknown> {
    switch (commandName) {
      case 'DescribeDBInstancesCommand':
        return this.call('DescribeDBInstances', input as DescribeDBInstancesCommandInput, (i) =>
          this.describeDBInstances(i),
        );
      case 'PromoteReadReplicaCommand':
        return this.call('PromoteReadReplica', input as PromoteReadReplicaCommandInput, (i) =>
          this.promoteReadReplica(i),
        );
      case 'DescribeBlueGreenDeploymentsCommand':
        return this.call(
          'DescribeBlueGreenDeployments',
          input as DescribeBlueGreenDeploymentsCommandInput,
          (i) => this.describeBlueGreenDeployments(i),
        );
      case 'SwitchoverBlueGreenDeploymentCommand':
        return this.call(
          'SwitchoverBlueGreenDeployment',
          input as SwitchoverBlueGreenDeploymentCommandInput,
          (i) => this.switchoverBlueGreenDeployment(i),
        );
      case 'GetMetricDataCommand':
        return this.call('GetMetricData', input as GetMetricDataCommandInput, (i) => this.getMetricData(i));
      case 'DescribeDBSnapshotsCommand':
        return this.call('DescribeDBSnapshots', input as DescribeDBSnapshotsCommandInput, (i) =>
          this.describeDBSnapshots(i),
        );
      case 'CreateDBSnapshotCommand':
        return this.call('CreateDBSnapshot', input as CreateDBSnapshotCommandInput, (i) =>
          this.createDBSnapshot(i),
        );
      case 'DescribePendingMaintenanceActionsCommand':
        return this.call(
          'DescribePendingMaintenanceActions',
          input as DescribePendingMaintenanceActionsCommandInput,
          (i) => this.describePendingMaintenanceActions(i),
        );
      case 'ApplyPendingMaintenanceActionCommand':
        return this.call(
          'ApplyPendingMaintenanceAction',
          input as ApplyPendingMaintenanceActionCommandInput,
          (i) => this.applyPendingMaintenanceAction(i),
        );
      case 'DescribeDBEngineVersionsCommand':
        return this.call('DescribeDBEngineVersions', input as DescribeDBEngineVersionsCommandInput, (i) =>
          this.describeDBEngineVersions(i),
        );
      case 'ModifyDBInstanceCommand':
        return this.call('ModifyDBInstance', input as ModifyDBInstanceCommandInput, (i) =>
          this.modifyDBInstance(i),
        );
      default:
        return Promise.reject(new Error(`RdsModel does not implement ${commandName ?? 'this command'}`));
    }
  }

  /** Records the call, applies injected failures, then runs the handler; always async. */
  private async call<I, O>(command: ModelCommand, input: I, handler: (input: I) => O): Promise<O> {
    const injected = this.failures.get(command)?.find((failure) => failure.remaining > 0);
    if (injected !== undefined) {
      injected.remaining -= 1;
      const error = injected.error();
      this.calls.push({ command, input, outcome: error.name, at: Date.now() });
      throw error;
    }
    try {
      const output = handler(input);
      this.calls.push({ command, input, outcome: 'ok', at: Date.now() });
      return await Promise.resolve(output);
    } catch (error) {
      this.calls.push({
        command,
        input,
        outcome: error instanceof Error ? error.name : 'error',
        at: Date.now(),
      });
      throw error;
    }
  }

  private mustInstance(id: string): InstanceState {
    const state = this.instances.get(id);
    if (state === undefined) throw new Error(`RdsModel: no instance ${id}`);
    return state;
  }

  /** The instance, or the DBInstanceNotFound fault RDS answers. */
  private needInstance(id: string): InstanceState {
    const state = this.instances.get(id);
    if (state === undefined) {
      throw new DBInstanceNotFoundFault({
        message: `DBInstance ${id} not found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    return state;
  }

  private advance(state: InstanceState): void {
    const next = state.queue.shift();
    if (next === undefined) return;
    state.status = next.status;
    state.sourceId = next.sourceId;
    next.apply?.();
  }

  private advanceSnapshot(state: SnapshotState): void {
    if (state.status !== 'creating') return;
    state.remainingCreating -= 1;
    if (state.remainingCreating > 0) return;
    state.status = 'available';
    this.events.push(`snapshot ${state.id} available`);
    const instance = this.instances.get(state.instanceId);
    if (instance?.status === 'backing-up' && instance.queue.length === 0) instance.status = 'available';
  }

  private renderSnapshot(state: SnapshotState): DBSnapshot {
    const total = Math.max(1, this.inPlace.snapshotDescribes);
    return {
      DBSnapshotIdentifier: state.id,
      DBSnapshotArn: `arn:aws:rds:${this.region}:${MODEL_ACCOUNT}:snapshot:${state.id}`,
      DBInstanceIdentifier: state.instanceId,
      SnapshotType: 'manual',
      Status: state.status,
      PercentProgress:
        state.status === 'available' ? 100 : Math.round((100 * (total - state.remainingCreating)) / total),
    };
  }

  private renderInstance(state: InstanceState): DBInstance {
    const replicas = [...this.instances.values()]
      .filter((other) => other.sourceId === state.id)
      .map((other) => other.id);
    return {
      DBInstanceIdentifier: state.id,
      DBInstanceArn: this.arn(state.id),
      DBInstanceStatus: state.status,
      Engine: state.engine,
      Endpoint: { Address: `${state.id}.abcdefghijkl.${this.region}.rds.amazonaws.com`, Port: 5432 },
      DBInstanceClass: state.settings.DBInstanceClass,
      EngineVersion: state.settings.EngineVersion,
      AllocatedStorage: state.settings.AllocatedStorage,
      StorageType: state.settings.StorageType,
      ...(state.settings.Iops === undefined ? {} : { Iops: state.settings.Iops }),
      ...(state.settings.StorageThroughput === undefined
        ? {}
        : { StorageThroughput: state.settings.StorageThroughput }),
      MultiAZ: state.settings.MultiAZ,
      DBParameterGroups: [
        {
          DBParameterGroupName: state.settings.DBParameterGroupName,
          ParameterApplyStatus: state.parameterApplyStatus,
        },
      ],
      PendingModifiedValues: {
        ...(state.pendingModifications ? { DBInstanceClass: 'db.r6g.xlarge' } : {}),
        ...state.pending,
      },
      ReadReplicaDBInstanceIdentifiers: replicas,
      ...(state.sourceId === null ? {} : { ReadReplicaSourceDBInstanceIdentifier: state.sourceId }),
    };
  }

  private advanceDeployment(state: DeploymentState): void {
    if (state.status !== 'SWITCHOVER_IN_PROGRESS') return;
    state.remainingInProgress -= 1;
    if (state.remainingInProgress > 0) return;
    switch (state.result) {
      case 'completed':
        state.status = 'SWITCHOVER_COMPLETED';
        state.memberStatus = 'SWITCHOVER_COMPLETED';
        break;
      case 'failed':
        state.status = 'SWITCHOVER_FAILED';
        state.memberStatus = 'SWITCHOVER_FAILED';
        state.statusDetails = 'Switchover failed: the green environment could not be promoted.';
        break;
      case 'rolled_back':
        state.status = 'AVAILABLE';
        state.memberStatus = 'AVAILABLE';
        state.statusDetails = `Switchover did not complete within ${state.switchoverTimeout ?? 300} seconds; changes were rolled back.`;
        break;
    }
  }

  private renderDeployment(state: DeploymentState): BlueGreenDeployment {
    return {
      BlueGreenDeploymentIdentifier: state.id,
      BlueGreenDeploymentName: state.name,
      Source: this.arn(state.source),
      Target: this.arn(state.target),
      Status: state.status,
      ...(state.statusDetails === null ? {} : { StatusDetails: state.statusDetails }),
      SwitchoverDetails: [
        {
          SourceMember: this.arn(state.source),
          TargetMember: this.arn(state.target),
          Status: state.memberStatus,
        },
      ],
      Tasks: state.tasks.map((task) => ({ Name: task.name, Status: task.status })),
    };
  }
}
