// RdsPort on the AWS SDK v3: one object over the modules that each speak to one AWS capability —
// read replicas (rds-replicas.ts), Blue/Green deployments (rds-blue-green.ts), in-place maintenance
// (rds-maintenance.ts) and CloudWatch's ReplicaLag (cloudwatch-lag.ts) — sharing one set of
// per-region clients (rds-clients.ts, which also says why irreversible requests go out once).
// Each method is the module's own; they are methods here, not fields, so a subclass can override one.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { RdsPort } from '../../ports/rds';
import type {
  BlueGreenDescription,
  SwitchoverWaitResult,
  WaitSwitchoverOptions,
} from '../../ports/rds-blue-green';
import type {
  DbSnapshotDescription,
  InstanceModification,
  InstanceSettingsDescription,
  PendingMaintenanceAction,
  RdsEvent,
} from '../../ports/rds-maintenance';
import type { ReplicaDescription, WaitAvailableOptions, WaitAvailableResult } from '../../ports/rds-replicas';
import { CloudWatchReplicaLag, type ReplicaLagOptions } from './cloudwatch-lag';
import { RdsBlueGreen, type BlueGreenOptions } from './rds-blue-green';
import { defaultCloudWatchClientFactory, RdsClients } from './rds-clients';
import { RegionalClients } from './regional-clients';
import type { CloudWatchClientFactory, RdsClientFactory } from './rds-clients';
import { RdsMaintenance } from './rds-maintenance';
import { RdsReplicas } from './rds-replicas';

export interface AwsRdsAdapterOptions extends BlueGreenOptions, ReplicaLagOptions {
  rdsClient?: RdsClientFactory;
  /** The client of the irreversible requests (see rds-clients.ts). Default: SEND_ONCE. */
  rdsSendOnceClient?: RdsClientFactory;
  cloudWatchClient?: CloudWatchClientFactory;
}

export class AwsRdsAdapter implements RdsPort {
  private readonly clients: RdsClients;
  private readonly cloudWatchClients: RegionalClients<CloudWatchClient>;
  private readonly replicas: RdsReplicas;
  private readonly blueGreen: RdsBlueGreen;
  private readonly maintenance: RdsMaintenance;
  private readonly lag: CloudWatchReplicaLag;

  constructor(options: AwsRdsAdapterOptions = {}) {
    this.clients = new RdsClients({ rds: options.rdsClient, sendOnce: options.rdsSendOnceClient });
    this.cloudWatchClients = new RegionalClients(options.cloudWatchClient ?? defaultCloudWatchClientFactory);
    // The waits keep systemClock: they bound real sleeps, and options.clock (which tests freeze) only
    // places CloudWatch's query window.
    this.replicas = new RdsReplicas(this.clients, options);
    this.blueGreen = new RdsBlueGreen(this.clients, options);
    this.maintenance = new RdsMaintenance(this.clients);
    this.lag = new CloudWatchReplicaLag(this.cloudWatchClients, options);
  }

  /** Closes every client's sockets (worker shutdown). */
  destroy(): void {
    this.clients.destroy();
    this.cloudWatchClients.destroy();
  }

  // ---- read replicas ----

  describeReplica(region: string, instanceId: string): Promise<ReplicaDescription | null> {
    return this.replicas.describeReplica(region, instanceId);
  }

  promoteReadReplica(region: string, replicaId: string): Promise<void> {
    return this.replicas.promoteReadReplica(region, replicaId);
  }

  waitAvailable(
    region: string,
    instanceId: string,
    timeoutMs: number,
    options?: WaitAvailableOptions,
  ): Promise<WaitAvailableResult> {
    return this.replicas.waitAvailable(region, instanceId, timeoutMs, options);
  }

  // ---- CloudWatch ----

  replicaLagSeconds(region: string, replicaId: string): Promise<number | null> {
    return this.lag.replicaLagSeconds(region, replicaId);
  }

  // ---- Blue/Green deployments ----

  describeBlueGreen(region: string, deploymentId: string): Promise<BlueGreenDescription | null> {
    return this.blueGreen.describeBlueGreen(region, deploymentId);
  }

  switchoverBlueGreen(
    region: string,
    deploymentId: string,
    timeoutSeconds: number,
  ): Promise<BlueGreenDescription | null> {
    return this.blueGreen.switchoverBlueGreen(region, deploymentId, timeoutSeconds);
  }

  waitSwitchover(
    region: string,
    deploymentId: string,
    timeoutMs: number,
    options?: WaitSwitchoverOptions,
  ): Promise<SwitchoverWaitResult> {
    return this.blueGreen.waitSwitchover(region, deploymentId, timeoutMs, options);
  }

  // ---- in-place maintenance ----

  describeInstanceSettings(region: string, instanceId: string): Promise<InstanceSettingsDescription | null> {
    return this.maintenance.describeInstanceSettings(region, instanceId);
  }

  validUpgradeTargets(region: string, engine: string, version: string): Promise<string[] | null> {
    return this.maintenance.validUpgradeTargets(region, engine, version);
  }

  describeDbSnapshot(region: string, snapshotId: string): Promise<DbSnapshotDescription | null> {
    return this.maintenance.describeDbSnapshot(region, snapshotId);
  }

  createDbSnapshot(
    region: string,
    instanceId: string,
    snapshotId: string,
  ): Promise<{ created: boolean; snapshot: DbSnapshotDescription }> {
    return this.maintenance.createDbSnapshot(region, instanceId, snapshotId);
  }

  modifyInstance(region: string, instanceId: string, modification: InstanceModification): Promise<void> {
    return this.maintenance.modifyInstance(region, instanceId, modification);
  }

  pendingMaintenance(region: string, instanceId: string): Promise<PendingMaintenanceAction[]> {
    return this.maintenance.pendingMaintenance(region, instanceId);
  }

  applyMaintenance(region: string, resourceArn: string, action: string): Promise<void> {
    return this.maintenance.applyMaintenance(region, resourceArn, action);
  }

  rebootInstance(region: string, instanceId: string): Promise<void> {
    return this.maintenance.rebootInstance(region, instanceId);
  }

  instanceEvents(region: string, instanceId: string, since: Date): Promise<RdsEvent[]> {
    return this.maintenance.instanceEvents(region, instanceId, since);
  }
}
