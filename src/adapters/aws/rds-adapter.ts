// RdsPort on the AWS SDK v3: read replicas, Blue/Green deployments and in-place maintenance on RDS,
// ReplicaLag on CloudWatch (cloudwatch-lag.ts). The clients, and why irreversible requests go out
// once, are in rds-clients.ts.
import {
  ApplyPendingMaintenanceActionCommand,
  CreateDBSnapshotCommand,
  DescribeBlueGreenDeploymentsCommand,
  DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribeEventsCommand,
  DescribePendingMaintenanceActionsCommand,
  ModifyDBInstanceCommand,
  PromoteReadReplicaCommand,
  RebootDBInstanceCommand,
  SwitchoverBlueGreenDeploymentCommand,
  waitUntilDBInstanceAvailable,
} from '@aws-sdk/client-rds';
import type { BlueGreenDeployment, DBInstance, DBSnapshot, PendingModifiedValues } from '@aws-sdk/client-rds';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { RdsPort } from '../../ports/rds';
import type {
  BlueGreenDescription,
  SwitchoverOutcome,
  SwitchoverWaitResult,
  WaitSwitchoverOptions,
} from '../../ports/rds-blue-green';
import type {
  DbSnapshotDescription,
  InstanceModification,
  InstanceSettingsDescription,
  ModifiableValues,
  PendingMaintenanceAction,
  RdsEvent,
} from '../../ports/rds-maintenance';
import type { ReplicaDescription, WaitAvailableOptions, WaitAvailableResult } from '../../ports/rds-replicas';
import { classifyAwsError } from './errors';
import { AwsRefusal } from '../../ports/aws-refusal';
import { CloudWatchReplicaLag, type ReplicaLagOptions } from './cloudwatch-lag';
import { RdsClients, RegionalClients, defaultCloudWatchClientFactory } from './rds-clients';
import type { CloudWatchClientFactory, RdsClientFactory } from './rds-clients';

export interface AwsRdsAdapterOptions extends ReplicaLagOptions {
  rdsClient?: RdsClientFactory;
  /** The client of the irreversible requests (see rds-clients.ts). Default: SEND_ONCE. */
  rdsSendOnceClient?: RdsClientFactory;
  cloudWatchClient?: CloudWatchClientFactory;
  /** First delay between polls (SDK waiter minDelay and the Blue/Green loop). Default 15 s. */
  minDelaySeconds?: number;
  /** Longest delay between polls. Default 60 s. */
  maxDelaySeconds?: number;
  /**
   * How long waitSwitchover accepts AVAILABLE without having seen SWITCHOVER_IN_PROGRESS before it
   * reports NOT_STARTED (describe can lag the switchover request). Default 60 s.
   */
  switchoverStartGraceSeconds?: number;
}

// Statuses the DBInstanceAvailable waiter gives up on; they do not resolve by themselves.
const INSTANCE_FAILURE_STATUSES = new Set([
  'deleted',
  'deleting',
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
]);

