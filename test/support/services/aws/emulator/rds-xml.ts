// RDS's XML answers, element names as the RDS API reference gives them (upper camel case; each
// list names its members: DBInstances/DBInstance, the Blue/Green lists use `member`).
import type {
  DbEventState,
  DbInstanceState,
  DbSettings,
  DbSnapshotState,
  DeploymentState,
  MaintenanceState,
} from './rds-state';
import { element, leaf, leafList, list } from './xml';

function settingsXml(values: Partial<DbSettings>): string {
  return [
    leaf('DBInstanceClass', values.DBInstanceClass),
    leaf('AllocatedStorage', values.AllocatedStorage),
    leaf('MultiAZ', values.MultiAZ),
    leaf('EngineVersion', values.EngineVersion),
    leaf('Iops', values.Iops),
    leaf('StorageThroughput', values.StorageThroughput),
    leaf('StorageType', values.StorageType),
  ].join('');
}

export function dbInstanceXml(
  instance: DbInstanceState,
  arn: string,
  availabilityZone: string,
  replicaIds: readonly string[],
): string {
  return [
    leaf('DBInstanceIdentifier', instance.id),
    leaf('DBInstanceClass', instance.settings.DBInstanceClass),
    leaf('Engine', instance.engine),
    leaf('DBInstanceStatus', instance.status),
    leaf('MasterUsername', 'postgres'),
    element('Endpoint', leaf('Address', instance.endpoint.address), leaf('Port', instance.endpoint.port)),
    leaf('AllocatedStorage', instance.settings.AllocatedStorage),
    leaf('InstanceCreateTime', instance.createTime),
    list('DBParameterGroups', 'DBParameterGroup', [
      leaf('DBParameterGroupName', instance.settings.DBParameterGroupName) +
        leaf('ParameterApplyStatus', instance.parameterApplyStatus),
    ]),
    leaf('AvailabilityZone', availabilityZone),
    leaf('BackupRetentionPeriod', instance.backupRetentionPeriod),
    element('PendingModifiedValues', settingsXml(instance.pending)),
    leaf('MultiAZ', instance.settings.MultiAZ),
    leaf('EngineVersion', instance.settings.EngineVersion),
    leaf('ReadReplicaSourceDBInstanceIdentifier', instance.sourceId),
    leafList('ReadReplicaDBInstanceIdentifiers', 'ReadReplicaDBInstanceIdentifier', replicaIds),
    leaf('Iops', instance.settings.Iops),
    leaf('StorageThroughput', instance.settings.StorageThroughput),
    leaf('StorageType', instance.settings.StorageType),
    leaf('DbInstancePort', 0),
    leaf('StorageEncrypted', true),
    leaf('DeletionProtection', instance.deletionProtection),
    leaf('DBInstanceArn', arn),
  ].join('');
}

export function dbSnapshotXml(snapshot: DbSnapshotState, arn: string, percentProgress: number): string {
  return [
    leaf('DBSnapshotIdentifier', snapshot.id),
    leaf('DBInstanceIdentifier', snapshot.instanceId),
    snapshot.status === 'available' ? leaf('SnapshotCreateTime', snapshot.createTime) : '',
    leaf('Engine', snapshot.engine),
    leaf('AllocatedStorage', snapshot.allocatedStorage),
    leaf('Status', snapshot.status),
    leaf('SnapshotType', 'manual'),
    leaf('PercentProgress', percentProgress),
    leaf('DBSnapshotArn', arn),
  ].join('');
}

export function maintenanceXml(arn: string, actions: readonly MaintenanceState[]): string {
  return (
    leaf('ResourceIdentifier', arn) +
    list(
      'PendingMaintenanceActionDetails',
      'PendingMaintenanceAction',
      actions.map((action) =>
        [
          leaf('Action', action.action),
          leaf('OptInStatus', action.optInStatus),
          leaf('Description', action.description),
        ].join(''),
      ),
    )
  );
}

export function deploymentXml(deployment: DeploymentState, sourceArn: string, targetArn: string): string {
  return [
    leaf('BlueGreenDeploymentIdentifier', deployment.id),
    leaf('BlueGreenDeploymentName', deployment.name),
    leaf('Source', sourceArn),
    leaf('Target', targetArn),
    list('SwitchoverDetails', 'member', [
      leaf('SourceMember', sourceArn) +
        leaf('TargetMember', targetArn) +
        leaf('Status', deployment.memberStatus),
    ]),
    list(
      'Tasks',
      'member',
      deployment.tasks.map((task) => leaf('Name', task.name) + leaf('Status', task.status)),
    ),
    leaf('Status', deployment.status),
    leaf('StatusDetails', deployment.statusDetails),
    leaf('CreateTime', deployment.createTime),
  ].join('');
}

export function engineVersionXml(engine: string, version: string, targets: readonly string[]): string {
  const major = (value: string): string => value.split('.')[0] ?? value;
  return [
    leaf('Engine', engine),
    leaf('MajorEngineVersion', major(version)),
    leaf('EngineVersion', version),
    leaf('DBParameterGroupFamily', `${engine}${major(version)}`),
    list(
      'ValidUpgradeTarget',
      'UpgradeTarget',
      targets.map((target) =>
        [
          leaf('Engine', engine),
          leaf('EngineVersion', target),
          leaf('AutoUpgrade', false),
          leaf('IsMajorVersionUpgrade', major(target) !== major(version)),
        ].join(''),
      ),
    ),
    leaf('Status', 'available'),
  ].join('');
}

export function dbEventXml(event: DbEventState, arn: string): string {
  return [
    leaf('SourceIdentifier', event.sourceId),
    leaf('SourceType', 'db-instance'),
    leaf('Message', event.message),
    leafList('EventCategories', 'EventCategory', event.categories),
    leaf('Date', event.date),
    leaf('SourceArn', arn),
  ].join('');
}
