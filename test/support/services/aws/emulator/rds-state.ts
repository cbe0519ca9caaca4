// The RDS world the emulator holds: DB instances (read replicas among them), manual snapshots,
// pending maintenance actions, engine versions and Blue/Green deployments. Plain data; rds.ts
// changes it.

export const RDS_ACCOUNT = '123456789012';

/** How long each RDS change takes on the emulator's clock. */
export interface RdsDurations {
  /** After PromoteReadReplica, describe still shows an available replica for this long. */
  promoteStaleMs: number;
  /** Then `modifying` for this long... */
  promoteModifyingMs: number;
  /** ...then `rebooting`, then standalone... */
  promoteRebootingMs: number;
  /** ...and `backing-up` for this long (its first automated backup) before `available`. */
  promoteBackingUpMs: number;
  /** After ModifyDBInstance (ApplyImmediately), still `available` with the values pending. */
  modifyStaleMs: number;
  /** Then `modifying` until the values show. */
  modifyingMs: number;
  /** A manual snapshot `creating` (the instance `backing-up` meanwhile). */
  snapshotMs: number;
  /** `upgrading` after ApplyPendingMaintenanceAction (immediate). */
  upgradingMs: number;
  /** A Blue/Green switchover SWITCHOVER_IN_PROGRESS, unless the deployment says otherwise. */
  switchoverMs: number;
  /** `rebooting` after RebootDBInstance. */
  rebootMs: number;
}

export const RDS_DEFAULT_DURATIONS: Readonly<RdsDurations> = {
  promoteStaleMs: 0,
  promoteModifyingMs: 40,
  promoteRebootingMs: 20,
  promoteBackingUpMs: 0,
  modifyStaleMs: 10,
  modifyingMs: 40,
  snapshotMs: 40,
  upgradingMs: 40,
  switchoverMs: 60,
  rebootMs: 40,
};

/** The values ModifyDBInstance changes (RDS API names). */
export interface DbSettings {
  DBInstanceClass: string;
  EngineVersion: string;
  AllocatedStorage: number;
  StorageType: string;
  Iops?: number;
  StorageThroughput?: number;
  DBParameterGroupName: string;
  MultiAZ: boolean;
}

/**
 * What this emulated RDS lets ModifyDBInstance change. The same names as the in-place strategy's
 * MODIFIABLE_KEYS, written out again on purpose: the emulator is a model of AWS, and importing the
 * bot's list would make it agree with the bot by construction.
 */
export const MODIFIABLE: readonly (keyof DbSettings)[] = [
  'DBInstanceClass',
  'EngineVersion',
  'AllocatedStorage',
  'StorageType',
  'Iops',
  'StorageThroughput',
  'DBParameterGroupName',
  'MultiAZ',
];

export interface DbEndpoint {
  address: string;
  port: number;
}

export interface MaintenanceState {
  action: string;
  description: string;
  optInStatus: string | null;
}

/** A real database behind an instance (a local PostgreSQL standby): what RDS's own actions do to it. */
export interface BackingServer {
  /** Promotes the server (pg_promote): RDS does this while the promoted replica shows `rebooting`. */
  promote(): Promise<void>;
}

export interface DbInstanceState {
  id: string;
  status: string;
  sourceId: string | null;
  engine: string;
  endpoint: DbEndpoint;
  createTime: Date;
  promotionRequested: boolean;
  backupRetentionPeriod: number;
  deletionProtection: boolean;
  /** The real server behind the endpoint, if a test gave one. */
  server?: BackingServer;
  /** The next engine upgrade's pre-upgrade check fails with this message (the instance stays as it was). */
  upgradePrecheckFailure?: string;
  settings: DbSettings;
  /** PendingModifiedValues: what a ModifyDBInstance asked for, until it shows. */
  pending: Partial<DbSettings>;
  parameterApplyStatus: string;
  maintenance: MaintenanceState[];
}

export interface DbSnapshotState {
  id: string;
  instanceId: string;
  status: 'creating' | 'available';
  createTime: Date;
  durationMs: number;
  engine: string;
  allocatedStorage: number;
}

export type SwitchoverResult = 'completed' | 'failed' | 'rolled_back';

export interface DeploymentState {
  id: string;
  name: string;
  source: string;
  target: string;
  status: string;
  statusDetails: string | null;
  memberStatus: string;
  tasks: { name: string; status: string }[];
  result: SwitchoverResult;
  switchoverMs: number | null;
  switchoverTimeout: number | null;
  createTime: Date;
}

/** An RDS event (DescribeEvents), about one DB instance. */
export interface DbEventState {
  sourceId: string;
  date: Date;
  message: string;
  categories: string[];
}
