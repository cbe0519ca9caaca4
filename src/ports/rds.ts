// Amazon RDS as the strategies see it: read-replica promotion and Blue/Green switchover
// (replica-promotion), snapshots, ModifyDBInstance and maintenance actions (in-place). Step-shaped
// on purpose: an executor describes first and acts only if the world still needs it, so a job that
// crashed after sending PromoteReadReplica never sends it again.
// This file imports no SDK: executors and their fakes depend on it alone.

export interface RdsEndpoint {
  address: string;
  port: number;
}

/** One DB instance, trimmed to what promotion needs. */
export interface ReplicaDescription {
  id: string;
  /** DBInstanceStatus as RDS reports it: available, backing-up, modifying, rebooting, ... */
  status: string;
  /**
   * ReadReplicaSourceDBInstanceIdentifier: the primary's identifier (an ARN for a cross-region
   * replica); null once the instance is standalone (never was, or promoted).
   */
  sourceId: string | null;
  /** True when PendingModifiedValues holds anything (changes queued for a reboot/window). */
  pendingModifications: boolean;
  endpoint?: RdsEndpoint;
  engine?: string;
  /** ReadReplicaDBInstanceIdentifiers: replicas of this instance. */
  replicaIds: string[];
  // What the plan sets beside the source's (parity): absent when RDS did not say.
  instanceClass?: string;
  engineVersion?: string;
  multiAZ?: boolean;
  /** Days of automated backups; 0: none (no point-in-time recovery). */
  backupRetentionPeriod?: number;
  deletionProtection?: boolean;
  /** The first DB parameter group's name. */
  parameterGroup?: string;
}

/** An RDS event about one DB instance (DescribeEvents). */
export interface RdsEvent {
  /** ISO-8601. */
  date: string;
  message: string;
  categories: string[];
}

/** How a wait for `available` ended. Refusals (not found, access denied) throw AwsRefusal instead. */
export type WaitAvailableResult =
  | { outcome: 'available'; instance: ReplicaDescription }
  /** The instance reached a state it will not come back from by itself (failed, deleting, incompatible-*). */
  | { outcome: 'failed'; instance: ReplicaDescription }
  | { outcome: 'timed_out'; instance: ReplicaDescription };

export interface WaitAvailableOptions {
  /**
   * Also require ReadReplicaSourceDBInstanceIdentifier to be gone. Right after PromoteReadReplica
   * an instance can still read `available` with its source set for a while; waiting for
   * `available` alone could end before the promotion has even begun.
   */
  untilPromoted?: boolean;
  /**
   * Also accept `backing-up`: a promoted replica takes its first backup while it already serves. The
   * SDK's DBInstanceAvailable waiter knows only `available`, so the adapter polls describe itself.
   */
  orBackingUp?: boolean;
}

export interface BlueGreenMember {
  /** ARN of the blue (source) resource. */
  source: string | null;
  /** ARN of the green (target) resource. */
  target: string | null;
  /** PROVISIONING, AVAILABLE, SWITCHOVER_IN_PROGRESS, SWITCHOVER_COMPLETED, SWITCHOVER_FAILED, MISSING_SOURCE, MISSING_TARGET */
  status: string;
}

export interface BlueGreenTask {
  name: string;
  /** PENDING, IN_PROGRESS, COMPLETED, FAILED */
  status: string;
}

export interface BlueGreenDescription {
  id: string;
  name: string | null;
  /** PROVISIONING, AVAILABLE, SWITCHOVER_IN_PROGRESS, SWITCHOVER_COMPLETED, INVALID_CONFIGURATION, SWITCHOVER_FAILED, DELETING */
  status: string;
  statusDetails: string | null;
  /** ARN of the blue environment's source database. */
  source: string | null;
  /** ARN of the green environment's target database. */
  target: string | null;
  /**
   * Status AVAILABLE, every switchover member AVAILABLE and every task COMPLETED: green is
   * provisioned and replicating. (RDS itself checks replica lag again during the switchover and
   * rolls back if it cannot catch up within SwitchoverTimeout.)
   */
  switchoverReady: boolean;
  members: BlueGreenMember[];
  tasks: BlueGreenTask[];
}

