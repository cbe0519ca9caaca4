// The AWS emulator on the wire, seen through the real SDK clients: each service answers in the
// protocol the installed client speaks, errors arrive as the SDK builds them from AWS's codes and
// HTTP statuses, signatures are checked, and the injected faults look to the SDK like the real
// thing (a connection reset, an answer it cannot parse).
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRegionsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';

import { useAwsEmulator } from '../../support/services/aws/emulator';

const REGION = 'eu-west-1';
const VOL = 'vol-0c000000000000001';
const emulator = useAwsEmulator();
// One attempt each: every answer reaches the test as the SDK read it.
const ec2 = new EC2Client({ region: REGION, maxAttempts: 1 });
const rds = new RDSClient({ region: REGION, maxAttempts: 1 });
const cloudWatch = new CloudWatchClient({ region: REGION, maxAttempts: 1 });

afterAll(() => {
  for (const client of [ec2, rds, cloudWatch]) client.destroy();
});

beforeEach(() => {
  emulator().reset();
});

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );

const lagQuery = (start: Date, end: Date) =>
  new GetMetricDataCommand({
    StartTime: start,
    EndTime: end,
    MetricDataQueries: [
      {
        Id: 'lag',
        MetricStat: {
          Metric: {
            Namespace: 'AWS/RDS',
            MetricName: 'ReplicaLag',
            Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-replica' }],
          },
          Period: 60,
          Stat: 'Maximum',
        },
      },
    ],
  });

describe('protocols', () => {
  it('EC2 and RDS are form-encoded Query requests; CloudWatch is the JSON 1.0 the installed client speaks', async () => {
    const { ec2: ec2Service, rds: rdsService, cloudWatch: cloudWatchService } = emulator();
    ec2Service.addVolume(VOL);
    rdsService.addInstance('orders');
    await ec2.send(new DescribeVolumesCommand({ VolumeIds: [VOL] }));
    await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }));
    await cloudWatch.send(lagQuery(new Date(Date.now() - 300_000), new Date()));

    expect(ec2Service.calls[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(ec2Service.calls[0]?.params).toEqual({ 'VolumeId.1': VOL });
    expect(rdsService.calls[0]?.params).toEqual({ DBInstanceIdentifier: 'orders' });
    expect(cloudWatchService.calls[0]?.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'GraniteServiceVersion20100801.GetMetricData',
    });
  });

  it('a CloudWatch request in another protocol (a newer client speaking RPC v2 CBOR) is refused, saying so', async () => {
    const cbor = new CloudWatchClient({ region: REGION, maxAttempts: 1 });
    // As a newer client would label its body; the emulator answers only the JSON 1.0 it knows.
    cbor.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers['content-type'] = 'application/cbor';
        return next(args);
      },
      { step: 'build', name: 'cborContentType' },
    );
    try {
      const error = await failureOf(cbor.send(lagQuery(new Date(Date.now() - 300_000), new Date())));
      expect(error).toMatchObject({ name: 'UnsupportedProtocol', $metadata: { httpStatusCode: 400 } });
      expect((error as Error).message).toContain('awsJson1_0');
    } finally {
      cbor.destroy();
    }
  });

  it('an action the emulator does not answer is InvalidAction, as AWS says of an unknown one', async () => {
    const error = await failureOf(ec2.send(new DescribeRegionsCommand({})));
    expect(error).toMatchObject({ name: 'InvalidAction', $metadata: { httpStatusCode: 400 } });
  });
});

