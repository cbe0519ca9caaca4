// The emulated EC2 through the real EC2Client: EC2's order of checks around DryRun, transitions on
// the emulator's clock, RunInstances' ClientToken, id formats. Time is a ManualClock.
import {
  AttachVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';

import { useAwsEmulator } from '../../support/services/aws/emulator';
import { ManualClock } from '../../support/fakes/manual-clock';

const REGION = 'eu-west-1';
const I_OLD = 'i-0a000000000000001';
const I_NEW = 'i-0b000000000000002';
const VOL = 'vol-0c000000000000001';
const emulator = useAwsEmulator();
const client = new EC2Client({ region: REGION, maxAttempts: 1 });
let clock: ManualClock;

afterAll(() => client.destroy());

beforeEach(() => {
  clock = new ManualClock();
  emulator()
    .reset({ clock, ec2: { stopMs: 1_000, launchMs: 1_000 } })
    .ec2.addInstance(I_OLD)
    .addInstance(I_NEW)
    .addVolume(VOL, { attachedTo: { instanceId: I_OLD, device: '/dev/sdf' } })
    .addLaunchTemplate('broker');
});

const nameOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: unknown) => (error as Error).name,
  );

describe('DryRun: after the existence and permission checks, before the state checks', () => {
  it('an attach of an in-use volume "would have succeeded"; the real attach is VolumeInUse', async () => {
    const attach = { VolumeId: VOL, InstanceId: I_NEW, Device: '/dev/sdg' };
    await expect(nameOf(client.send(new AttachVolumeCommand({ ...attach, DryRun: true })))).resolves.toBe(
      'DryRunOperation',
    );
    await expect(nameOf(client.send(new AttachVolumeCommand(attach)))).resolves.toBe('VolumeInUse');
  });

  it('an unknown volume is NotFound, a denied action UnauthorizedOperation, even in a DryRun', async () => {
    const { ec2 } = emulator();
    await expect(
      nameOf(
        client.send(
          new AttachVolumeCommand({
            VolumeId: 'vol-0d000000000000009',
            InstanceId: I_NEW,
            Device: '/dev/sdg',
            DryRun: true,
          }),
        ),
      ),
    ).resolves.toBe('InvalidVolume.NotFound');
    ec2.deny('AttachVolume');
    await expect(
      nameOf(
        client.send(
          new AttachVolumeCommand({ VolumeId: VOL, InstanceId: I_NEW, Device: '/dev/sdg', DryRun: true }),
        ),
      ),
    ).resolves.toBe('UnauthorizedOperation');
    expect(ec2.actions()).toEqual([]);
  });

  it('a DryRun changes nothing', async () => {
    const { ec2 } = emulator();
    await nameOf(client.send(new StopInstancesCommand({ InstanceIds: [I_OLD], DryRun: true })));
    expect(ec2.instance(I_OLD)?.state).toBe('running');
  });
});

describe('time', () => {
  it('a stop shows stopping until its duration has passed on the clock', async () => {
    const { ec2 } = emulator();
    const stopped = await client.send(new StopInstancesCommand({ InstanceIds: [I_OLD] }));
    expect(stopped.StoppingInstances).toEqual([
      {
        InstanceId: I_OLD,
        PreviousState: { Code: 16, Name: 'running' },
        CurrentState: { Code: 64, Name: 'stopping' },
      },
    ]);
    clock.advance(999);
    expect(ec2.instance(I_OLD)?.state).toBe('stopping');
    clock.advance(1);
    const described = await client.send(new DescribeInstancesCommand({ InstanceIds: [I_OLD] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.State).toEqual({ Code: 80, Name: 'stopped' });
  });
});

describe('RunInstances and its ClientToken', () => {
  const launch = (tags: Record<string, string>): RunInstancesCommandInput => ({
    LaunchTemplate: { LaunchTemplateName: 'broker', Version: '$Default' },
    MinCount: 1,
    MaxCount: 1,
    ClientToken: 'token-a',
    TagSpecifications: [
      { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    ],
  });

  it('the same token and parameters return the first reservation; other parameters are a mismatch', async () => {
    const first = await client.send(new RunInstancesCommand(launch({ node: 'a' })));
    const again = await client.send(new RunInstancesCommand(launch({ node: 'a' })));
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(again.Instances?.[0]?.InstanceId).toBe(first.Instances?.[0]?.InstanceId);
    expect(first.Instances?.[0]).toMatchObject({
      State: { Name: 'pending' },
      Tags: [{ Key: 'node', Value: 'a' }],
      Placement: { AvailabilityZone: 'eu-west-1a' },
    });
    await expect(nameOf(client.send(new RunInstancesCommand(launch({ node: 'b' }))))).resolves.toBe(
      'IdempotentParameterMismatch',
    );
    expect(emulator().ec2.launched).toHaveLength(1);
  });

  it('no capacity is InsufficientInstanceCapacity, a 500', async () => {
    emulator().ec2.setCapacity(false);
    const error: unknown = await client.send(new RunInstancesCommand(launch({}))).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'InsufficientInstanceCapacity', $metadata: { httpStatusCode: 500 } });
  });
});

describe('ids', () => {
  it('a malformed id is refused as malformed; one unknown id fails the whole describe', async () => {
    await expect(nameOf(client.send(new DescribeVolumesCommand({ VolumeIds: ['vol-1'] })))).resolves.toBe(
      'InvalidVolumeID.Malformed',
    );
    await expect(nameOf(client.send(new DescribeInstancesCommand({ InstanceIds: ['i-old'] })))).resolves.toBe(
      'InvalidInstanceID.Malformed',
    );
    await expect(
      nameOf(client.send(new DescribeInstancesCommand({ InstanceIds: [I_OLD, 'i-0d000000000000009'] }))),
    ).resolves.toBe('InvalidInstanceID.NotFound');
    const both = await client.send(new DescribeInstancesCommand({ InstanceIds: [I_OLD, I_NEW] }));
    expect(
      both.Reservations?.flatMap((reservation) => reservation.Instances?.map((i) => i.InstanceId)),
    ).toEqual([I_OLD, I_NEW]);
  });
});
