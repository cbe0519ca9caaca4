// The emulated RDS and CloudWatch through the real clients: the SDK's own DBInstanceAvailable
// waiter polling a promotion, RDS's changes over time, CloudWatch's aggregation per period, and an
// instance whose endpoint is a real PostgreSQL standby (startPgPair), as the RDS suites can pair
// the emulator with one.
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  ApplyPendingMaintenanceActionCommand,
  DescribeDBInstancesCommand,
  DescribePendingMaintenanceActionsCommand,
  DescribeEventsCommand,
  ModifyDBInstanceCommand,
  PromoteReadReplicaCommand,
  RDSClient,
  RebootDBInstanceCommand,
  waitUntilDBInstanceAvailable,
} from '@aws-sdk/client-rds';
import { Client } from 'pg';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { advancePerCall, useAwsEmulator } from '../../support/services/aws/emulator';
import { ManualClock } from '../../support/fakes/manual-clock';
import { startPgPair, type PgPair } from '../../support/services/pg-pair';
import { waitFor } from '../../support/wait-for';

const REGION = 'eu-west-1';
const STEP = 1_000;
const emulator = useAwsEmulator();
const rds = new RDSClient({ region: REGION });
const cloudWatch = new CloudWatchClient({ region: REGION });
let clock: ManualClock;

afterAll(() => {
  rds.destroy();
  cloudWatch.destroy();
});

beforeEach(() => {
  clock = new ManualClock();
});

describe('the SDK waiter', () => {
  it('DBInstanceAvailable polls a promotion through modifying and rebooting to available', async () => {
    const { rds: service } = emulator().reset({
      clock,
      rds: { promoteStaleMs: 0, promoteModifyingMs: 2 * STEP, promoteRebootingMs: STEP },
    });
    service.addInstance('orders').addReplica('orders-replica', 'orders');
    const seen: string[] = [];
    // Each answered describe: note what it showed, then let a step of time pass.
    service.onCall((call) => {
      if (call.action === 'DescribeDBInstances') seen.push(service.instance('orders-replica')?.status ?? '');
    });
    advancePerCall(service, 'DescribeDBInstances', clock, STEP);
    await rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'orders-replica' }));

    const result = await waitUntilDBInstanceAvailable(
      { client: rds, maxWaitTime: 30, minDelay: 0.01, maxDelay: 0.02 },
      { DBInstanceIdentifier: 'orders-replica' },
    );
    expect(result.state).toBe('SUCCESS');
    expect(seen).toEqual(['modifying', 'modifying', 'rebooting', 'available']);
    expect(service.instance('orders-replica')?.sourceId).toBeNull();
  });

  it('gives up on a status that does not resolve by itself', async () => {
    emulator().reset().rds.addInstance('broken', { status: 'incompatible-parameters' });
    await expect(
      waitUntilDBInstanceAvailable(
        { client: rds, maxWaitTime: 30, minDelay: 0.01, maxDelay: 0.02 },
        { DBInstanceIdentifier: 'broken' },
      ),
    ).rejects.toThrow(/FAILURE/);
  });
});

