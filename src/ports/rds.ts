// Amazon RDS as the strategies see it, one port per AWS capability:
// - rds-replicas.ts: read replicas (describe, PromoteReadReplica, wait until available);
// - rds-blue-green.ts: Blue/Green deployments (describe, switchover, wait for its outcome);
// - rds-maintenance.ts: in-place maintenance (snapshots, ModifyDBInstance, pending maintenance
//   actions, reboot, events);
// - rds-replica-lag.ts: CloudWatch's ReplicaLag of a replica.
// Each executor takes the narrowest of them; RdsPort is all of them, for whoever hands one object
// to every strategy. None of these files imports an SDK.
import type { RdsBlueGreenPort } from './rds-blue-green';
import type { RdsMaintenancePort } from './rds-maintenance';
import type { ReplicaLagPort } from './rds-replica-lag';
import type { RdsReplicaPort } from './rds-replicas';

export interface RdsPort extends RdsReplicaPort, RdsBlueGreenPort, RdsMaintenancePort, ReplicaLagPort {}
