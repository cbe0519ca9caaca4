// AwsEc2Adapter against the stateful EC2 model, through aws-sdk-client-mock (send is stubbed, so
// the SDK's retry middleware does not run here; ec2-sdk-retry.test.ts covers it with real clients).
import { DetachVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

import { AwsEc2Adapter } from '../../../src/adapters/aws/ec2-adapter';
import { classifyEc2Error } from '../../../src/adapters/aws/ec2-errors';
import { Ec2Refusal } from '../../../src/ports/ec2';
import { ec2Error, Ec2Model } from '../../support/aws/ec2-model';
import type { Ec2Timing } from '../../support/aws/ec2-model';

const REGION = 'eu-west-1';
const ec2Mock = mockClient(EC2Client);

afterEach(() => ec2Mock.reset());
afterAll(() => ec2Mock.restore());

/** i-old holds vol-1 at /dev/sdf; i-new is free, same AZ. */
function setup(timing: Ec2Timing = {}) {
  const model = new Ec2Model(REGION, timing)
    .addInstance('i-old')
    .addInstance('i-new')
    .addVolume('vol-1', { sizeGiB: 500, attachedTo: { instanceId: 'i-old', device: '/dev/sdf' } });
  model.installOn(ec2Mock);
  return { model, adapter: new AwsEc2Adapter() };
}

async function refusalOf(promise: Promise<unknown>): Promise<Ec2Refusal> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Ec2Refusal);
    return error as Ec2Refusal;
  }
  throw new Error('expected an Ec2Refusal');
}

describe('describe', () => {
  it('maps a volume and its attachment', async () => {
    const { adapter } = setup();
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toEqual({
      id: 'vol-1',
      state: 'in-use',
      availabilityZone: 'eu-west-1a',
      sizeGiB: 500,
      attachments: [{ instanceId: 'i-old', device: '/dev/sdf', state: 'attached' }],
    });
  });

  it('maps an instance, its devices from the block device mappings', async () => {
    const { adapter } = setup();
    await expect(adapter.describeInstance(REGION, 'i-old')).resolves.toEqual({
      id: 'i-old',
      state: 'running',
      availabilityZone: 'eu-west-1a',
      devices: ['/dev/xvda', '/dev/sdf'],
    });
    await expect(adapter.describeInstance(REGION, 'i-new')).resolves.toMatchObject({
      devices: ['/dev/xvda'],
    });
  });

  it('answers null for a volume, instance or snapshot that does not exist', async () => {
    const { adapter, model } = setup();
    await expect(adapter.describeVolume(REGION, 'vol-missing')).resolves.toBeNull();
    await expect(adapter.describeInstance(REGION, 'i-missing')).resolves.toBeNull();
    await expect(adapter.describeSnapshot(REGION, 'snap-missing')).resolves.toBeNull();
    expect(model.count('DescribeVolumes', 'InvalidVolume.NotFound')).toBe(1);
    expect(model.count('DescribeInstances', 'InvalidInstanceID.NotFound')).toBe(1);
  });

  it('refuses, rather than answering null, when describe is not allowed', async () => {
    const { adapter, model } = setup();
    model.failAlways('DescribeVolumes', () => ec2Error('UnauthorizedOperation', 403, 'not authorized'));
    const refusal = await refusalOf(adapter.describeVolume(REGION, 'vol-1'));
    expect(refusal).toMatchObject({ code: 'unauthorized', retryable: false });
  });
});