/**
 * How a wait for a Blue/Green switchover ended. Only SWITCHOVER_COMPLETED is success.
 * - ROLLED_BACK: seen SWITCHOVER_IN_PROGRESS, then AVAILABLE again (RDS rolled back, e.g. after
 *   SwitchoverTimeout); blue still serves.
 * - NOT_STARTED: AVAILABLE past the start grace period (counted from the request) and not seen in
 *   progress by this call: the request did not take, or it rolled back while nobody was looking
 *   (e.g. between two wait slices); blue still serves either way.
 * - NOT_FOUND: the deployment is gone.
 * - TIMED_OUT: still in progress (or provisioning) when the wait ran out; nothing is decided yet.
 */
export type SwitchoverOutcome =
  | 'SWITCHOVER_COMPLETED'
  | 'SWITCHOVER_FAILED'
  | 'INVALID_CONFIGURATION'
  | 'DELETING'
  | 'ROLLED_BACK'
  | 'NOT_STARTED'
  | 'NOT_FOUND'
  | 'TIMED_OUT';

export interface WaitSwitchoverOptions {
  /** When the switchover was requested; default: the start of this call. */
  requestedAt?: Date;
}

export interface SwitchoverWaitResult {
  outcome: SwitchoverOutcome;
  /** The last description seen; null when the deployment was not found. */
  deployment: BlueGreenDescription | null;
}

/** RDS as the strategies see it; the in-place methods are in RdsInPlacePort below. */
export interface RdsPort extends RdsInPlacePort {
  /** DescribeDBInstances for one instance; null when it does not exist. */
  describeReplica(region: string, instanceId: string): Promise<ReplicaDescription | null>;
  /**
   * Latest CloudWatch `ReplicaLag` (AWS/RDS, seconds) of the last few minutes; null when there is
   * no datapoint or RDS reports a negative value (replication not running).
   */
  replicaLagSeconds(region: string, replicaId: string): Promise<number | null>;
  /** Sends PromoteReadReplica. Call only after describeReplica said it is still a replica. */
  promoteReadReplica(region: string, replicaId: string): Promise<void>;
  /** The SDK's DBInstanceAvailable waiter, bounded by timeoutMs. */
  waitAvailable(
    region: string,
    instanceId: string,
    timeoutMs: number,
    options?: WaitAvailableOptions,
  ): Promise<WaitAvailableResult>;
  /** DescribeBlueGreenDeployments for one deployment; null when it does not exist. */
  describeBlueGreen(region: string, deploymentId: string): Promise<BlueGreenDescription | null>;
  /**
   * Sends SwitchoverBlueGreenDeployment with SwitchoverTimeout (seconds; RDS rolls back past it).
   * Returns the deployment as RDS answered (status usually SWITCHOVER_IN_PROGRESS).
   */
  switchoverBlueGreen(
    region: string,
    deploymentId: string,
    timeoutSeconds: number,
  ): Promise<BlueGreenDescription | null>;
  /**
   * Polls DescribeBlueGreenDeployments until a terminal status or timeoutMs. Safe to call in short
   * slices: pass `requestedAt` (when SwitchoverBlueGreenDeployment was sent) so the NOT_STARTED
   * grace period counts from the request, not from this call.
   */
  waitSwitchover(
    region: string,
    deploymentId: string,
    timeoutMs: number,
    options?: WaitSwitchoverOptions,
  ): Promise<SwitchoverWaitResult>;
}

// ---- in-place changes (the in-place strategy): snapshots, ModifyDBInstance, maintenance actions ----

