// AwsEc2Adapter against the AWS emulator, through a real EC2Client: the SDK serializes each call in
// EC2's Query protocol, the emulator answers in XML, the SDK parses the answer or the error. The
// client retries as production's does (standard mode, 5 attempts) with a 1 ms backoff, so refusals
// that outlast the retries arrive quickly. Time is a ManualClock each test steps.
import { DescribeVolumesCommand, DetachVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { classifyEc2Error } from '../../../src/adapters/aws/ec2-errors';
import { AwsRefusal } from '../../../src/ports/aws-refusal';
import { ec2Error, isDryRun, useAwsEmulator } from '../../support/services/aws/emulator';
import type { Ec2Durations } from '../../support/services/aws/emulator';
import { fastEc2Client } from '../../support/services/aws/fast-retry-clients';
import { ManualClock } from '../../support/fakes/manual-clock';

const REGION = 'eu-west-1';
const I_OLD = 'i-0a000000000000001';
const I_NEW = 'i-0b000000000000002';
const VOL = 'vol-0c000000000000001';
const emulator = useAwsEmulator();
let clock: ManualClock;
let client: EC2Client;

beforeAll(() => {
  client = fastEc2Client(REGION);
});

afterAll(() => client.destroy());

/** i-old holds the volume at /dev/sdf; i-new is free, same AZ. */
function setup(durations: Partial<Ec2Durations> = {}) {
  clock = new ManualClock();
  const ec2 = emulator()
    .reset({ clock, ec2: durations })
    .ec2.addInstance(I_OLD)
    .addInstance(I_NEW)
    .addVolume(VOL, { sizeGiB: 500, attachedTo: { instanceId: I_OLD, device: '/dev/sdf' } });
  return { ec2, adapter: new AwsEc2Adapter({ ec2Client: () => client }) };
}

async function refusalOf(promise: Promise<unknown>): Promise<AwsRefusal> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AwsRefusal);
    return error as AwsRefusal;
  }
  throw new Error('expected an AwsRefusal');
}

describe('describe', () => {
  it('maps a volume and its attachment', async () => {
    const { adapter } = setup();
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toEqual({
      id: VOL,
      state: 'in-use',
      availabilityZone: 'eu-west-1a',
      sizeGiB: 500,
      attachments: [{ instanceId: I_OLD, device: '/dev/sdf', state: 'attached' }],
    });
  });

  it('maps an instance, its devices from the block device mappings', async () => {
    const { adapter } = setup();
    await expect(adapter.describeInstance(REGION, I_OLD)).resolves.toEqual({
      id: I_OLD,
      state: 'running',
      availabilityZone: 'eu-west-1a',
      devices: ['/dev/xvda', '/dev/sdf'],
    });
    await expect(adapter.describeInstance(REGION, I_NEW)).resolves.toMatchObject({
      devices: ['/dev/xvda'],
    });
  });

  it('answers null for a volume, instance or snapshot that does not exist', async () => {
    const { adapter, ec2 } = setup();
    await expect(adapter.describeVolume(REGION, 'vol-0d000000000000009')).resolves.toBeNull();
    await expect(adapter.describeInstance(REGION, 'i-0d000000000000009')).resolves.toBeNull();
    await expect(adapter.describeSnapshot(REGION, 'snap-0d000000000000009')).resolves.toBeNull();
    expect(ec2.count('DescribeVolumes', 'InvalidVolume.NotFound')).toBe(1);
    expect(ec2.count('DescribeInstances', 'InvalidInstanceID.NotFound')).toBe(1);
    expect(ec2.count('DescribeSnapshots', 'InvalidSnapshot.NotFound')).toBe(1);
  });

  it('refuses, rather than answering null, when describe is not allowed', async () => {
    const { adapter, ec2 } = setup();
    ec2.deny('DescribeVolumes');
    const refusal = await refusalOf(adapter.describeVolume(REGION, VOL));
    expect(refusal).toMatchObject({ code: 'unauthorized', retryable: false });
    expect(refusal.awsCode).toBe('UnauthorizedOperation');
  });

  it('a malformed id is not "not found": EC2 refuses it (the targets file never lets one through)', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(adapter.describeVolume(REGION, 'vol-missing'));
    expect(refusal).toMatchObject({ code: 'other', retryable: false });
    expect(refusal.awsCode).toBe('InvalidVolumeID.Malformed');
  });
});

