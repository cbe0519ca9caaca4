// RdsReplicaPort on the SDK: DescribeDBInstances, PromoteReadReplica (on the send-once client) and
// the wait until an instance serves (the SDK's DBInstanceAvailable waiter, or a poll of describe
// when `backing-up` counts too).
import {
  DescribeDBInstancesCommand,
  PromoteReadReplicaCommand,
  waitUntilDBInstanceAvailable,
} from '@aws-sdk/client-rds';
import type { DBInstance } from '@aws-sdk/client-rds';
import { AwsRefusal } from '../../ports/aws-refusal';
import { systemClock, type Clock } from '../../ports/clock';
import type {
  RdsReplicaPort,
  ReplicaDescription,
  WaitAvailableOptions,
  WaitAvailableResult,
} from '../../ports/rds-replicas';
import { classifyAwsError } from './errors';
import type { RdsClients } from './rds-clients';
import { Backoff, pollDelaysOf, sleep, type PollDelays, type PollOptions } from './rds-polling';

// Statuses the DBInstanceAvailable waiter gives up on; they do not resolve by themselves.
const INSTANCE_FAILURE_STATUSES = new Set([
  'deleted',
  'deleting',
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
]);

/** True when an SDK value (PendingModifiedValues, say) holds anything at all. */
export function hasContent(value: unknown): boolean {
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

export class RdsReplicas implements RdsReplicaPort {
  private readonly delays: PollDelays;

  constructor(
    private readonly clients: RdsClients,
    options: PollOptions = {},
    /** The waits' deadlines: they bound real sleeps (AwsRdsAdapter leaves systemClock). */
    private readonly clock: Clock = systemClock,
  ) {
    this.delays = pollDelaysOf(options);
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
    const deadline = this.clock.now().getTime() + timeoutMs;
    for (;;) {
      const remainingSeconds = (deadline - this.clock.now().getTime()) / 1000;
      const ended =
        remainingSeconds > 0
          ? await this.runAvailableWaiter(region, instanceId, remainingSeconds)
          : 'timed_out';
      const instance = await this.mustDescribe(region, instanceId);
      if (INSTANCE_FAILURE_STATUSES.has(instance.status)) return { outcome: 'failed', instance };
      if (instance.status === 'available' && (!options.untilPromoted || instance.sourceId === null)) {
        return { outcome: 'available', instance };
      }
      const remainingMs = deadline - this.clock.now().getTime();
      if (ended === 'timed_out' || remainingMs <= 0) return { outcome: 'timed_out', instance };
      // Available but still a replica (promotion not visible yet), or the waiter stopped on a state
      // that has since moved on: look again shortly, within the same deadline.
      await sleep(Math.min(this.delays.minDelaySeconds * 1000, remainingMs));
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
    const deadline = this.clock.now().getTime() + timeoutMs;
    const backoff = new Backoff(this.delays);
    for (;;) {
      const instance = await this.mustDescribe(region, instanceId);
      if (INSTANCE_FAILURE_STATUSES.has(instance.status)) return { outcome: 'failed', instance };
      const serving = instance.status === 'available' || instance.status === 'backing-up';
      if (serving && (!options.untilPromoted || instance.sourceId === null)) {
        return { outcome: 'available', instance };
      }
      const remainingMs = deadline - this.clock.now().getTime();
      if (remainingMs <= 0) return { outcome: 'timed_out', instance };
      await backoff.sleep(remainingMs);
    }
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
    const minDelay = Math.min(this.delays.minDelaySeconds, maxWaitTime / 2);
    const maxDelay = Math.max(minDelay, Math.min(this.delays.maxDelaySeconds, maxWaitTime));
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
