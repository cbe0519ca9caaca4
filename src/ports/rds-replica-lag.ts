// CloudWatch's ReplicaLag metric of an RDS read replica: how far behind its source it is, in
// seconds, as RDS reports it. This file imports no SDK.

export interface ReplicaLagPort {
  /**
   * Latest CloudWatch `ReplicaLag` (AWS/RDS, seconds) of the last few minutes; null when there is
   * no datapoint or RDS reports a negative value (replication not running).
   */
  replicaLagSeconds(region: string, replicaId: string): Promise<number | null>;
}