describe('checkPermissions (DryRun)', () => {
  it('resolves when EC2 answers DryRunOperation to both, and changes nothing', async () => {
    const { adapter, ec2 } = setup();
    await expect(adapter.checkPermissions(REGION, VOL, I_OLD, I_NEW, '/dev/sdf')).resolves.toBeUndefined();
    expect(ec2.history()).toEqual([
      `DetachVolume ${VOL} ${I_OLD} force=false dryRun -> DryRunOperation`,
      `AttachVolume ${VOL} ${I_NEW} /dev/sdf dryRun -> DryRunOperation`,
    ]);
    expect(ec2.actions()).toEqual([]);
    expect(ec2.volume(VOL)?.attachments[0]?.state).toBe('attached');
  });

  it('names the refused action', async () => {
    const { adapter, ec2 } = setup();
    ec2.deny('AttachVolume');
    const refusal = await refusalOf(adapter.checkPermissions(REGION, VOL, I_OLD, I_NEW, '/dev/sdf'));
    expect(refusal.code).toBe('unauthorized');
    expect(refusal.retryable).toBe(false);
    expect(refusal.awsCode).toBe('UnauthorizedOperation');
    expect(refusal.message).toContain(`ec2:AttachVolume (${VOL} to ${I_NEW} at /dev/sdf)`);
    expect(refusal.message).not.toContain('ec2:DetachVolume');
  });

  it('names both actions when both are refused', async () => {
    const { adapter, ec2 } = setup();
    ec2.deny('DetachVolume', 'AttachVolume');
    const refusal = await refusalOf(adapter.checkPermissions(REGION, VOL, I_OLD, I_NEW, '/dev/sdf'));
    expect(refusal.message).toContain(`ec2:DetachVolume (${VOL} from ${I_OLD})`);
    expect(refusal.message).toContain('ec2:AttachVolume');
    expect(ec2.count('AttachVolume', 'UnauthorizedOperation')).toBe(1);
  });

  it('reports a missing volume as not_found, not as a permission answer', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(
      adapter.checkPermissions(REGION, 'vol-0d000000000000009', I_OLD, I_NEW, '/dev/sdf'),
    );
    expect(refusal.code).toBe('not_found');
  });

  it('never takes a DryRun that was executed for a permission answer', async () => {
    // No real EC2 answers a DryRun with success: a stubbed client gives that one odd answer.
    const odd = new EC2Client({ region: REGION });
    const stub = mockClient(odd);
    try {
      stub.on(DetachVolumeCommand).resolves({ State: 'detaching' });
      const adapter = new AwsEc2Adapter({ ec2Client: () => odd });
      const refusal = await refusalOf(adapter.checkPermissions(REGION, VOL, I_OLD, I_NEW, '/dev/sdf'));
      expect(refusal).toMatchObject({ code: 'other', retryable: false });
    } finally {
      stub.restore();
      odd.destroy();
    }
  });
});

describe('checkSnapshotPermission (DryRun)', () => {
  it('resolves when EC2 answers DryRunOperation, and takes no snapshot', async () => {
    const { adapter, ec2 } = setup();
    await expect(adapter.checkSnapshotPermission(REGION, VOL)).resolves.toBeUndefined();
    expect(ec2.history()).toEqual([`CreateSnapshot ${VOL} dryRun -> DryRunOperation`]);
    expect(ec2.snapshotIds()).toEqual([]);
  });

  it('names the refused action', async () => {
    const { adapter, ec2 } = setup();
    ec2.deny('CreateSnapshot');
    const refusal = await refusalOf(adapter.checkSnapshotPermission(REGION, VOL));
    expect(refusal).toMatchObject({ code: 'unauthorized', retryable: false });
    expect(refusal.message).toContain(`ec2:CreateSnapshot (${VOL})`);
  });
});