describe('RDS over time', () => {
  it('ModifyDBInstance without ApplyImmediately stays pending; with it, modifying and then applied', async () => {
    const { rds: service } = emulator().reset({ clock, rds: { modifyStaleMs: STEP, modifyingMs: STEP } });
    service.addInstance('billing-db').addInstance('ledger-db');
    await rds.send(
      new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'billing-db', DBInstanceClass: 'db.r6g.large' }),
    );
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'ledger-db',
        DBInstanceClass: 'db.r6g.large',
        ApplyImmediately: true,
      }),
    );
    const statuses = async (): Promise<(string | undefined)[]> => {
      const output = await rds.send(new DescribeDBInstancesCommand({}));
      return (output.DBInstances ?? []).map(
        (instance) =>
          `${instance.DBInstanceStatus} ${instance.DBInstanceClass} pending=${instance.PendingModifiedValues?.DBInstanceClass ?? '-'}`,
      );
    };
    await expect(statuses()).resolves.toEqual([
      'available db.t3.medium pending=db.r6g.large',
      'available db.t3.medium pending=db.r6g.large',
    ]);
    clock.advance(STEP);
    await expect(statuses()).resolves.toEqual([
      'available db.t3.medium pending=db.r6g.large',
      'modifying db.t3.medium pending=db.r6g.large',
    ]);
    clock.advance(STEP);
    await expect(statuses()).resolves.toEqual([
      'available db.t3.medium pending=db.r6g.large',
      'available db.r6g.large pending=-',
    ]);
  });

  it('a maintenance action opted in for the next window stays listed; applied immediately, it goes', async () => {
    const { rds: service } = emulator().reset({ clock, rds: { upgradingMs: STEP } });
    service.addInstance('audit-db').addMaintenance('audit-db', 'system-update');
    const arn = service.arn('audit-db');
    const listed = async () =>
      (
        await rds.send(
          new DescribePendingMaintenanceActionsCommand({
            Filters: [{ Name: 'db-instance-id', Values: ['audit-db'] }],
          }),
        )
      ).PendingMaintenanceActions?.flatMap((resource) => resource.PendingMaintenanceActionDetails ?? []);

    await rds.send(
      new ApplyPendingMaintenanceActionCommand({
        ResourceIdentifier: arn,
        ApplyAction: 'system-update',
        OptInType: 'next-maintenance',
      }),
    );
    await expect(listed()).resolves.toMatchObject([
      { Action: 'system-update', OptInStatus: 'next-maintenance' },
    ]);
    await rds.send(
      new ApplyPendingMaintenanceActionCommand({
        ResourceIdentifier: arn,
        ApplyAction: 'system-update',
        OptInType: 'immediate',
      }),
    );
    expect(service.instance('audit-db')?.status).toBe('upgrading');
    clock.advance(STEP);
    await expect(listed()).resolves.toEqual([]);
    expect(service.instance('audit-db')?.status).toBe('available');
    expect(service.events).toEqual([
      'ApplyPendingMaintenanceAction audit-db system-update',
      'audit-db system-update applied',
    ]);
  });

  it('RebootDBInstance: rebooting, then available; a second reboot meanwhile is InvalidDBInstanceState', async () => {
    const { rds: service } = emulator().reset({ clock, rds: { rebootMs: STEP } });
    service.addInstance('orders');
    const rebooting = await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'orders' }));
    expect(rebooting.DBInstance?.DBInstanceStatus).toBe('rebooting');
    const again: unknown = await rds
      .send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'orders' }))
      .catch((error: unknown) => error);
    expect(again).toMatchObject({ name: 'InvalidDBInstanceStateFault', $metadata: { httpStatusCode: 400 } });
    clock.advance(STEP);
    expect(service.instance('orders')?.status).toBe('available');
  });

  it('a promoted replica shows backing-up for its first backup, with the retention asked for', async () => {
    const { rds: service } = emulator().reset({
      clock,
      rds: {
        promoteStaleMs: 0,
        promoteModifyingMs: STEP,
        promoteRebootingMs: STEP,
        promoteBackingUpMs: STEP,
      },
    });
    service.addInstance('orders').addReplica('orders-replica', 'orders');
    const describe = async () =>
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-replica' })))
        .DBInstances?.[0];
    expect(await describe()).toMatchObject({ BackupRetentionPeriod: 0, DeletionProtection: false });
    await rds.send(
      new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'orders-replica', BackupRetentionPeriod: 7 }),
    );
    clock.advance(2 * STEP);
    expect(await describe()).toMatchObject({ DBInstanceStatus: 'backing-up', BackupRetentionPeriod: 7 });
    expect((await describe())?.ReadReplicaSourceDBInstanceIdentifier).toBeUndefined();
    clock.advance(STEP);
    expect((await describe())?.DBInstanceStatus).toBe('available');
  });

  it('a new parameter group is pending-reboot once applied; a reboot puts it in sync', async () => {
    const { rds: service } = emulator().reset({
      clock,
      rds: { modifyStaleMs: 0, modifyingMs: STEP, rebootMs: STEP },
    });
    service.addInstance('orders');
    const group = async () =>
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }))).DBInstances?.[0]
        ?.DBParameterGroups?.[0];
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        DBParameterGroupName: 'orders-tuned',
        ApplyImmediately: true,
      }),
    );
    expect(await group()).toEqual({ DBParameterGroupName: 'orders-tuned', ParameterApplyStatus: 'applying' });
    clock.advance(STEP);
    expect(await group()).toEqual({
      DBParameterGroupName: 'orders-tuned',
      ParameterApplyStatus: 'pending-reboot',
    });
    await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'orders' }));
    clock.advance(STEP);
    expect(await group()).toEqual({ DBParameterGroupName: 'orders-tuned', ParameterApplyStatus: 'in-sync' });
  });

  it('an engine upgrade whose pre-upgrade check fails: upgrading, then available on the old version, and an event', async () => {
    const { rds: service } = emulator().reset({ clock, rds: { modifyStaleMs: 0, modifyingMs: STEP } });
    service
      .addInstance('orders')
      .failNextUpgradePrecheck('orders', 'PreUpgrade checks failed: reg* types in use');
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        EngineVersion: '16.4',
        AllowMajorVersionUpgrade: true,
        ApplyImmediately: true,
      }),
    );
    expect(service.instance('orders')).toMatchObject({
      status: 'upgrading',
      pending: { EngineVersion: '16.4' },
    });
    clock.advance(STEP);
    expect(service.instance('orders')).toMatchObject({
      status: 'available',
      pending: {},
      settings: { EngineVersion: '15.5' },
    });
    const events = await rds.send(
      new DescribeEventsCommand({ SourceType: 'db-instance', SourceIdentifier: 'orders', Duration: 60 }),
    );
    expect(events.Events?.map((event) => event.Message)).toEqual([
      'PreUpgrade checks failed: reg* types in use',
    ]);
  });

  it('DescribeEvents tells what happened to an instance, dated when it happened', async () => {
    const { rds: service } = emulator().reset({
      clock,
      rds: { promoteStaleMs: 0, promoteModifyingMs: STEP, promoteRebootingMs: STEP, rebootMs: STEP },
    });
    service.addInstance('orders').addReplica('orders-replica', 'orders');
    const started = clock.now();
    await rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'orders-replica' }));
    await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'orders' }));
    clock.advance(10 * STEP);
    const output = await rds.send(
      new DescribeEventsCommand({
        SourceIdentifier: 'orders-replica',
        SourceType: 'db-instance',
        Duration: 60,
      }),
    );
    expect(output.Events).toEqual([
      expect.objectContaining({
        SourceIdentifier: 'orders-replica',
        SourceType: 'db-instance',
        EventCategories: ['read replica'],
        Date: started,
        Message: 'Promotion of the read replica to a standalone instance started',
      }),
      expect.objectContaining({
        Date: new Date(started.getTime() + 2 * STEP),
        Message: 'Read replica has been promoted to a standalone DB instance',
        SourceArn: service.arn('orders-replica'),
      }),
    ]);
  });
});