describe('checkPermissions (DryRun)', () => {
  it('resolves when EC2 answers DryRunOperation to both, and changes nothing', async () => {
    const { adapter, model } = setup();
    await expect(
      adapter.checkPermissions(REGION, 'vol-1', 'i-old', 'i-new', '/dev/sdf'),
    ).resolves.toBeUndefined();
    expect(model.history()).toEqual([
      'DetachVolume vol-1 i-old force=false dryRun -> DryRunOperation',
      'AttachVolume vol-1 i-new /dev/sdf dryRun -> DryRunOperation',
    ]);
    expect(model.actions()).toEqual([]);
    expect(model.volume('vol-1')?.Attachments?.[0]?.State).toBe('attached');
  });

  it('names the refused action', async () => {
    const { adapter, model } = setup();
    model.deny('AttachVolume');
    const refusal = await refusalOf(adapter.checkPermissions(REGION, 'vol-1', 'i-old', 'i-new', '/dev/sdf'));
    expect(refusal.code).toBe('unauthorized');
    expect(refusal.retryable).toBe(false);
    expect(refusal.details.awsCode).toBe('UnauthorizedOperation');
    expect(refusal.message).toContain('ec2:AttachVolume (vol-1 to i-new at /dev/sdf)');
    expect(refusal.message).not.toContain('ec2:DetachVolume');
  });

  it('names both actions when both are refused', async () => {
    const { adapter, model } = setup();
    model.deny('DetachVolume', 'AttachVolume');
    const refusal = await refusalOf(adapter.checkPermissions(REGION, 'vol-1', 'i-old', 'i-new', '/dev/sdf'));
    expect(refusal.message).toContain('ec2:DetachVolume (vol-1 from i-old)');
    expect(refusal.message).toContain('ec2:AttachVolume');
    expect(model.count('AttachVolume', 'UnauthorizedOperation')).toBe(1);
  });

  it('reports a missing volume as not_found, not as a permission answer', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(adapter.checkPermissions(REGION, 'vol-x', 'i-old', 'i-new', '/dev/sdf'));
    expect(refusal.code).toBe('not_found');
  });

  it('never takes a DryRun that was executed for a permission answer', async () => {
    const adapter = new AwsEc2Adapter();
    ec2Mock.on(DetachVolumeCommand).resolves({ State: 'detaching' });
    const refusal = await refusalOf(adapter.checkPermissions(REGION, 'vol-1', 'i-old', 'i-new', '/dev/sdf'));
    expect(refusal).toMatchObject({ code: 'other', retryable: false });
  });
});

