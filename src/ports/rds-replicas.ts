// RDS read replicas: describe a DB instance, promote a replica, wait until it serves. Step-shaped on
// purpose: an executor describes first and acts only if the world still needs it, so a job that
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

export interface RdsReplicaPort {
  /** DescribeDBInstances for one instance; null when it does not exist. */
  describeReplica(region: string, instanceId: string): Promise<ReplicaDescription | null>;
  /** Sends PromoteReadReplica. Call only after describeReplica said it is still a replica. */
  promoteReadReplica(region: string, replicaId: string): Promise<void>;
  /** The SDK's DBInstanceAvailable waiter, bounded by timeoutMs. */
  waitAvailable(
    region: string,
    instanceId: string,
    timeoutMs: number,
    options?: WaitAvailableOptions,
  ): Promise<WaitAvailableResult>;
}