describe('volume swap', () => {
  it('stop, snapshot, detach, attach, start: each step visible through describes as time passes', async () => {
    const { adapter, ec2 } = setup({
      stopMs: 2_000,
      snapshotMs: 2_000,
      detachMs: 2_000,
      attachMs: 1_000,
      startMs: 1_000,
    });

    await adapter.stopInstance(REGION, I_OLD);
    const stopping = [(await adapter.describeInstance(REGION, I_OLD))!.state];
    clock.advance(1_000);
    stopping.push((await adapter.describeInstance(REGION, I_OLD))!.state);
    clock.advance(1_000);
    stopping.push((await adapter.describeInstance(REGION, I_OLD))!.state);
    expect(stopping).toEqual(['stopping', 'stopping', 'stopped']);

    const snapshotId = await adapter.createSnapshot(REGION, VOL, 'cutover orders');
    expect(snapshotId).toMatch(/^snap-/);
    const progress = [await adapter.describeSnapshot(REGION, snapshotId)];
    clock.advance(1_000);
    progress.push(await adapter.describeSnapshot(REGION, snapshotId));
    clock.advance(1_000);
    progress.push(await adapter.describeSnapshot(REGION, snapshotId));
    expect(progress).toEqual([
      { id: snapshotId, state: 'pending', progress: '0%' },
      { id: snapshotId, state: 'pending', progress: '50%' },
      { id: snapshotId, state: 'completed', progress: '100%' },
    ]);

    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
      state: 'in-use',
      attachments: [{ instanceId: I_OLD, state: 'detaching' }],
    });
    clock.advance(2_000);
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
      state: 'available',
      attachments: [],
    });
    await expect(adapter.describeInstance(REGION, I_OLD)).resolves.toMatchObject({ devices: ['/dev/xvda'] });

    await adapter.attachVolume(REGION, VOL, I_NEW, '/dev/sdf');
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
      state: 'in-use',
      attachments: [{ instanceId: I_NEW, device: '/dev/sdf', state: 'attaching' }],
    });
    clock.advance(1_000);
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
      attachments: [{ instanceId: I_NEW, device: '/dev/sdf', state: 'attached' }],
    });

    await adapter.stopInstance(REGION, I_NEW);
    clock.advance(2_000);
    await adapter.startInstance(REGION, I_NEW);
    await expect(adapter.describeInstance(REGION, I_NEW)).resolves.toMatchObject({ state: 'pending' });
    clock.advance(1_000);
    await expect(adapter.describeInstance(REGION, I_NEW)).resolves.toMatchObject({
      state: 'running',
      devices: ['/dev/xvda', '/dev/sdf'],
    });

    expect(ec2.actions()).toEqual([
      `StopInstances ${I_OLD}`,
      `CreateSnapshot ${VOL}`,
      `DetachVolume ${VOL} ${I_OLD} force=false`,
      `AttachVolume ${VOL} ${I_NEW} /dev/sdf`,
      `StopInstances ${I_NEW}`,
      `StartInstances ${I_NEW}`,
    ]);
  });

  it('a stuck detach stays busy until it is forced', async () => {
    const { adapter, ec2 } = setup({ detachMs: 1_000 });
    ec2.stickDetach(VOL, 'busy');

    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    for (let i = 0; i < 5; i += 1) {
      clock.advance(60_000);
      await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
        attachments: [{ state: 'busy' }],
      });
    }
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
      attachments: [{ state: 'busy' }],
    });

    await adapter.detachVolume(REGION, VOL, I_OLD, true);
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({
      attachments: [{ state: 'detaching' }],
    });
    clock.advance(1_000);
    await expect(adapter.describeVolume(REGION, VOL)).resolves.toMatchObject({ state: 'available' });
    expect(ec2.actions()).toEqual([
      `DetachVolume ${VOL} ${I_OLD} force=false`,
      `DetachVolume ${VOL} ${I_OLD} force=false`,
      `DetachVolume ${VOL} ${I_OLD} force=true`,
    ]);
  });

  it('snapshot failure shows as state error', async () => {
    const { adapter, ec2 } = setup({ snapshotMs: 1_000 });
    ec2.addVolume('vol-0c000000000000002', { snapshotOutcome: 'error' });
    const snapshotId = await adapter.createSnapshot(REGION, 'vol-0c000000000000002', 'x');
    await expect(adapter.describeSnapshot(REGION, snapshotId)).resolves.toMatchObject({ state: 'pending' });
    clock.advance(1_000);
    await expect(adapter.describeSnapshot(REGION, snapshotId)).resolves.toMatchObject({ state: 'error' });
  });
});

