// Amazon RDS over its Query protocol: the calls the RDS adapter makes (instances and read replicas,
// promotion, ModifyDBInstance, manual snapshots, pending maintenance, engine versions, Blue/Green),
// with RDS's own rules and wire codes:
//  - changes take time on the emulator's clock (a promoted replica: still `available` with its
//    source for a while, then `modifying`, `rebooting`, then standalone, `backing-up` while its
//    first backup runs; a new parameter group `pending-reboot` until RebootDBInstance; an engine
//    upgrade `upgrading`, or back to `available` on the old version when its pre-upgrade check fails);
//  - what happens is also told as RDS events (DescribeEvents), dated on that clock;
//  - refusals carry RDS's Query codes and statuses (DBInstanceNotFound 404, InvalidDBInstanceState
//    400, DBSnapshotAlreadyExists 400, ...), which the SDK maps onto its *Fault classes;
//  - throttling is `Throttling` with HTTP 400, a missing permission AccessDenied 403.
// An instance's endpoint can be a real PostgreSQL server (setEndpoint), to pair the emulator with a
// local primary/standby; with backWith, PromoteReadReplica promotes that real standby while the
// instance shows `rebooting`, and the promotion shows as done only once it is. One world for every region.
import { AwsError, invalidParameterValue } from './aws-error';
import { EmulatedServiceBase } from './emulated-service';
import { QueryProtocol } from './query-protocol';
import type { QueryParams } from './query-params';
import { MODIFIABLE, RDS_ACCOUNT, RDS_DEFAULT_DURATIONS } from './rds-state';
import type {
  BackingServer,
  DbEndpoint,
  DbEventState,
  DbInstanceState,
  DbSettings,
  DbSnapshotState,
  DeploymentState,
  RdsDurations,
  SwitchoverResult,
} from './rds-state';
import {
  dbEventXml,
  dbInstanceXml,
  dbSnapshotXml,
  deploymentXml,
  engineVersionXml,
  maintenanceXml,
} from './rds-xml';
import type { Timeline } from './timeline';
import { element, list } from './xml';

export { RDS_ACCOUNT, RDS_DEFAULT_DURATIONS };
export type { BackingServer, DbEndpoint, DbSettings, RdsDurations, SwitchoverResult };

export interface DbInstanceOptions {
  status?: string;
  sourceId?: string | null;
  engine?: string;
  /** Modifications already pending (PendingModifiedValues), e.g. { DBInstanceClass: 'db.r6g.xlarge' }. */
  pending?: Partial<DbSettings>;
  /** Defaults: db.t3.medium, postgres 15.5, 100 GiB gp2, single-AZ, default.postgres15. */
  settings?: Partial<DbSettings>;
  /** Default `<id>.c0abcdefghij.<region>.rds.amazonaws.com:5432`. */
  endpoint?: DbEndpoint;
  /** Default 7 days for an instance, 0 for a read replica (RDS's defaults for PostgreSQL). */
  backupRetentionPeriod?: number;
  /** Default false. */
  deletionProtection?: boolean;
}

export interface MaintenanceOptions {
  description?: string;
  optInStatus?: string;
}

export interface BlueGreenOptions {
  /** Instance ids of blue (source) and green (target). */
  source: string;
  target: string;
  name?: string;
  status?: string;
  statusDetails?: string;
  tasks?: { name: string; status: string }[];
  /** Switchover status of the member pair before a switchover. Default AVAILABLE. */
  memberStatus?: string;
  /** How a switchover ends, and after how long in SWITCHOVER_IN_PROGRESS (default: the durations'). */
  switchover?: { result: SwitchoverResult; durationMs?: number };
}

/** What a test sees of a DB instance. */
export interface DbInstanceView {
  id: string;
  status: string;
  sourceId: string | null;
  settings: DbSettings;
  pending: Partial<DbSettings>;
  endpoint: DbEndpoint;
}

export interface DbSnapshotView {
  id: string;
  instanceId: string;
  status: string;
}

/** How the promotion of an instance's backing server ended (kept off the plain state data). */
const serverOutcomes = new WeakMap<DbInstanceState, 'done' | 'failed'>();

export function rdsError(code: string, status: number, message: string): AwsError {
  return new AwsError(code, status, message);
}