describe('volume swap', () => {
  it('stop, snapshot, detach, attach, start: each step visible through describes', async () => {
    const { adapter, model } = setup({
      stopDescribes: 2,
      snapshotDescribes: 2,
      detachDescribes: 2,
      attachDescribes: 1,
      startDescribes: 1,
    });

    await adapter.stopInstance(REGION, 'i-old');
    const stopping = [];
    for (let i = 0; i < 3; i += 1) stopping.push((await adapter.describeInstance(REGION, 'i-old'))!.state);
    expect(stopping).toEqual(['stopping', 'stopping', 'stopped']);

    const snapshotId = await adapter.createSnapshot(REGION, 'vol-1', 'cutover orders');
    expect(snapshotId).toMatch(/^snap-/);
    const progress = [];
    for (let i = 0; i < 3; i += 1) progress.push(await adapter.describeSnapshot(REGION, snapshotId));
    expect(progress).toEqual([
      { id: snapshotId, state: 'pending', progress: '50%' },
      { id: snapshotId, state: 'pending', progress: '100%' },
      { id: snapshotId, state: 'completed', progress: '100%' },
    ]);

    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
      state: 'in-use',
      attachments: [{ instanceId: 'i-old', state: 'detaching' }],
    });
    await adapter.describeVolume(REGION, 'vol-1');
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
      state: 'available',
      attachments: [],
    });
    await expect(adapter.describeInstance(REGION, 'i-old')).resolves.toMatchObject({
      devices: ['/dev/xvda'],
    });

    await adapter.attachVolume(REGION, 'vol-1', 'i-new', '/dev/sdf');
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
      state: 'in-use',
      attachments: [{ instanceId: 'i-new', device: '/dev/sdf', state: 'attaching' }],
    });
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
      attachments: [{ instanceId: 'i-new', device: '/dev/sdf', state: 'attached' }],
    });

    await adapter.stopInstance(REGION, 'i-new');
    await adapter.describeInstance(REGION, 'i-new');
    await adapter.describeInstance(REGION, 'i-new');
    await adapter.describeInstance(REGION, 'i-new');
    await adapter.startInstance(REGION, 'i-new');
    await expect(adapter.describeInstance(REGION, 'i-new')).resolves.toMatchObject({ state: 'pending' });
    await expect(adapter.describeInstance(REGION, 'i-new')).resolves.toMatchObject({
      state: 'running',
      devices: ['/dev/xvda', '/dev/sdf'],
    });

    expect(model.actions()).toEqual([
      'StopInstances i-old',
      'CreateSnapshot vol-1',
      'DetachVolume vol-1 i-old force=false',
      'AttachVolume vol-1 i-new /dev/sdf',
      'StopInstances i-new',
      'StartInstances i-new',
    ]);
  });

  it('a stuck detach stays busy until it is forced', async () => {
    const { adapter, model } = setup({ detachDescribes: 1 });
    model.stickDetach('vol-1', 'busy');

    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    for (let i = 0; i < 5; i += 1) {
      await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
        attachments: [{ state: 'busy' }],
      });
    }
    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
      attachments: [{ state: 'busy' }],
    });

    await adapter.detachVolume(REGION, 'vol-1', 'i-old', true);
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({
      attachments: [{ state: 'detaching' }],
    });
    await expect(adapter.describeVolume(REGION, 'vol-1')).resolves.toMatchObject({ state: 'available' });
    expect(model.actions()).toEqual([
      'DetachVolume vol-1 i-old force=false',
      'DetachVolume vol-1 i-old force=false',
      'DetachVolume vol-1 i-old force=true',
    ]);
  });

  it('snapshot failure shows as state error', async () => {
    const model = new Ec2Model(REGION, { snapshotDescribes: 1 }).addVolume('vol-2', {
      snapshotOutcome: 'error',
    });
    model.installOn(ec2Mock);
    const adapter = new AwsEc2Adapter();
    const snapshotId = await adapter.createSnapshot(REGION, 'vol-2', 'x');
    await adapter.describeSnapshot(REGION, snapshotId);
    await expect(adapter.describeSnapshot(REGION, snapshotId)).resolves.toMatchObject({ state: 'error' });
  });
});

describe('incorrect state', () => {
  it('attaching an attached volume is VolumeInUse: incorrect_state, not retryable', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(adapter.attachVolume(REGION, 'vol-1', 'i-new', '/dev/sdg'));
    expect(refusal).toMatchObject({ code: 'incorrect_state', retryable: false });
    expect(refusal.details.awsCode).toBe('VolumeInUse');
  });

  it('detaching an available volume is IncorrectState', async () => {
    const { adapter, model } = setup({ detachDescribes: 0 });
    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    const refusal = await refusalOf(adapter.detachVolume(REGION, 'vol-1', 'i-old', false));
    expect(refusal).toMatchObject({ code: 'incorrect_state' });
    expect(refusal.details.awsCode).toBe('IncorrectState');
    expect(model.history()).toEqual([
      'DetachVolume vol-1 i-old force=false',
      'DetachVolume vol-1 i-old force=false -> IncorrectState',
    ]);
  });

  it('detaching from the wrong instance is InvalidAttachment.NotFound: incorrect_state', async () => {
    const { adapter } = setup();
    const refusal = await refusalOf(adapter.detachVolume(REGION, 'vol-1', 'i-new', false));
    expect(refusal).toMatchObject({ code: 'incorrect_state' });
    expect(refusal.details.awsCode).toBe('InvalidAttachment.NotFound');
  });

  it('starting a stopping instance is IncorrectInstanceState; stop and start are idempotent', async () => {
    const { adapter, model } = setup({ stopDescribes: 1 });
    await adapter.startInstance(REGION, 'i-old');
    await adapter.stopInstance(REGION, 'i-old');
    await adapter.stopInstance(REGION, 'i-old');
    const refusal = await refusalOf(adapter.startInstance(REGION, 'i-old'));
    expect(refusal).toMatchObject({ code: 'incorrect_state' });
    expect(refusal.details.awsCode).toBe('IncorrectInstanceState');
    expect(model.count('StopInstances', 'ok')).toBe(2);
  });

  it('an attach to an instance in another AZ is refused as other, not retryable', async () => {
    const { adapter, model } = setup({ detachDescribes: 0 });
    model.addInstance('i-far', { availabilityZone: 'eu-west-1b' });
    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    await adapter.describeVolume(REGION, 'vol-1');
    const refusal = await refusalOf(adapter.attachVolume(REGION, 'vol-1', 'i-far', '/dev/sdf'));
    expect(refusal).toMatchObject({ code: 'other', retryable: false });
    expect(refusal.details.awsCode).toBe('InvalidVolume.ZoneMismatch');
  });
});

