// RdsMaintenancePort on the SDK: an instance's modifiable settings and upgrade targets, manual
// snapshots, ModifyDBInstance, pending maintenance actions, reboots and events. The irreversible
// requests (ModifyDBInstance, ApplyPendingMaintenanceAction, RebootDBInstance) go out on the
// send-once client.
import {
  ApplyPendingMaintenanceActionCommand,
  CreateDBSnapshotCommand,
  DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribeEventsCommand,
  DescribePendingMaintenanceActionsCommand,
  ModifyDBInstanceCommand,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import type { DBInstance, DBSnapshot, PendingModifiedValues } from '@aws-sdk/client-rds';
import type {
  DbSnapshotDescription,
  InstanceModification,
  InstanceSettingsDescription,
  ModifiableValues,
  PendingMaintenanceAction,
  RdsEvent,
  RdsMaintenancePort,
} from '../../ports/rds-maintenance';
import { classifyAwsError } from './errors';
import type { RdsClients } from './rds-clients';
import { hasContent } from './rds-replicas';

/** The modifiable values present in `values` (PendingModifiedValues or the instance itself). */
function modifiableOf(
  values: Pick<PendingModifiedValues, Exclude<keyof ModifiableValues, 'DBParameterGroupName'>> | undefined,
): ModifiableValues {
  const picked: ModifiableValues = {};
  if (values === undefined) return picked;
  if (values.DBInstanceClass !== undefined) picked.DBInstanceClass = values.DBInstanceClass;
  if (values.EngineVersion !== undefined) picked.EngineVersion = values.EngineVersion;
  if (values.AllocatedStorage !== undefined) picked.AllocatedStorage = values.AllocatedStorage;
  if (values.StorageType !== undefined) picked.StorageType = values.StorageType;
  if (values.Iops !== undefined) picked.Iops = values.Iops;
  if (values.StorageThroughput !== undefined) picked.StorageThroughput = values.StorageThroughput;
  if (values.MultiAZ !== undefined) picked.MultiAZ = values.MultiAZ;
  return picked;
}

export function toInstanceSettings(instance: DBInstance): InstanceSettingsDescription {
  const group = instance.DBParameterGroups?.[0];
  const current = modifiableOf(instance);
  if (group?.DBParameterGroupName !== undefined) current.DBParameterGroupName = group.DBParameterGroupName;
  const description: InstanceSettingsDescription = {
    id: instance.DBInstanceIdentifier ?? '',
    arn: instance.DBInstanceArn ?? null,
    status: instance.DBInstanceStatus ?? 'unknown',
    engine: instance.Engine ?? null,
    current,
    pending: modifiableOf(instance.PendingModifiedValues),
    pendingModifications: hasContent(instance.PendingModifiedValues),
    parameterApplyStatus: group?.ParameterApplyStatus ?? null,
  };
  if (instance.Endpoint?.Address !== undefined) {
    description.endpoint = { address: instance.Endpoint.Address, port: instance.Endpoint.Port ?? 0 };
  }
  return description;
}

export function toDbSnapshot(snapshot: DBSnapshot): DbSnapshotDescription {
  return {
    id: snapshot.DBSnapshotIdentifier ?? '',
    instanceId: snapshot.DBInstanceIdentifier ?? null,
    status: snapshot.Status ?? 'unknown',
    percentProgress: snapshot.PercentProgress ?? null,
  };
}

const SNAPSHOT_NOT_FOUND = new Set(['DBSnapshotNotFound', 'DBSnapshotNotFoundFault']);
const SNAPSHOT_EXISTS = new Set(['DBSnapshotAlreadyExists', 'DBSnapshotAlreadyExistsFault']);

const isoOrNull = (date: Date | undefined): string | null => (date === undefined ? null : date.toISOString());

export class RdsMaintenance implements RdsMaintenancePort {
  constructor(private readonly clients: RdsClients) {}

  async describeInstanceSettings(
    region: string,
    instanceId: string,
  ): Promise<InstanceSettingsDescription | null> {
    try {
      const output = await this.clients
        .rds(region)
        .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: instanceId }));
      const instance = output.DBInstances?.[0];
      return instance === undefined ? null : toInstanceSettings(instance);
    } catch (error) {
      const refusal = classifyAwsError(error);
      if (refusal.code === 'not_found') return null;
      throw refusal;
    }
  }

  async validUpgradeTargets(region: string, engine: string, version: string): Promise<string[] | null> {
    try {
      const output = await this.clients
        .rds(region)
        .send(new DescribeDBEngineVersionsCommand({ Engine: engine, EngineVersion: version }));
      const found = output.DBEngineVersions?.find((candidate) => candidate.EngineVersion === version);
      if (found === undefined) return null;
      return (found.ValidUpgradeTarget ?? []).flatMap((target) =>
        target.EngineVersion === undefined ? [] : [target.EngineVersion],
      );
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async describeDbSnapshot(region: string, snapshotId: string): Promise<DbSnapshotDescription | null> {
    try {
      const output = await this.clients
        .rds(region)
        .send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId }));
      const snapshot = output.DBSnapshots?.[0];
      return snapshot === undefined ? null : toDbSnapshot(snapshot);
    } catch (error) {
      const refusal = classifyAwsError(error);
      if (refusal.code === 'not_found' || SNAPSHOT_NOT_FOUND.has(refusal.awsCode ?? '')) return null;
      throw refusal;
    }
  }

  async createDbSnapshot(
    region: string,
    instanceId: string,
    snapshotId: string,
  ): Promise<{ created: boolean; snapshot: DbSnapshotDescription }> {
    try {
      const output = await this.clients.rds(region).send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: instanceId,
          DBSnapshotIdentifier: snapshotId,
          Tags: [{ Key: 'created-by', Value: 'cutover-bot' }],
        }),
      );
      if (output.DBSnapshot !== undefined)
        return { created: true, snapshot: toDbSnapshot(output.DBSnapshot) };
    } catch (error) {
      const refusal = classifyAwsError(error);
      if (!SNAPSHOT_EXISTS.has(refusal.awsCode ?? '')) throw refusal;
      // Made by an earlier attempt (the id is the caller's, deterministic): describe it instead.
      const existing = await this.describeDbSnapshot(region, snapshotId);
      if (existing === null) throw refusal;
      return { created: false, snapshot: existing };
    }
    const created = await this.describeDbSnapshot(region, snapshotId);
    return {
      created: true,
      snapshot: created ?? { id: snapshotId, instanceId, status: 'creating', percentProgress: 0 },
    };
  }

  async modifyInstance(
    region: string,
    instanceId: string,
    modification: InstanceModification,
  ): Promise<void> {
    try {
      await this.clients.sendOnce(region).send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: instanceId,
          ...modification,
          ApplyImmediately: true,
        }),
      );
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async pendingMaintenance(region: string, instanceId: string): Promise<PendingMaintenanceAction[]> {
    const actions: PendingMaintenanceAction[] = [];
    let marker: string | undefined;
    try {
      do {
        const output = await this.clients.rds(region).send(
          new DescribePendingMaintenanceActionsCommand({
            Filters: [{ Name: 'db-instance-id', Values: [instanceId] }],
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        );
        for (const resource of output.PendingMaintenanceActions ?? []) {
          for (const detail of resource.PendingMaintenanceActionDetails ?? []) {
            actions.push({
              resourceArn: resource.ResourceIdentifier ?? '',
              action: detail.Action ?? 'unknown',
              description: detail.Description ?? null,
              optInStatus: detail.OptInStatus ?? null,
              autoAppliedAfter: isoOrNull(detail.AutoAppliedAfterDate),
              forcedApplyDate: isoOrNull(detail.ForcedApplyDate),
              currentApplyDate: isoOrNull(detail.CurrentApplyDate),
            });
          }
        }
        marker = output.Marker;
      } while (marker !== undefined && marker !== '');
    } catch (error) {
      throw classifyAwsError(error);
    }
    return actions;
  }

  async applyMaintenance(region: string, resourceArn: string, action: string): Promise<void> {
    try {
      await this.clients.sendOnce(region).send(
        new ApplyPendingMaintenanceActionCommand({
          ResourceIdentifier: resourceArn,
          ApplyAction: action,
          OptInType: 'immediate',
        }),
      );
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async rebootInstance(region: string, instanceId: string): Promise<void> {
    try {
      await this.clients
        .sendOnce(region)
        .send(new RebootDBInstanceCommand({ DBInstanceIdentifier: instanceId }));
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async instanceEvents(region: string, instanceId: string, since: Date): Promise<RdsEvent[]> {
    const events: RdsEvent[] = [];
    let marker: string | undefined;
    try {
      do {
        const output = await this.clients.rds(region).send(
          new DescribeEventsCommand({
            SourceType: 'db-instance',
            SourceIdentifier: instanceId,
            StartTime: since,
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        );
        for (const event of output.Events ?? []) {
          events.push({
            date: isoOrNull(event.Date) ?? since.toISOString(),
            message: event.Message ?? '',
            categories: event.EventCategories ?? [],
          });
        }
        marker = output.Marker;
      } while (marker !== undefined && marker !== '');
    } catch (error) {
      throw classifyAwsError(error);
    }
    return events.sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
  }
}
