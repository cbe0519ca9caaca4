// Amazon CloudWatch's GetMetricData, in the protocol the installed @aws-sdk/client-cloudwatch speaks
// (awsJson1_0, Query-compatible errors). Datapoints are what a test puts; GetMetricData aggregates
// them per Period with the query's Stat over [StartTime, EndTime), as CloudWatch does (so two
// ReplicaLag samples within one minute read as their Maximum), newest first by default.
import { AwsError } from './aws-error';
import { EmulatedServiceBase } from './emulated-service';
import { JsonProtocol } from './json-protocol';
import { RDS_ACCOUNT } from './rds-state';
import type { Timeline } from './timeline';

export interface Datapoint {
  namespace: string;
  metricName: string;
  dimensions: Readonly<Record<string, string>>;
  at: Date;
  value: number;
}

interface MetricStatQuery {
  id: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  periodSeconds: number;
  stat: string;
  returnData: boolean;
}

const STATS: Readonly<Record<string, (values: number[]) => number>> = {
  Maximum: (values) => Math.max(...values),
  Minimum: (values) => Math.min(...values),
  Sum: (values) => values.reduce((sum, value) => sum + value, 0),
  Average: (values) => values.reduce((sum, value) => sum + value, 0) / values.length,
  SampleCount: (values) => values.length,
};

function validationError(message: string): AwsError {
  return new AwsError('ValidationError', 400, message);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw validationError(`${what} must be a structure`);
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw validationError(`${what} is required`);
  return value;
}

/** Timestamps travel as epoch seconds (fractions allowed) in awsJson1_0. */
function epochSeconds(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw validationError(`${what} must be a timestamp in epoch seconds`);
  }
  return value * 1000;
}

function metricStatQuery(value: unknown, index: number): MetricStatQuery {
  const query = record(value, `MetricDataQueries.member.${index}`);
  if (query['Expression'] !== undefined) {
    throw validationError('This emulator answers MetricStat queries only, not Expression');
  }
  const stat = record(query['MetricStat'], 'MetricStat');
  const metric = record(stat['Metric'], 'MetricStat.Metric');
  const dimensions: Record<string, string> = {};
  for (const dimension of (metric['Dimensions'] as unknown[] | undefined) ?? []) {
    const pair = record(dimension, 'Dimension');
    dimensions[text(pair['Name'], 'Dimension.Name')] = text(pair['Value'], 'Dimension.Value');
  }
  const period = stat['Period'];
  if (typeof period !== 'number' || period <= 0 || (period >= 60 && period % 60 !== 0)) {
    throw validationError('The parameter MetricStat.Period must be a multiple of 60');
  }
  const statName = text(stat['Stat'], 'MetricStat.Stat');
  if (STATS[statName] === undefined) throw validationError(`Unsupported statistic ${statName}`);
  return {
    id: text(query['Id'], 'Id'),
    namespace: text(metric['Namespace'], 'Namespace'),
    metricName: text(metric['MetricName'], 'MetricName'),
    dimensions,
    periodSeconds: period,
    stat: statName,
    returnData: query['ReturnData'] !== false,
  };
}

function sameDimensions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export class CloudWatchEmulator extends EmulatedServiceBase<Record<string, unknown>> {
  readonly signingName = 'monitoring';
  protected readonly protocol = new JsonProtocol('GraniteServiceVersion20100801', 'com.amazonaws.cloudwatch');
  protected readonly handlers: Readonly<Record<string, (input: Record<string, unknown>) => string>> = {
    GetMetricData: (input) => this.getMetricData(input),
  };
  private readonly datapoints: Datapoint[] = [];

  constructor(timeline: Timeline) {
    super(timeline);
  }

  reset(): this {
    this.resetBase();
    this.datapoints.length = 0;
    return this;
  }

  putDatapoint(datapoint: Datapoint): this {
    this.datapoints.push({ ...datapoint, dimensions: { ...datapoint.dimensions } });
    return this;
  }

  /** An RDS ReplicaLag datapoint (seconds; RDS publishes -1 when the replica is not replicating). */
  addReplicaLag(instanceId: string, at: Date, seconds: number): this {
    return this.putDatapoint({
      namespace: 'AWS/RDS',
      metricName: 'ReplicaLag',
      dimensions: { DBInstanceIdentifier: instanceId },
      at,
      value: seconds,
    });
  }

  protected throttlingError(): AwsError {
    return new AwsError('Throttling', 400, 'Rate exceeded');
  }

  protected notAuthorized(action: string): AwsError {
    return new AwsError(
      'AccessDenied',
      403,
      `User: arn:aws:iam::${RDS_ACCOUNT}:user/cutover-bot is not authorized to perform: cloudwatch:${action}`,
    );
  }

  protected authenticationFailure(reason: 'missing' | 'unknown-key' | 'bad-signature'): AwsError {
    return reason === 'bad-signature'
      ? new AwsError('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match.')
      : new AwsError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.');
  }

  protected summarize(action: string, params: Readonly<Record<string, unknown>>): string {
    const queries = Array.isArray(params['MetricDataQueries'])
      ? (params['MetricDataQueries'] as unknown[])
      : [];
    const names = queries.map((query) => {
      const metric = (query as { MetricStat?: { Metric?: { MetricName?: unknown } } }).MetricStat?.Metric;
      return typeof metric?.MetricName === 'string' ? metric.MetricName : '?';
    });
    return `${action} ${names.join(',')}`;
  }

  private getMetricData(input: Record<string, unknown>): string {
    const start = epochSeconds(input['StartTime'], 'StartTime');
    const end = epochSeconds(input['EndTime'], 'EndTime');
    if (start >= end)
      throw validationError('The parameter StartTime must be less than the parameter EndTime.');
    const queriesInput = input['MetricDataQueries'];
    if (!Array.isArray(queriesInput) || queriesInput.length === 0) {
      throw validationError('The parameter MetricDataQueries is required.');
    }
    const descending = (input['ScanBy'] ?? 'TimestampDescending') === 'TimestampDescending';
    const results = queriesInput
      .map((query, index) => metricStatQuery(query, index + 1))
      .filter((query) => query.returnData)
      .map((query) => this.answer(query, start, end, descending));
    return JSON.stringify({ MetricDataResults: results, Messages: [] });
  }

  private answer(query: MetricStatQuery, start: number, end: number, descending: boolean): unknown {
    const periodMs = query.periodSeconds * 1000;
    const buckets = new Map<number, number[]>();
    for (const point of this.datapoints) {
      const at = point.at.getTime();
      if (
        point.namespace !== query.namespace ||
        point.metricName !== query.metricName ||
        !sameDimensions(point.dimensions, query.dimensions) ||
        at < start ||
        at >= end
      ) {
        continue;
      }
      const bucket = Math.floor(at / periodMs) * periodMs;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), point.value]);
    }
    const aggregate = STATS[query.stat]!;
    const ordered = [...buckets.entries()].sort(([a], [b]) => (descending ? b - a : a - b));
    return {
      Id: query.id,
      Label: query.metricName,
      Timestamps: ordered.map(([bucket]) => bucket / 1000),
      Values: ordered.map(([, values]) => aggregate(values)),
      StatusCode: 'Complete',
    };
  }
}