describe('CloudWatch', () => {
  const end = new Date('2026-11-26T02:10:00.000Z');
  const at = (minutesBefore: number, seconds = 0) =>
    new Date(end.getTime() - minutesBefore * 60_000 + seconds * 1000);
  const query = (replica: string, scanBy?: 'TimestampAscending') =>
    new GetMetricDataCommand({
      StartTime: at(5),
      EndTime: end,
      ...(scanBy ? { ScanBy: scanBy } : {}),
      MetricDataQueries: [
        {
          Id: 'lag',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/RDS',
              MetricName: 'ReplicaLag',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: replica }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    });

  it('aggregates each period with the statistic, newest first, within [StartTime, EndTime)', async () => {
    emulator()
      .reset()
      .cloudWatch.addReplicaLag('orders-replica', at(3, 10), 4)
      .addReplicaLag('orders-replica', at(3, 40), 12)
      .addReplicaLag('orders-replica', at(1, 5), 1.5)
      .addReplicaLag('orders-replica', at(9), 99)
      .addReplicaLag('orders-replica', end, 77)
      .addReplicaLag('billing-replica', at(1), 50);

    const output = await cloudWatch.send(query('orders-replica'));
    expect(output.MetricDataResults).toEqual([
      {
        Id: 'lag',
        Label: 'ReplicaLag',
        Timestamps: [at(1), at(3)],
        Values: [1.5, 12],
        StatusCode: 'Complete',
      },
    ]);
    const ascending = await cloudWatch.send(query('orders-replica', 'TimestampAscending'));
    expect(ascending.MetricDataResults?.[0]?.Values).toEqual([12, 1.5]);
  });
});

describe('an RDS instance whose endpoint is a real PostgreSQL server', () => {
  let pair: PgPair | undefined;

  beforeAll(async () => {
    pair = await startPgPair({ walLogHints: false });
  });

  afterAll(async () => {
    await pair?.destroy();
  });

  it('describe gives the standby as the replica endpoint, and it is a standby', async () => {
    const standby = new URL(pair!.standbyUrl);
    emulator()
      .reset()
      .rds.addInstance('orders', { endpoint: { address: '127.0.0.1', port: pair!.primaryPort } })
      .addReplica('orders-replica', 'orders')
      .setEndpoint('orders-replica', { address: standby.hostname, port: pair!.standbyPort });
    const adapter = new AwsRdsAdapter();
    try {
      const described = await adapter.describeReplica(REGION, 'orders-replica');
      expect(described?.endpoint).toEqual({ address: standby.hostname, port: pair!.standbyPort });
      const url = new URL(pair!.standbyUrl);
      url.hostname = described!.endpoint!.address;
      url.port = String(described!.endpoint!.port);
      const client = new Client({ connectionString: url.toString() });
      await client.connect();
      try {
        const { rows } = await client.query<{ in_recovery: boolean }>(
          'SELECT pg_is_in_recovery() AS in_recovery',
        );
        expect(rows[0]?.in_recovery).toBe(true);
      } finally {
        await client.end();
      }
    } finally {
      adapter.destroy();
    }
  });

  it('backed by the standby: PromoteReadReplica promotes it while rebooting, and shows standalone only after', async () => {
    const manual = new ManualClock();
    const { rds: service } = emulator().reset({
      clock: manual,
      rds: { promoteStaleMs: 0, promoteModifyingMs: STEP, promoteRebootingMs: STEP },
    });
    let promoted: () => void = () => undefined;
    const promotion = new Promise<void>((resolve) => (promoted = resolve));
    service
      .addInstance('orders')
      .addReplica('orders-replica', 'orders', { endpoint: { address: '127.0.0.1', port: pair!.standbyPort } })
      .backWith('orders-replica', {
        promote: async () => {
          await promotion;
          const client = new Client({ connectionString: pair!.standbyUrl });
          await client.connect();
          await client.query('SELECT pg_promote(true)');
          await client.end();
        },
      });
    await rds.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'orders-replica' }));
    manual.advance(2 * STEP);
    // Its time is up, but the server is not promoted yet: still rebooting, still a replica.
    expect(service.instance('orders-replica')).toMatchObject({ status: 'rebooting', sourceId: 'orders' });
    promoted();
    await waitFor('the standby promoted', async () => {
      const client = new Client({ connectionString: pair!.standbyUrl });
      await client.connect();
      const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      await client.end();
      return rows[0]?.r === false ? true : undefined;
    });
    manual.advance(STEP);
    await waitFor('standalone in RDS', async () =>
      // The emulator looks at the server again every 5 ms of its clock.
      service.instance('orders-replica')?.sourceId === null ? true : (manual.advance(5), undefined),
    );
    expect(service.instance('orders-replica')?.status).toBe('available');
  });
});
