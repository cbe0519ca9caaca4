// The AwsRdsAdapter methods the in-place strategy uses, against the AWS emulator through a real
// RDSClient: an existing snapshot id is described rather than made twice, a missing one reads as
// null, RDS's refusals keep their codes. Time is a ManualClock the tests step.
import { RDSClient } from '@aws-sdk/client-rds';

import { AwsRdsAdapter } from '../../../src/adapters/aws/rds-adapter';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import { useAwsEmulator } from '../../support/services/aws/emulator';
import { ManualClock } from '../../support/fakes/manual-clock';

const REGION = 'eu-west-1';
const SNAPSHOT_MS = 2_000;
const emulator = useAwsEmulator();
let client: RDSClient;
let clock: ManualClock;

beforeAll(() => {
  client = new RDSClient({ region: REGION });
});

afterAll(() => client.destroy());

function setup() {
  clock = new ManualClock();
  const { rds } = emulator().reset({ clock, rds: { snapshotMs: SNAPSHOT_MS } });
  rds.addInstance('billing-db', { settings: { DBInstanceClass: 'db.t3.medium', StorageType: 'gp2' } });
  return { rds, adapter: new AwsRdsAdapter({ rdsClient: () => client }) };
}

test('CreateDBSnapshot of an id that exists already describes it instead (DBSnapshotAlreadyExists)', async () => {
  const { rds, adapter } = setup();
  expect(await adapter.describeDbSnapshot(REGION, 'cutover-billing-db-1234abcd')).toBeNull();
  const first = await adapter.createDbSnapshot(REGION, 'billing-db', 'cutover-billing-db-1234abcd');
  expect(first).toEqual({
    created: true,
    snapshot: {
      id: 'cutover-billing-db-1234abcd',
      instanceId: 'billing-db',
      status: 'creating',
      percentProgress: 0,
    },
  });
  const again = await adapter.createDbSnapshot(REGION, 'billing-db', 'cutover-billing-db-1234abcd');
  expect(again.created).toBe(false);
  expect(again.snapshot).toMatchObject({ id: 'cutover-billing-db-1234abcd', instanceId: 'billing-db' });
  expect(rds.commands()).toEqual([
    'DescribeDBSnapshots!DBSnapshotNotFound',
    'CreateDBSnapshot',
    'CreateDBSnapshot!DBSnapshotAlreadyExists',
    'DescribeDBSnapshots',
  ]);
  expect(rds.snapshotIds()).toEqual(['cutover-billing-db-1234abcd']);
});

test('describeInstanceSettings reads the modifiable values and what is pending', async () => {
  const { adapter } = setup();
  expect(await adapter.describeInstanceSettings(REGION, 'missing-db')).toBeNull();
  await adapter.createDbSnapshot(REGION, 'billing-db', 's1');
  clock.advance(SNAPSHOT_MS);
  await expect(adapter.describeDbSnapshot(REGION, 's1')).resolves.toMatchObject({
    status: 'available',
    percentProgress: 100,
  });
  await adapter.modifyInstance(REGION, 'billing-db', { DBInstanceClass: 'db.r6g.large' });
  const seen = await adapter.describeInstanceSettings(REGION, 'billing-db');
  expect(seen).toMatchObject({
    status: 'available',
    current: { DBInstanceClass: 'db.t3.medium', StorageType: 'gp2', MultiAZ: false },
    pending: { DBInstanceClass: 'db.r6g.large' },
    pendingModifications: true,
    parameterApplyStatus: 'in-sync',
  });
});

test('ModifyDBInstance refusals keep their codes: a busy instance, an invalid combination', async () => {
  const { adapter } = setup();
  await adapter.createDbSnapshot(REGION, 'billing-db', 's1'); // the instance is backing-up now
  const busy = await adapter
    .modifyInstance(REGION, 'billing-db', { MultiAZ: true })
    .catch((error: unknown) => error);
  expect(busy).toBeInstanceOf(AwsRefusal);
  expect(busy).toMatchObject({
    code: 'invalid_state',
    retryable: false,
    awsCode: 'InvalidDBInstanceStateFault',
  });
  clock.advance(SNAPSHOT_MS);
  const invalid = await adapter
    .modifyInstance(REGION, 'billing-db', { Iops: 3000 })
    .catch((error: unknown) => error);
  expect(invalid).toMatchObject({
    code: 'other',
    retryable: false,
    awsCode: 'InvalidParameterCombination',
    httpStatusCode: 400,
  });
});

test('pending maintenance actions are listed by instance and applied by ARN, immediately', async () => {
  const { rds, adapter } = setup();
  rds.addMaintenance('billing-db', 'system-update', { description: 'New OS patch' });
  const actions = await adapter.pendingMaintenance(REGION, 'billing-db');
  expect(actions).toEqual([
    expect.objectContaining({
      resourceArn: rds.arn('billing-db'),
      action: 'system-update',
      description: 'New OS patch',
      optInStatus: null,
    }),
  ]);
  await adapter.applyMaintenance(REGION, rds.arn('billing-db'), 'system-update');
  expect((await adapter.pendingMaintenance(REGION, 'billing-db'))[0]?.optInStatus).toBe('immediate');
  rds.addEngineVersion('postgres', '15.5', ['15.6', '16.4']);
  expect(await adapter.validUpgradeTargets(REGION, 'postgres', '15.5')).toEqual(['15.6', '16.4']);
  expect(await adapter.validUpgradeTargets(REGION, 'postgres', '9.6')).toBeNull();
});