export function accessDeniedMessage(action: string): string {
  return `User: arn:aws:iam::${RDS_ACCOUNT}:user/cutover-bot is not authorized to perform: ${action}`;
}

/** RDS's answer to a ModifyDBInstance it validated and refused. */
export function invalidParameterCombination(message: string): AwsError {
  return rdsError('InvalidParameterCombination', 400, message);
}

export class RdsEmulator extends EmulatedServiceBase<QueryParams> {
  readonly signingName = 'rds';
  protected readonly protocol = new QueryProtocol({
    kind: 'query',
    version: '2014-10-31',
    xmlns: 'http://rds.amazonaws.com/doc/2014-10-31/',
  });
  protected readonly handlers: Readonly<Record<string, (params: QueryParams) => string>> = {
    DescribeDBInstances: (params) => this.describeDBInstances(params),
    PromoteReadReplica: (params) => this.promoteReadReplica(params),
    ModifyDBInstance: (params) => this.modifyDBInstance(params),
    CreateDBSnapshot: (params) => this.createDBSnapshot(params),
    DescribeDBSnapshots: (params) => this.describeDBSnapshots(params),
    DescribePendingMaintenanceActions: (params) => this.describePendingMaintenanceActions(params),
    ApplyPendingMaintenanceAction: (params) => this.applyPendingMaintenanceAction(params),
    DescribeDBEngineVersions: (params) => this.describeDBEngineVersions(params),
    DescribeBlueGreenDeployments: (params) => this.describeBlueGreenDeployments(params),
    SwitchoverBlueGreenDeployment: (params) => this.switchoverBlueGreenDeployment(params),
    RebootDBInstance: (params) => this.rebootDBInstance(params),
    DescribeEvents: (params) => this.describeEvents(params),
  };

  private durations: RdsDurations;
  private readonly instances = new Map<string, DbInstanceState>();
  private readonly snapshots = new Map<string, DbSnapshotState>();
  private readonly deployments = new Map<string, DeploymentState>();
  private readonly engineVersions = new Map<string, string[]>();
  private readonly dbEvents: DbEventState[] = [];
  /**
   * What happened to the world, in order: the changes RDS accepted and the state changes they led
   * to (`CreateDBSnapshot s`, `snapshot s available`, `ModifyDBInstance i ...`, `i applied`).
   */
  readonly events: string[] = [];

  constructor(
    timeline: Timeline,
    readonly region: string,
    durations: Partial<RdsDurations> = {},
  ) {
    super(timeline);
    this.durations = { ...RDS_DEFAULT_DURATIONS, ...durations };
  }

  /** An empty world with these durations; calls, faults and permissions forgotten. */
  reset(durations: Partial<RdsDurations> = {}): this {
    this.resetBase();
    this.durations = { ...RDS_DEFAULT_DURATIONS, ...durations };
    this.instances.clear();
    this.snapshots.clear();
    this.deployments.clear();
    this.engineVersions.clear();
    this.events.length = 0;
    this.dbEvents.length = 0;
    return this;
  }

  arn(instanceId: string): string {
    return `arn:aws:rds:${this.region}:${RDS_ACCOUNT}:db:${instanceId}`;
  }

  // ---- setup --------------------------------------------------------------------------------

  addInstance(id: string, options: DbInstanceOptions = {}): this {
    this.instances.set(id, {
      id,
      status: options.status ?? 'available',
      sourceId: options.sourceId ?? null,
      engine: options.engine ?? 'postgres',
      endpoint: options.endpoint ?? {
        address: `${id}.c0abcdefghij.${this.region}.rds.amazonaws.com`,
        port: 5432,
      },
      createTime: new Date(this.timeline.now() - 86_400_000),
      promotionRequested: false,
      backupRetentionPeriod: options.backupRetentionPeriod ?? (options.sourceId ? 0 : 7),
      deletionProtection: options.deletionProtection ?? false,
      settings: {
        DBInstanceClass: 'db.t3.medium',
        EngineVersion: '15.5',
        AllocatedStorage: 100,
        StorageType: 'gp2',
        DBParameterGroupName: 'default.postgres15',
        MultiAZ: false,
        ...options.settings,
      },
      pending: { ...options.pending },
      parameterApplyStatus: 'in-sync',
      maintenance: [],
    });
    return this;
  }

