// RDS maintenance of one DB instance where it stands: snapshots, ModifyDBInstance, pending
// maintenance actions, reboots, and the instance's events. Step-shaped like every RDS port: describe
// first, send only what the instance still needs. This file imports no SDK.
import type { RdsEndpoint } from './rds-replicas';

/** An RDS event about one DB instance (DescribeEvents). */
export interface RdsEvent {
  /** ISO-8601. */
  date: string;
  message: string;
  categories: string[];
}

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

export interface RdsMaintenancePort {
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