const TERMINAL_SWITCHOVER = new Set<SwitchoverOutcome>([
  'SWITCHOVER_COMPLETED',
  'SWITCHOVER_FAILED',
  'INVALID_CONFIGURATION',
  'DELETING',
]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function hasContent(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.values(value).some(hasContent);
  return true;
}

export function toReplicaDescription(instance: DBInstance): ReplicaDescription {
  const description: ReplicaDescription = {
    id: instance.DBInstanceIdentifier ?? '',
    status: instance.DBInstanceStatus ?? 'unknown',
    sourceId: instance.ReadReplicaSourceDBInstanceIdentifier || null,
    pendingModifications: hasContent(instance.PendingModifiedValues),
    replicaIds: instance.ReadReplicaDBInstanceIdentifiers ?? [],
  };
  if (instance.Endpoint?.Address !== undefined) {
    description.endpoint = { address: instance.Endpoint.Address, port: instance.Endpoint.Port ?? 0 };
  }
  if (instance.Engine !== undefined) description.engine = instance.Engine;
  if (instance.DBInstanceClass !== undefined) description.instanceClass = instance.DBInstanceClass;
  if (instance.EngineVersion !== undefined) description.engineVersion = instance.EngineVersion;
  if (instance.MultiAZ !== undefined) description.multiAZ = instance.MultiAZ;
  if (instance.BackupRetentionPeriod !== undefined)
    description.backupRetentionPeriod = instance.BackupRetentionPeriod;
  if (instance.DeletionProtection !== undefined) description.deletionProtection = instance.DeletionProtection;
  const group = instance.DBParameterGroups?.[0]?.DBParameterGroupName;
  if (group !== undefined) description.parameterGroup = group;
  return description;
}

export function toBlueGreenDescription(deployment: BlueGreenDeployment): BlueGreenDescription {
  const members = (deployment.SwitchoverDetails ?? []).map((detail) => ({
    source: detail.SourceMember ?? null,
    target: detail.TargetMember ?? null,
    status: detail.Status ?? 'UNKNOWN',
  }));
  const tasks = (deployment.Tasks ?? []).map((task) => ({
    name: task.Name ?? '',
    status: task.Status ?? 'UNKNOWN',
  }));
  const status = deployment.Status ?? 'UNKNOWN';
  return {
    id: deployment.BlueGreenDeploymentIdentifier ?? '',
    name: deployment.BlueGreenDeploymentName ?? null,
    status,
    statusDetails: deployment.StatusDetails ?? null,
    source: deployment.Source ?? null,
    target: deployment.Target ?? null,
    switchoverReady:
      status === 'AVAILABLE' &&
      members.every((member) => member.status === 'AVAILABLE') &&
      tasks.every((task) => task.status === 'COMPLETED'),
    members,
    tasks,
  };
}

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

export class AwsRdsAdapter implements RdsPort {
  private readonly clients: RdsClients;
  private readonly cloudWatchClients: RegionalClients<CloudWatchClient>;
  private readonly lag: CloudWatchReplicaLag;
  private readonly minDelaySeconds: number;
  private readonly maxDelaySeconds: number;
  private readonly startGraceMs: number;

  constructor(options: AwsRdsAdapterOptions = {}) {
    this.clients = new RdsClients({ rds: options.rdsClient, sendOnce: options.rdsSendOnceClient });
    this.cloudWatchClients = new RegionalClients(options.cloudWatchClient ?? defaultCloudWatchClientFactory);
    this.lag = new CloudWatchReplicaLag(this.cloudWatchClients, options);
    this.minDelaySeconds = options.minDelaySeconds ?? 15;
    this.maxDelaySeconds = Math.max(this.minDelaySeconds, options.maxDelaySeconds ?? 60);
    this.startGraceMs = (options.switchoverStartGraceSeconds ?? 60) * 1000;
  }

  /** Closes every client's sockets (worker shutdown). */
  destroy(): void {
    this.clients.destroy();
    this.cloudWatchClients.destroy();
  }

  async describeReplica(region: string, instanceId: string): Promise<ReplicaDescription | null> {
    try {
      const output = await this.clients
        .rds(region)
        .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: instanceId }));
      const instance = output.DBInstances?.[0];
      return instance === undefined ? null : toReplicaDescription(instance);
    } catch (error) {
      const refusal = classifyAwsError(error);
      if (refusal.code === 'not_found') return null;
      throw refusal;
    }
  }

  replicaLagSeconds(region: string, replicaId: string): Promise<number | null> {
    return this.lag.replicaLagSeconds(region, replicaId);
  }

  async promoteReadReplica(region: string, replicaId: string): Promise<void> {
    try {
      await this.clients
        .sendOnce(region)
        .send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: replicaId }));
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async waitAvailable(
    region: string,
    instanceId: string,
    timeoutMs: number,
    options: WaitAvailableOptions = {},
  ): Promise<WaitAvailableResult> {
    if (options.orBackingUp) return this.pollServing(region, instanceId, timeoutMs, options);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remainingSeconds = (deadline - Date.now()) / 1000;
      const ended =
        remainingSeconds > 0
          ? await this.runAvailableWaiter(region, instanceId, remainingSeconds)
          : 'timed_out';
      const instance = await this.mustDescribe(region, instanceId);
      if (INSTANCE_FAILURE_STATUSES.has(instance.status)) return { outcome: 'failed', instance };
      if (instance.status === 'available' && (!options.untilPromoted || instance.sourceId === null)) {
        return { outcome: 'available', instance };
      }
      const remainingMs = deadline - Date.now();
      if (ended === 'timed_out' || remainingMs <= 0) return { outcome: 'timed_out', instance };
      // Available but still a replica (promotion not visible yet), or the waiter stopped on a state
      // that has since moved on: look again shortly, within the same deadline.
      await sleep(Math.min(this.minDelaySeconds * 1000, remainingMs));
    }
  }

  /**
   * waitAvailable that also accepts `backing-up`: describe, backing off from minDelay to maxDelay
   * (the SDK's waiter cannot be told another status).
   */
  private async pollServing(
    region: string,
    instanceId: string,
    timeoutMs: number,
    options: WaitAvailableOptions,
  ): Promise<WaitAvailableResult> {
    const deadline = Date.now() + timeoutMs;
    let delayMs = this.minDelaySeconds * 1000;
    for (;;) {
      const instance = await this.mustDescribe(region, instanceId);
      if (INSTANCE_FAILURE_STATUSES.has(instance.status)) return { outcome: 'failed', instance };
      const serving = instance.status === 'available' || instance.status === 'backing-up';
      if (serving && (!options.untilPromoted || instance.sourceId === null)) {
        return { outcome: 'available', instance };
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return { outcome: 'timed_out', instance };
      await sleep(Math.min(delayMs, remainingMs));
      delayMs = Math.min(delayMs * 2, this.maxDelaySeconds * 1000);
    }
  }

  async describeBlueGreen(region: string, deploymentId: string): Promise<BlueGreenDescription | null> {
    try {
      const output = await this.clients
        .rds(region)
        .send(new DescribeBlueGreenDeploymentsCommand({ BlueGreenDeploymentIdentifier: deploymentId }));
      const deployment = output.BlueGreenDeployments?.[0];
      return deployment === undefined ? null : toBlueGreenDescription(deployment);
    } catch (error) {
      const refusal = classifyAwsError(error);
      if (refusal.code === 'not_found') return null;
      throw refusal;
    }
  }

  async switchoverBlueGreen(
    region: string,
    deploymentId: string,
    timeoutSeconds: number,
  ): Promise<BlueGreenDescription | null> {
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new RangeError(
        `SwitchoverTimeout must be a positive whole number of seconds, got ${timeoutSeconds}`,
      );
    }
    try {
      const output = await this.clients.sendOnce(region).send(
        new SwitchoverBlueGreenDeploymentCommand({
          BlueGreenDeploymentIdentifier: deploymentId,
          SwitchoverTimeout: timeoutSeconds,
        }),
      );
      return output.BlueGreenDeployment === undefined
        ? null
        : toBlueGreenDescription(output.BlueGreenDeployment);
    } catch (error) {
      throw classifyAwsError(error);
    }
  }

  async waitSwitchover(
    region: string,
    deploymentId: string,
    timeoutMs: number,
    options: WaitSwitchoverOptions = {},
  ): Promise<SwitchoverWaitResult> {
    const startedAt = Date.now();
    const graceFrom = options.requestedAt?.getTime() ?? startedAt;
    const deadline = startedAt + timeoutMs;
    let delayMs = this.minDelaySeconds * 1000;
    let sawInProgress = false;
    let last: BlueGreenDescription | null = null;
    let lastRefusal: AwsRefusal | null = null;
    for (;;) {
      let deployment: BlueGreenDescription | null | undefined;
      try {
        deployment = await this.describeBlueGreen(region, deploymentId);
      } catch (error) {
        // Throttling that outlasted the SDK's retries, a 5xx: keep polling while time remains.
        const refusal = classifyAwsError(error);
        if (!refusal.retryable) throw refusal;
        lastRefusal = refusal;
        deployment = undefined;
      }
      if (deployment === null) return { outcome: 'NOT_FOUND', deployment: null };
      if (deployment !== undefined) {
        last = deployment;
        const status = deployment.status as SwitchoverOutcome;
        if (TERMINAL_SWITCHOVER.has(status)) return { outcome: status, deployment };
        if (deployment.status === 'SWITCHOVER_IN_PROGRESS') sawInProgress = true;
        if (deployment.status === 'AVAILABLE') {
          if (sawInProgress) return { outcome: 'ROLLED_BACK', deployment };
          if (Date.now() - graceFrom >= this.startGraceMs) {
            return { outcome: 'NOT_STARTED', deployment };
          }
        }
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        if (last === null) throw lastRefusal ?? new AwsRefusal('other', 'no answer', { retryable: true });
        return { outcome: 'TIMED_OUT', deployment: last };
      }
      await sleep(Math.min(delayMs, remainingMs));
      delayMs = Math.min(delayMs * 2, this.maxDelaySeconds * 1000);
    }
  }

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

  private async mustDescribe(region: string, instanceId: string): Promise<ReplicaDescription> {
    const instance = await this.describeReplica(region, instanceId);
    if (instance === null) {
      throw new AwsRefusal('not_found', `DB instance ${instanceId} not found in ${region}`, {
        awsCode: 'DBInstanceNotFound',
      });
    }
    return instance;
  }

  /**
   * The SDK's DBInstanceAvailable waiter. It retries on any exception until maxWaitTime, so a
   * refusal that waiting cannot cure (not found, access denied) aborts it through a guard on send.
   */
  private async runAvailableWaiter(
    region: string,
    instanceId: string,
    maxWaitTime: number,
  ): Promise<'available' | 'failed' | 'timed_out'> {
    const client = this.clients.rds(region);
    const abort = new AbortController();
    const refused: { fatal: AwsRefusal | null } = { fatal: null };
    const guarded = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
        return async (command: DescribeDBInstancesCommand) => {
          try {
            return await target.send(command);
          } catch (error) {
            const refusal = classifyAwsError(error);
            if (refusal.code === 'not_found' || refusal.code === 'unauthorized') {
              refused.fatal = refusal;
              abort.abort();
            }
            throw error;
          }
        };
      },
    });
    // The waiter requires maxWaitTime > minDelay and maxDelay >= minDelay.
    const minDelay = Math.min(this.minDelaySeconds, maxWaitTime / 2);
    const maxDelay = Math.max(minDelay, Math.min(this.maxDelaySeconds, maxWaitTime));
    try {
      await waitUntilDBInstanceAvailable(
        { client: guarded, maxWaitTime, minDelay, maxDelay, abortSignal: abort.signal },
        { DBInstanceIdentifier: instanceId },
      );
      return 'available';
    } catch (error) {
      if (refused.fatal !== null) throw refused.fatal;
      const name = error instanceof Error ? error.name : '';
      return name === 'TimeoutError' || name === 'AbortError' ? 'timed_out' : 'failed';
    }
  }
}