describe('errors as AWS sends them', () => {
  it('RDS: a Query error code becomes the SDK exception that models it, with status and request id', async () => {
    const error = await failureOf(
      rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'ghost' })),
    );
    expect(error).toBeInstanceOf(DBInstanceNotFoundFault);
    expect(error).toMatchObject({
      name: 'DBInstanceNotFoundFault',
      Code: 'DBInstanceNotFound',
      message: 'DBInstance ghost not found.',
      $metadata: { httpStatusCode: 404, requestId: emulator().rds.calls[0]?.requestId },
    });
  });

  it('EC2: errors are unmodeled, named after the code', async () => {
    const error = await failureOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [VOL] })));
    expect(error).toMatchObject({
      name: 'InvalidVolume.NotFound',
      message: `The volume '${VOL}' does not exist.`,
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('throttling: RequestLimitExceeded 503 (EC2), Throttling 400 (RDS, and CloudWatch through its Query-compatible header)', async () => {
    const services = emulator();
    services.ec2.addVolume(VOL).throttle('DescribeVolumes');
    services.rds.throttle('DescribeDBInstances');
    services.cloudWatch.throttle('GetMetricData');

    await expect(
      failureOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [VOL] }))),
    ).resolves.toMatchObject({
      name: 'RequestLimitExceeded',
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(failureOf(rds.send(new DescribeDBInstancesCommand({})))).resolves.toMatchObject({
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      failureOf(cloudWatch.send(lagQuery(new Date(Date.now() - 300_000), new Date()))),
    ).resolves.toMatchObject({ name: 'Throttling', Code: 'Throttling', $metadata: { httpStatusCode: 400 } });
  });

  it('CloudWatch refuses a query with its ValidationError (the SDK models it as ValidationException)', async () => {
    const now = new Date();
    await expect(failureOf(cloudWatch.send(lagQuery(now, now)))).resolves.toMatchObject({
      name: 'ValidationException',
      Code: 'ValidationError',
      message: 'The parameter StartTime must be less than the parameter EndTime.',
    });
  });
});

describe('signatures', () => {
  it('records the region each request was signed for', async () => {
    emulator().rds.addInstance('orders');
    const elsewhere = new RDSClient({ region: 'ap-southeast-2', maxAttempts: 1 });
    try {
      await elsewhere.send(new DescribeDBInstancesCommand({}));
    } finally {
      elsewhere.destroy();
    }
    expect(emulator().rds.calls.map((call) => call.region)).toEqual(['ap-southeast-2']);
  });

  it('a signature made with another secret is refused: AuthFailure (EC2), SignatureDoesNotMatch (RDS)', async () => {
    const credentials = {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: 'another-secret',
    };
    const badEc2 = new EC2Client({ region: REGION, maxAttempts: 1, credentials });
    const badRds = new RDSClient({ region: REGION, maxAttempts: 1, credentials });
    try {
      await expect(failureOf(badEc2.send(new DescribeVolumesCommand({})))).resolves.toMatchObject({
        name: 'AuthFailure',
        $metadata: { httpStatusCode: 401 },
      });
      await expect(failureOf(badRds.send(new DescribeDBInstancesCommand({})))).resolves.toMatchObject({
        name: 'SignatureDoesNotMatch',
        $metadata: { httpStatusCode: 403 },
      });
    } finally {
      badEc2.destroy();
      badRds.destroy();
    }
  });
});

describe('faults', () => {
  it('a lost response: the service acted, the SDK sees the connection reset', async () => {
    const { rds: rdsService } = emulator();
    rdsService
      .addInstance('orders')
      .addReplica('orders-replica', 'orders')
      .loseNextResponse('DescribeDBInstances');
    const error = await failureOf(rds.send(new DescribeDBInstancesCommand({})));
    // Node's own error: under Jest it comes from another realm, and the SDK wraps it in an Error
    // that keeps only its text (outside Jest it is the error itself, code ECONNRESET).
    expect((error as Error).message).toContain('socket hang up');
    expect(rdsService.calls.map((call) => call.outcome)).toEqual(['lost-response']);
  });

  it('a garbled response: the service acted, the SDK cannot parse the answer', async () => {
    const { rds: rdsService } = emulator();
    rdsService.addInstance('orders').garbleNextResponse('DescribeDBInstances');
    const error = await failureOf(rds.send(new DescribeDBInstancesCommand({})));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toHaveProperty('$metadata.httpStatusCode', 400);
    expect(rdsService.calls.map((call) => call.outcome)).toEqual(['garbled-response']);
  });

  it('faults apply per action, in order, to the calls their filter accepts', async () => {
    const { ec2: ec2Service } = emulator();
    ec2Service.addVolume(VOL);
    ec2Service.throttle('DescribeVolumes', {
      when: (params) => params['VolumeId.1'] === 'vol-0c000000000000009',
    });
    await ec2.send(new DescribeVolumesCommand({ VolumeIds: [VOL] }));
    await failureOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0c000000000000009'] })));
    await failureOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0c000000000000009'] })));
    expect(ec2Service.history({ describes: true })).toEqual([
      `DescribeVolumes ${VOL}`,
      'DescribeVolumes vol-0c000000000000009 -> RequestLimitExceeded',
      'DescribeVolumes vol-0c000000000000009 -> InvalidVolume.NotFound',
    ]);
  });
});