  addReplica(id: string, sourceId: string, options: Omit<DbInstanceOptions, 'sourceId'> = {}): this {
    return this.addInstance(id, { ...options, sourceId });
  }

  /** Points the instance's endpoint somewhere real (a local PostgreSQL server). */
  setEndpoint(id: string, endpoint: DbEndpoint): this {
    this.mustInstance(id).endpoint = { ...endpoint };
    return this;
  }

  /**
   * A real server behind the instance (its endpoint set with setEndpoint): RDS's promotion of the
   * instance promotes it.
   */
  backWith(id: string, server: BackingServer): this {
    this.mustInstance(id).server = server;
    return this;
  }

  /** The instance's next engine upgrade fails its pre-upgrade check, with this RDS event message. */
  failNextUpgradePrecheck(id: string, message: string): this {
    this.mustInstance(id).upgradePrecheckFailure = message;
    return this;
  }

  /** Sets an instance's status now; a promotion under way goes on from there. */
  setStatus(id: string, status: string): this {
    this.mustInstance(id).status = status;
    return this;
  }

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
      switchoverMs: options.switchover?.durationMs ?? null,
      switchoverTimeout: null,
      createTime: new Date(this.timeline.now() - 86_400_000),
    });
    return this;
  }

  // ---- inspection (the world as RDS shows it now) --------------------------------------------

  instance(id: string): DbInstanceView | undefined {
    this.settle();
    const instance = this.instances.get(id);
    if (instance === undefined) return undefined;
    return {
      id,
      status: instance.status,
      sourceId: instance.sourceId,
      settings: { ...instance.settings },
      pending: { ...instance.pending },
      endpoint: { ...instance.endpoint },
    };
  }

  snapshot(id: string): DbSnapshotView | undefined {
    this.settle();
    const snapshot = this.snapshots.get(id);
    return snapshot === undefined
      ? undefined
      : { id, instanceId: snapshot.instanceId, status: snapshot.status };
  }

  snapshotIds(): string[] {
    return [...this.snapshots.keys()];
  }

  deployment(id: string): { status: string; switchoverTimeout: number | null } | undefined {
    this.settle();
    const deployment = this.deployments.get(id);
    return deployment && { status: deployment.status, switchoverTimeout: deployment.switchoverTimeout };
  }

  // ---- the service's rules ------------------------------------------------------------------

  protected throttlingError(): AwsError {
    return rdsError('Throttling', 400, 'Rate exceeded');
  }

  protected notAuthorized(action: string): AwsError {
    return rdsError('AccessDenied', 403, accessDeniedMessage(`rds:${action}`));
  }

  protected authenticationFailure(reason: 'missing' | 'unknown-key' | 'bad-signature'): AwsError {
    switch (reason) {
      case 'missing':
        return rdsError('MissingAuthenticationToken', 403, 'Request is missing Authentication Token');
      case 'unknown-key':
        return rdsError(
          'InvalidClientTokenId',
          403,
          'The security token included in the request is invalid.',
        );
      case 'bad-signature':
        return rdsError(
          'SignatureDoesNotMatch',
          403,
          'The request signature we calculated does not match the signature you provided.',
        );
    }
  }

  protected summarize(action: string, params: Readonly<Record<string, unknown>>): string {
    const subject = [
      'DBInstanceIdentifier',
      'BlueGreenDeploymentIdentifier',
      'DBSnapshotIdentifier',
      'ResourceIdentifier',
    ]
      .map((key) => params[key])
      .find((value): value is string => typeof value === 'string');
    return subject === undefined ? action : `${action} ${subject}`;
  }

  private describeDBInstances(params: QueryParams): string {
    const id = params.string('DBInstanceIdentifier');
    const found = id === undefined ? [...this.instances.values()] : [this.instanceFor(id)];
    return list(
      'DBInstances',
      'DBInstance',
      found.map((instance) => this.instanceXml(instance)),
    );
  }

  private promoteReadReplica(params: QueryParams): string {
    const instance = this.instanceFor(params.required('DBInstanceIdentifier'));
    if (instance.sourceId === null) {
      throw rdsError('InvalidDBInstanceState', 400, 'DB Instance is not a read replica.');
    }
    if (instance.promotionRequested || instance.status !== 'available') {
      throw rdsError(
        'InvalidDBInstanceState',
        400,
        `Instance ${instance.id} is not in available state (${instance.status}).`,
      );
    }
    instance.promotionRequested = true;
    this.events.push(`PromoteReadReplica ${instance.id}`);
    this.tell(instance.id, 'read replica', 'Promotion of the read replica to a standalone instance started');
    const retention = params.int('BackupRetentionPeriod');
    const { promoteStaleMs, promoteModifyingMs, promoteRebootingMs } = this.durations;
    this.timeline.after(promoteStaleMs, () => (instance.status = 'modifying'));
    this.timeline.after(promoteStaleMs + promoteModifyingMs, () => {
      instance.status = 'rebooting';
      this.promoteServer(instance);
    });
    this.timeline.after(promoteStaleMs + promoteModifyingMs + promoteRebootingMs, (at) =>
      this.finishPromotion(instance, at, retention ?? 1),
    );
    this.settle();
    return element('DBInstance', this.instanceXml(instance));
  }

  /** The real server behind a promoted replica is promoted while RDS shows `rebooting`. */
  private promoteServer(instance: DbInstanceState): void {
    instance.server?.promote().then(
      () => serverOutcomes.set(instance, 'done'),
      (error: unknown) => {
        this.events.push(`${instance.id} server promotion failed: ${String(error)}`);
        serverOutcomes.set(instance, 'failed');
      },
    );
  }

  /** Standalone once its real server (if any) is promoted; `backing-up` for a while, then available. */
  private finishPromotion(instance: DbInstanceState, at: number, retention: number): void {
    if (instance.server !== undefined && !serverOutcomes.has(instance)) {
      // The server's promotion is still running: the instance keeps rebooting until it is done.
      this.timeline.after(5, (later) => this.finishPromotion(instance, later, retention));
      return;
    }
    if (serverOutcomes.get(instance) === 'failed') {
      instance.status = 'failed';
      return;
    }
    instance.sourceId = null;
    instance.backupRetentionPeriod = retention;
    this.events.push(`${instance.id} promoted`);
    this.tell(instance.id, 'read replica', 'Read replica has been promoted to a standalone DB instance', at);
    const { promoteBackingUpMs } = this.durations;
    if (promoteBackingUpMs <= 0 || retention === 0) {
      instance.status = 'available';
      return;
    }
    instance.status = 'backing-up';
    this.timeline.after(promoteBackingUpMs, () => {
      if (instance.status === 'backing-up') instance.status = 'available';
    });
  }

  private modifyDBInstance(params: QueryParams): string {
    const instance = this.instanceFor(params.required('DBInstanceIdentifier'));
    if (instance.status !== 'available') {
      throw rdsError(
        'InvalidDBInstanceState',
        400,
        `Database instance is not in available state (${instance.status}).`,
      );
    }
    const requested = requestedSettings(params);
    const storageType = requested.StorageType ?? instance.settings.StorageType;
    if (requested.Iops !== undefined && (storageType === 'gp2' || storageType === 'standard')) {
      throw invalidParameterCombination(
        `You can't specify IOPS or storage throughput for storage type ${storageType}.`,
      );
    }
    if (
      requested.AllocatedStorage !== undefined &&
      requested.AllocatedStorage < instance.settings.AllocatedStorage
    ) {
      throw invalidParameterCombination(
        `Invalid storage size for engine name ${instance.engine} and storage type ${storageType}: cannot shrink.`,
      );
    }
    const major = (version: string): string => version.split('.')[0] ?? version;
    if (
      requested.EngineVersion !== undefined &&
      major(requested.EngineVersion) !== major(instance.settings.EngineVersion) &&
      params.bool('AllowMajorVersionUpgrade') !== true
    ) {
      throw invalidParameterCombination(
        'The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.',
      );
    }
    const applyImmediately = params.bool('ApplyImmediately') === true;
    this.events.push(`ModifyDBInstance ${instance.id} ApplyImmediately=${String(applyImmediately)}`);
    const { DBParameterGroupName, ...pending } = requested;
    if (DBParameterGroupName !== undefined) {
      instance.settings.DBParameterGroupName = DBParameterGroupName;
      instance.parameterApplyStatus = 'applying';
    }
    instance.pending = pending;
    // Without ApplyImmediately the change waits for the maintenance window: pending, for good here.
    if (applyImmediately) {
      const { modifyStaleMs, modifyingMs } = this.durations;
      const upgrade =
        requested.EngineVersion !== undefined && requested.EngineVersion !== instance.settings.EngineVersion;
      const precheckFailure = upgrade ? instance.upgradePrecheckFailure : undefined;
      if (upgrade) delete instance.upgradePrecheckFailure;
      this.timeline.after(modifyStaleMs, () => (instance.status = upgrade ? 'upgrading' : 'modifying'));
      this.timeline.after(modifyStaleMs + modifyingMs, (at) => {
        instance.status = 'available';
        instance.pending = {};
        if (precheckFailure !== undefined) {
          // RDS gives up before touching the data: back to available on the old version.
          instance.parameterApplyStatus = 'in-sync';
          this.events.push(`${instance.id} upgrade precheck failed`);
          this.tell(instance.id, 'notification', precheckFailure, at);
          return;
        }
        instance.settings = { ...instance.settings, ...pending };
        // A newly associated parameter group takes effect at the next reboot.
        instance.parameterApplyStatus = DBParameterGroupName !== undefined ? 'pending-reboot' : 'in-sync';
        this.events.push(`${instance.id} applied`);
        this.tell(instance.id, 'configuration change', 'Finished applying modification to DB instance', at);
      });
    }
    return element('DBInstance', this.instanceXml(instance));
  }

  private createDBSnapshot(params: QueryParams): string {
    const id = params.required('DBSnapshotIdentifier');
    const instance = this.instanceFor(params.required('DBInstanceIdentifier'));
    if (this.snapshots.has(id)) {
      throw rdsError(
        'DBSnapshotAlreadyExists',
        400,
        `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`,
      );
    }
    if (instance.status !== 'available') {
      throw rdsError(
        'InvalidDBInstanceState',
        400,
        `Cannot create a snapshot: instance ${instance.id} is ${instance.status}.`,
      );
    }
    const snapshot: DbSnapshotState = {
      id,
      instanceId: instance.id,
      status: 'creating',
      createTime: new Date(this.timeline.now()),
      durationMs: this.durations.snapshotMs,
      engine: instance.engine,
      allocatedStorage: instance.settings.AllocatedStorage,
    };
    this.snapshots.set(id, snapshot);
    // A single-AZ instance shows backing-up while a manual snapshot is taken.
    instance.status = 'backing-up';
    this.events.push(`CreateDBSnapshot ${id}`);
    this.timeline.after(snapshot.durationMs, (at) => {
      snapshot.status = 'available';
      this.events.push(`snapshot ${id} available`);
      this.tell(instance.id, 'backup', `Manual snapshot ${id} created`, at);
      if (instance.status === 'backing-up') instance.status = 'available';
    });
    return element('DBSnapshot', dbSnapshotXml(snapshot, this.snapshotArn(id), this.percentOf(snapshot)));
  }

  private describeDBSnapshots(params: QueryParams): string {
    const id = params.string('DBSnapshotIdentifier');
    let found = [...this.snapshots.values()];
    if (id !== undefined) {
      const snapshot = this.snapshots.get(id);
      if (snapshot === undefined) throw rdsError('DBSnapshotNotFound', 404, `DBSnapshot ${id} not found.`);
      found = [snapshot];
    }
    const instanceId = params.string('DBInstanceIdentifier');
    if (instanceId !== undefined) found = found.filter((snapshot) => snapshot.instanceId === instanceId);
    return list(
      'DBSnapshots',
      'DBSnapshot',
      found.map((snapshot) =>
        dbSnapshotXml(snapshot, this.snapshotArn(snapshot.id), this.percentOf(snapshot)),
      ),
    );
  }

  private describePendingMaintenanceActions(params: QueryParams): string {
    const filter = params
      .structs('Filters.Filter')
      .find((candidate) => candidate.string('Name') === 'db-instance-id');
    const wanted = filter?.list('Values.Value');
    const resource = params.string('ResourceIdentifier');
    const found = [...this.instances.values()].filter(
      (instance) =>
        instance.maintenance.length > 0 &&
        (wanted === undefined || wanted.includes(instance.id) || wanted.includes(this.arn(instance.id))) &&
        (resource === undefined || resource === this.arn(instance.id)),
    );
    return list(
      'PendingMaintenanceActions',
      'ResourcePendingMaintenanceActions',
      found.map((instance) => maintenanceXml(this.arn(instance.id), instance.maintenance)),
    );
  }

  private applyPendingMaintenanceAction(params: QueryParams): string {
    const arn = params.required('ResourceIdentifier');
    const applyAction = params.required('ApplyAction');
    const optInType = params.required('OptInType');
    if (!['immediate', 'next-maintenance', 'undo-opt-in'].includes(optInType)) {
      throw invalidParameterValue(`Invalid OptInType: ${optInType}`);
    }
    const instance = [...this.instances.values()].find((candidate) => this.arn(candidate.id) === arn);
    const action = instance?.maintenance.find((candidate) => candidate.action === applyAction);
    if (instance === undefined || action === undefined) {
      throw rdsError(
        'ResourceNotFoundFault',
        404,
        `No pending maintenance action ${applyAction} for ${arn}.`,
      );
    }
    action.optInStatus = optInType;
    if (optInType === 'immediate') {
      this.events.push(`ApplyPendingMaintenanceAction ${instance.id} ${action.action}`);
      this.timeline.after(0, () => (instance.status = 'upgrading'));
      this.timeline.after(this.durations.upgradingMs, (at) => {
        instance.maintenance = instance.maintenance.filter((candidate) => candidate !== action);
        instance.status = 'available';
        this.events.push(`${instance.id} ${action.action} applied`);
        this.tell(instance.id, 'maintenance', `Finished applying ${action.action}`, at);
      });
    }
    return element('ResourcePendingMaintenanceActions', maintenanceXml(arn, instance.maintenance));
  }

  private describeDBEngineVersions(params: QueryParams): string {
    const engine = params.string('Engine') ?? 'postgres';
    const version = params.string('EngineVersion');
    const found = [...this.engineVersions.entries()].filter(([key]) =>
      version === undefined ? key.startsWith(`${engine}:`) : key === `${engine}:${version}`,
    );
    return list(
      'DBEngineVersions',
      'DBEngineVersion',
      found.map(([key, targets]) => engineVersionXml(engine, key.slice(engine.length + 1), targets)),
    );
  }

  private describeBlueGreenDeployments(params: QueryParams): string {
    const id = params.string('BlueGreenDeploymentIdentifier');
    const found = id === undefined ? [...this.deployments.values()] : [this.deploymentFor(id)];
    return list(
      'BlueGreenDeployments',
      'member',
      found.map((deployment) =>
        deploymentXml(deployment, this.arn(deployment.source), this.arn(deployment.target)),
      ),
    );
  }

  private switchoverBlueGreenDeployment(params: QueryParams): string {
    const deployment = this.deploymentFor(params.required('BlueGreenDeploymentIdentifier'));
    if (deployment.status !== 'AVAILABLE') {
      throw rdsError(
        'InvalidBlueGreenDeploymentStateFault',
        400,
        `The blue/green deployment ${deployment.id} is ${deployment.status}; switchover needs AVAILABLE.`,
      );
    }
    const timeout = params.int('SwitchoverTimeout') ?? 300;
    deployment.switchoverTimeout = timeout;
    deployment.status = 'SWITCHOVER_IN_PROGRESS';
    deployment.memberStatus = 'SWITCHOVER_IN_PROGRESS';
    deployment.statusDetails = null;
    this.timeline.after(deployment.switchoverMs ?? this.durations.switchoverMs, () => {
      switch (deployment.result) {
        case 'completed':
          deployment.status = 'SWITCHOVER_COMPLETED';
          deployment.memberStatus = 'SWITCHOVER_COMPLETED';
          break;
        case 'failed':
          deployment.status = 'SWITCHOVER_FAILED';
          deployment.memberStatus = 'SWITCHOVER_FAILED';
          deployment.statusDetails = 'Switchover failed: the green environment could not be promoted.';
          break;
        case 'rolled_back':
          deployment.status = 'AVAILABLE';
          deployment.memberStatus = 'AVAILABLE';
          deployment.statusDetails = `Switchover did not complete within ${timeout} seconds; changes were rolled back.`;
          break;
      }
    });
    return element(
      'BlueGreenDeployment',
      deploymentXml(deployment, this.arn(deployment.source), this.arn(deployment.target)),
    );
  }

  private rebootDBInstance(params: QueryParams): string {
    const instance = this.instanceFor(params.required('DBInstanceIdentifier'));
    if (instance.status !== 'available') {
      throw rdsError(
        'InvalidDBInstanceState',
        400,
        `DB instance ${instance.id} is not in available state (${instance.status}).`,
      );
    }
    instance.status = 'rebooting';
    this.events.push(`RebootDBInstance ${instance.id}`);
    this.timeline.after(this.durations.rebootMs, (at) => {
      if (instance.status === 'rebooting') instance.status = 'available';
      if (instance.parameterApplyStatus === 'pending-reboot') instance.parameterApplyStatus = 'in-sync';
      this.tell(instance.id, 'availability', 'DB instance restarted', at);
    });
    return element('DBInstance', this.instanceXml(instance));
  }

  private describeEvents(params: QueryParams): string {
    const sourceType = params.string('SourceType');
    if (sourceType !== undefined && sourceType !== 'db-instance') {
      throw invalidParameterValue(`This emulator tells events of DB instances only, not ${sourceType}`);
    }
    const sourceId = params.string('SourceIdentifier');
    const now = this.timeline.now();
    const duration = params.int('Duration') ?? 60;
    const start = Date.parse(params.string('StartTime') ?? '') || now - duration * 60_000;
    const end = Date.parse(params.string('EndTime') ?? '') || now;
    const found = this.dbEvents.filter(
      (event) =>
        (sourceId === undefined || event.sourceId === sourceId) &&
        event.date.getTime() >= start &&
        event.date.getTime() <= end,
    );
    return list(
      'Events',
      'Event',
      found.map((event) => dbEventXml(event, this.arn(event.sourceId))),
    );
  }

  /** An RDS event about the instance, dated when it happened on the emulator's clock (default now). */
  private tell(sourceId: string, category: string, message: string, at = this.timeline.now()): void {
    this.dbEvents.push({ sourceId, date: new Date(at), message, categories: [category] });
  }

  // ---- lookups ------------------------------------------------------------------------------

  private instanceXml(instance: DbInstanceState): string {
    const replicas = [...this.instances.values()]
      .filter((other) => other.sourceId === instance.id)
      .map((other) => other.id);
    return dbInstanceXml(instance, this.arn(instance.id), `${this.region}a`, replicas);
  }

  private snapshotArn(id: string): string {
    return `arn:aws:rds:${this.region}:${RDS_ACCOUNT}:snapshot:${id}`;
  }

  private percentOf(snapshot: DbSnapshotState): number {
    if (snapshot.status === 'available') return 100;
    if (snapshot.durationMs <= 0) return 0;
    const elapsed = this.timeline.now() - snapshot.createTime.getTime();
    return Math.min(99, Math.floor((elapsed * 100) / snapshot.durationMs));
  }

  private instanceFor(id: string): DbInstanceState {
    const instance = this.instances.get(id);
    if (instance === undefined) throw rdsError('DBInstanceNotFound', 404, `DBInstance ${id} not found.`);
    return instance;
  }

  private deploymentFor(id: string): DeploymentState {
    const deployment = this.deployments.get(id);
    if (deployment === undefined) {
      throw rdsError('BlueGreenDeploymentNotFoundFault', 404, `BlueGreenDeployment ${id} not found.`);
    }
    return deployment;
  }

  private mustInstance(id: string): DbInstanceState {
    const instance = this.instances.get(id);
    if (instance === undefined) throw new Error(`RdsEmulator: no instance ${id}`);
    return instance;
  }
}

/** The modifiable values a ModifyDBInstance request names. */
function requestedSettings(params: QueryParams): Partial<DbSettings> {
  const requested: Partial<DbSettings> = {};
  for (const key of MODIFIABLE) {
    const raw = params.string(key);
    if (raw === undefined) continue;
    switch (key) {
      case 'AllocatedStorage':
      case 'Iops':
      case 'StorageThroughput':
        requested[key] = params.int(key);
        break;
      case 'MultiAZ':
        requested[key] = params.bool(key);
        break;
      default:
        requested[key] = raw;
    }
  }
  return requested;
}