/** The ModifyDBInstance values the in-place strategy may change, named as the RDS API names them. */
export interface ModifiableValues {
  DBInstanceClass?: string;
  EngineVersion?: string;
  AllocatedStorage?: number;
  StorageType?: string;
  Iops?: number;
  StorageThroughput?: number;
  DBParameterGroupName?: string;
  MultiAZ?: boolean;
}

export type ModifiableKey = keyof ModifiableValues;

/** What is sent: the values, plus the flag RDS needs for a major engine upgrade. */
export interface InstanceModification extends ModifiableValues {
  AllowMajorVersionUpgrade?: boolean;
}

/** One DB instance as an in-place change sees it: its current values and what is pending. */
export interface InstanceSettingsDescription {
  id: string;
  arn: string | null;
  /** DBInstanceStatus: available, modifying, upgrading, storage-optimization, failed, ... */
  status: string;
  engine: string | null;
  /** The current values (DBParameterGroupName: the first associated group). */
  current: ModifiableValues;
  /** PendingModifiedValues, trimmed to the modifiable keys. */
  pending: ModifiableValues;
  /** True when PendingModifiedValues holds anything at all (not only the modifiable keys). */
  pendingModifications: boolean;
  /** ParameterApplyStatus of the group: in-sync, applying, pending-reboot. */
  parameterApplyStatus: string | null;
  endpoint?: RdsEndpoint;
}

export interface DbSnapshotDescription {
  id: string;
  instanceId: string | null;
  /** creating, available, failed, deleting, ... */
  status: string;
  percentProgress: number | null;
}

export interface PendingMaintenanceAction {
  /** The instance's ARN: ApplyPendingMaintenanceAction names the resource by it. */
  resourceArn: string;
  /** system-update, db-upgrade, hardware-maintenance, os-upgrade, ca-certificate-rotation, ... */
  action: string;
  description: string | null;
  /** next-maintenance, immediate, undo-opt-in, or null when not opted in. */
  optInStatus: string | null;
  autoAppliedAfter: string | null;
  forcedApplyDate: string | null;
  currentApplyDate: string | null;
}

export interface RdsInPlacePort {
  /** DescribeDBInstances for one instance, with its modifiable values; null when it does not exist. */
  describeInstanceSettings(region: string, instanceId: string): Promise<InstanceSettingsDescription | null>;
  /** DescribeDBEngineVersions of engine/version: the versions it may be upgraded to; null when unknown. */
  validUpgradeTargets(region: string, engine: string, version: string): Promise<string[] | null>;
  /** DescribeDBSnapshots for one manual snapshot; null when it does not exist. */
  describeDbSnapshot(region: string, snapshotId: string): Promise<DbSnapshotDescription | null>;
  /**
   * CreateDBSnapshot. A snapshot of that id that already exists (a retry, a resumed step) is
   * described and returned with `created: false` instead of a second one being made.
   */
  createDbSnapshot(
    region: string,
    instanceId: string,
    snapshotId: string,
  ): Promise<{ created: boolean; snapshot: DbSnapshotDescription }>;
  /** ModifyDBInstance with ApplyImmediately: true (the maintenance window is now). */
  modifyInstance(region: string, instanceId: string, modification: InstanceModification): Promise<void>;
  /** DescribePendingMaintenanceActions of one instance. */
  pendingMaintenance(region: string, instanceId: string): Promise<PendingMaintenanceAction[]>;
  /** ApplyPendingMaintenanceAction with OptInType immediate. */
  applyMaintenance(region: string, resourceArn: string, action: string): Promise<void>;
  /** RebootDBInstance (no failover): what puts a `pending-reboot` parameter group in effect. */
  rebootInstance(region: string, instanceId: string): Promise<void>;
  /** DescribeEvents of one DB instance since `since`, oldest first (what RDS says happened to it). */
  instanceEvents(region: string, instanceId: string, since: Date): Promise<RdsEvent[]>;
}