describe('throttling and failures through the mock', () => {
  it('RequestLimitExceeded surfaces as throttled, retryable (no SDK retry under the mock)', async () => {
    const { adapter, model } = setup();
    model.failNext('DetachVolume', 1);
    const refusal = await refusalOf(adapter.detachVolume(REGION, 'vol-1', 'i-old', false));
    expect(refusal).toMatchObject({ code: 'throttled', retryable: true });
    expect(refusal.details.awsCode).toBe('RequestLimitExceeded');
    expect(model.volume('vol-1')?.Attachments?.[0]?.State).toBe('attached');
    await adapter.detachVolume(REGION, 'vol-1', 'i-old', false);
    expect(model.count('DetachVolume')).toBe(2);
    expect(model.count('DetachVolume', 'ok')).toBe(1);
  });

  it('a 5xx is other, retryable; a permanent client error is not', async () => {
    const { adapter, model } = setup();
    model.failAlways('StopInstances', () => ec2Error('InternalError', 500, 'An internal error has occurred'));
    model.failAlways('StartInstances', () => ec2Error('InvalidParameterValue', 400, 'bad'));
    await expect(refusalOf(adapter.stopInstance(REGION, 'i-old'))).resolves.toMatchObject({
      code: 'other',
      retryable: true,
    });
    await expect(refusalOf(adapter.startInstance(REGION, 'i-old'))).resolves.toMatchObject({
      code: 'other',
      retryable: false,
    });
    expect(model.count('StopInstances', 'InternalError')).toBe(1);
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
  ])('%s (%i) -> %s, retryable %s', (name, status, code, retryable) => {
    const refusal = classifyEc2Error(ec2Error(name, status, 'message'));
    expect(refusal).toMatchObject({ code, retryable });
    expect(refusal.details.awsCode).toBe(name);
    expect(refusal.message).toBe(`${name}: message`);
  });

  it('network errors are other, retryable; an Ec2Refusal passes through', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyEc2Error(reset)).toMatchObject({ code: 'other', retryable: true });
    const refusal = new Ec2Refusal('not_found', 'gone');
    expect(classifyEc2Error(refusal)).toBe(refusal);
  });
});

describe('clients', () => {
  it('keeps one client per region and destroys them all', async () => {
    const made: string[] = [];
    const destroyed: string[] = [];
    const adapter = new AwsEc2Adapter({
      ec2Client: (region) => {
        made.push(region);
        const client = new EC2Client({ region });
        const destroy = client.destroy.bind(client);
        client.destroy = () => {
          destroyed.push(region);
          destroy();
        };
        return client;
      },
    });
    new Ec2Model(REGION).addVolume('vol-1').installOn(ec2Mock);
    await adapter.describeVolume(REGION, 'vol-1');
    await adapter.describeVolume(REGION, 'vol-1');
    await adapter.describeVolume('us-east-1', 'vol-1');
    expect(made).toEqual([REGION, 'us-east-1']);
    adapter.destroy();
    expect(destroyed).toEqual([REGION, 'us-east-1']);
  });
});