describe('incorrect state', () => {
  it('attaching an attached volume is VolumeInUse: incorrect_state, not retryable', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(adapter.attachVolume(REGION, VOL, I_NEW, '/dev/sdg'));
    expect(refusal).toMatchObject({ code: 'incorrect_state', retryable: false });
    expect(refusal.awsCode).toBe('VolumeInUse');
  });

  it('detaching an available volume is IncorrectState', async () => {
    const { adapter, ec2 } = setup({ detachMs: 0 });
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    const refusal = await refusalOf(adapter.detachVolume(REGION, VOL, I_OLD, false));
    expect(refusal).toMatchObject({ code: 'incorrect_state' });
    expect(refusal.awsCode).toBe('IncorrectState');
    expect(ec2.history()).toEqual([
      `DetachVolume ${VOL} ${I_OLD} force=false`,
      `DetachVolume ${VOL} ${I_OLD} force=false -> IncorrectState`,
    ]);
  });

  it('detaching from the wrong instance is InvalidAttachment.NotFound: incorrect_state', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(adapter.detachVolume(REGION, VOL, I_NEW, false));
    expect(refusal).toMatchObject({ code: 'incorrect_state' });
    expect(refusal.awsCode).toBe('InvalidAttachment.NotFound');
  });

  it('starting a stopping instance is IncorrectInstanceState; stop and start are idempotent', async () => {
    const { adapter, ec2 } = setup({ stopMs: 1_000 });
    await adapter.startInstance(REGION, I_OLD);
    await adapter.stopInstance(REGION, I_OLD);
    await adapter.stopInstance(REGION, I_OLD);
    const refusal = await refusalOf(adapter.startInstance(REGION, I_OLD));
    expect(refusal).toMatchObject({ code: 'incorrect_state' });
    expect(refusal.awsCode).toBe('IncorrectInstanceState');
    expect(ec2.count('StopInstances', 'ok')).toBe(2);
  });

  it('an attach to an instance in another AZ is refused as other, not retryable', async () => {
    const { adapter, ec2 } = setup({ detachMs: 0 });
    ec2.addInstance('i-0f000000000000003', { availabilityZone: 'eu-west-1b' });
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    await adapter.describeVolume(REGION, VOL);
    const refusal = await refusalOf(adapter.attachVolume(REGION, VOL, 'i-0f000000000000003', '/dev/sdf'));
    expect(refusal).toMatchObject({ code: 'other', retryable: false });
    expect(refusal.awsCode).toBe('InvalidVolume.ZoneMismatch');
  });
});

