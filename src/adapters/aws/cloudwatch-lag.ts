// ReplicaLagPort on CloudWatch: the latest ReplicaLag datapoint (AWS/RDS) of a read replica.
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { systemClock, type Clock } from '../../ports/clock';
import type { ReplicaLagPort } from '../../ports/rds-replica-lag';
import { classifyAwsError } from './errors';
import type { RegionalClients } from './regional-clients';

export interface ReplicaLagOptions {
  /** How far back replicaLagSeconds looks for a ReplicaLag datapoint. Default 5 min. */
  lagWindowMinutes?: number;
  /** Only for the CloudWatch time range; waits run on real time (the SDK waiter does). */
  clock?: Clock;
}

export class CloudWatchReplicaLag implements ReplicaLagPort {
  private readonly lagWindowMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly cloudWatch: RegionalClients<CloudWatchClient>,
    options: ReplicaLagOptions = {},
  ) {
    this.lagWindowMs = (options.lagWindowMinutes ?? 5) * 60_000;
    this.clock = options.clock ?? systemClock;
  }

  async replicaLagSeconds(region: string, replicaId: string): Promise<number | null> {
    const end = this.clock.now();
    const start = new Date(end.getTime() - this.lagWindowMs);
    let output;
    try {
      output = await this.cloudWatch.of(region).send(
        new GetMetricDataCommand({
          StartTime: start,
          EndTime: end,
          ScanBy: 'TimestampDescending',
          MetricDataQueries: [
            {
              Id: 'replicaLag',
              ReturnData: true,
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/RDS',
                  MetricName: 'ReplicaLag',
                  Dimensions: [{ Name: 'DBInstanceIdentifier', Value: replicaId }],
                },
                Period: 60,
                Stat: 'Maximum',
              },
            },
          ],
        }),
      );
    } catch (error) {
      throw classifyAwsError(error);
    }
    // Pick the newest timestamp explicitly rather than trusting the order.
    let latest: { at: number; value: number } | null = null;
    for (const result of output.MetricDataResults ?? []) {
      const timestamps = result.Timestamps ?? [];
      const values = result.Values ?? [];
      timestamps.forEach((timestamp, index) => {
        const value = values[index];
        if (value === undefined) return;
        const at = timestamp.getTime();
        if (latest === null || at > latest.at) latest = { at, value };
      });
    }
    if (latest === null) return null;
    const { value } = latest;
    return value < 0 ? null : value;
  }
}