describe('throttling and failures that outlast the SDK retries', () => {
  it('RequestLimitExceeded on every attempt surfaces as throttled, retryable; nothing was detached', async () => {
    const { adapter, ec2 } = setup();
    ec2.throttle('DetachVolume', { count: 5 });
    const refusal = await refusalOf(adapter.detachVolume(REGION, VOL, I_OLD, false));
    expect(refusal).toMatchObject({ code: 'throttled', retryable: true });
    expect(refusal.awsCode).toBe('RequestLimitExceeded');
    expect(ec2.volume(VOL)?.attachments[0]?.state).toBe('attached');
    await adapter.detachVolume(REGION, VOL, I_OLD, false);
    expect(ec2.count('DetachVolume')).toBe(6);
    expect(ec2.count('DetachVolume', 'ok')).toBe(1);
  });

  it('a 5xx is other, retryable (after the SDK retried it); a permanent client error is not retried', async () => {
    const { adapter, ec2 } = setup();
    ec2.failAlways('StopInstances', ec2Error('InternalError', 500, 'An internal error has occurred'));
    ec2.failAlways('StartInstances', ec2Error('InvalidParameterValue', 400, 'bad'));
    await expect(refusalOf(adapter.stopInstance(REGION, I_OLD))).resolves.toMatchObject({
      code: 'other',
      retryable: true,
    });
    await expect(refusalOf(adapter.startInstance(REGION, I_OLD))).resolves.toMatchObject({
      code: 'other',
      retryable: false,
    });
    expect(ec2.count('StopInstances', 'InternalError')).toBe(5);
    expect(ec2.count('StartInstances', 'InvalidParameterValue')).toBe(1);
  });

  it('a DryRun is answered, never retried, even when EC2 throttles the real calls', async () => {
    const { adapter, ec2 } = setup();
    ec2.throttle('DetachVolume', { count: 10, when: (params) => !isDryRun(params) });
    await adapter.checkPermissions(REGION, VOL, I_OLD, I_NEW, '/dev/sdf');
    expect(ec2.count('DetachVolume')).toBe(1);
  });
});

describe('classifyEc2Error', () => {
  it.each([
    ['InvalidVolume.NotFound', 400, 'not_found', false],
    ['InvalidInstanceID.NotFound', 400, 'not_found', false],
    ['InvalidSnapshot.NotFound', 400, 'not_found', false],
    ['IncorrectState', 400, 'incorrect_state', false],
    ['VolumeInUse', 400, 'incorrect_state', false],
    ['IncorrectInstanceState', 400, 'incorrect_state', false],
    ['InvalidAttachment.NotFound', 400, 'incorrect_state', false],
    ['RequestLimitExceeded', 503, 'throttled', true],
    ['Throttling', 400, 'throttled', true],
    ['UnauthorizedOperation', 403, 'unauthorized', false],
    ['AuthFailure', 401, 'unauthorized', false],
    ['DryRunOperation', 412, 'dry_run_ok', false],
    ['InternalError', 500, 'other', true],
    ['Unavailable', 503, 'other', true],
    ['InvalidParameterValue', 400, 'other', false],
  ])('%s (%i) from the wire -> %s, retryable %s', async (name, status, code, retryable) => {
    // The emulator answers the code with its status; the SDK builds the error it throws from that.
    const { ec2 } = setup();
    ec2.failAlways('DescribeVolumes', ec2Error(name, status, 'message'));
    const raw: unknown = await client
      .send(new DescribeVolumesCommand({ VolumeIds: [VOL] }))
      .catch((error: unknown) => error);
    const refusal = classifyEc2Error(raw);
    expect(refusal).toMatchObject({ code, retryable });
    expect(refusal.awsCode).toBe(name);
    expect(refusal.message).toBe(`${name}: message`);
  });

  it('network errors are other, retryable; an AwsRefusal passes through', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyEc2Error(reset)).toMatchObject({ code: 'other', retryable: true });
    const refusal = new AwsRefusal('not_found', 'gone');
    expect(classifyEc2Error(refusal)).toBe(refusal);
  });
});

describe('clients', () => {
  it('keeps one client per region and destroys them all', async () => {
    setup();
    const made: string[] = [];
    const destroyed: string[] = [];
    const adapter = new AwsEc2Adapter({
      ec2Client: (region) => {
        made.push(region);
        const regional = new EC2Client({ region });
        const destroy = regional.destroy.bind(regional);
        regional.destroy = () => {
          destroyed.push(region);
          destroy();
        };
        return regional;
      },
    });
    await adapter.describeVolume(REGION, VOL);
    await adapter.describeVolume(REGION, VOL);
    await adapter.describeVolume('us-east-1', VOL);
    expect(made).toEqual([REGION, 'us-east-1']);
    expect(emulator().ec2.calls.map((call) => call.region)).toEqual([REGION, REGION, 'us-east-1']);
    adapter.destroy();
    expect(destroyed).toEqual([REGION, 'us-east-1']);
  });
});
