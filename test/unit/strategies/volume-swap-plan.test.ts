// The volume swap's targets-file keys (one volume or a set, health per server), its plan, and the
// pure judgement of the data found on the new server.
import type { TargetConfig } from '../../../src/config/types';
import { volumeSwapConfigSchema, type SwapVolume } from '../../../src/strategies/volume-swap/config';
import { sameData } from '../../../src/strategies/volume-swap/executors';
import { planVolumeSwap } from '../../../src/strategies/volume-swap/plan';
import type { HealthResult } from '../../../src/ports/health';

const FROM = 'i-0a000000000000001';
const TO = 'i-0b000000000000002';
const VOL = 'vol-0c000000000000003';
const WAL = 'vol-0c000000000000004';

const base = {
  region: 'eu-west-1',
  from: { instanceId: FROM },
  to: { instanceId: TO },
  stop: { ec2: 'stopInstance' },
  start: { ec2: 'startInstance' },
  health: { from: { tcp: 'old.internal:5432' }, to: { tcp: 'new.internal:5432' } },
};

function parse(volume: Record<string, unknown>) {
  return volumeSwapConfigSchema.safeParse({ volume: { ...base, ...volume } });
}

function problems(volume: Record<string, unknown>): string {
  const result = parse(volume);
  if (result.success) throw new Error('expected a refusal');
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
}

function targetOf(volume: Record<string, unknown>, route = false): TargetConfig {
  const result = volumeSwapConfigSchema.parse({
    volume: { ...base, ...volume },
    ...(route ? { route: { command: ['./route.sh'] } } : {}),
  });
  return { name: 'reports-db', strategy: 'volume-swap', settings: result } as unknown as TargetConfig;
}

describe('volume-swap config', () => {
  it('takes one volume as volumeId and device, as a set of one', () => {
    const result = parse({ volumeId: VOL, device: '/dev/sdf' });
    expect(result.success && result.data.volume.volumes).toEqual([{ volumeId: VOL, device: '/dev/sdf' }]);
    expect(result.success && result.data.volume).not.toHaveProperty('volumeId');
    expect(result.success && result.data.volume).toMatchObject({
      snapshot: true,
      snapshotBeforeGate: false,
      downProbes: 3,
      probeTimeout: 3_000,
    });
  });

  it('takes a set of volumes in order', () => {
    const volumes = [
      { volumeId: VOL, device: '/dev/sdf' },
      { volumeId: WAL, device: '/dev/sdg' },
    ];
    const result = parse({ volumes });
    expect(result.success && result.data.volume.volumes).toEqual(volumes);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{}, /give volumeId and device \(one volume\), or volumes/],
    [{ volumeId: VOL }, /volumeId needs device/],
    [{ volumeId: VOL, device: '/dev/sdf', volumes: [{ volumeId: WAL, device: '/dev/sdg' }] }, /not both/],
    [
      {
        volumes: [
          { volumeId: VOL, device: '/dev/sdf' },
          { volumeId: VOL, device: '/dev/sdg' },
        ],
      },
      /volume.volumes.1.volumeId: vol-0c000000000000003 is listed twice/,
    ],
    [
      {
        volumes: [
          { volumeId: VOL, device: '/dev/sdf' },
          { volumeId: WAL, device: '/dev/sdf' },
        ],
      },
      /volumes.1.device: \/dev\/sdf is listed twice/,
    ],
    [
      {
        volumes: [
          { volumeId: VOL, device: '/dev/sdf' },
          { volumeId: WAL, device: '/dev/sdg' },
        ],
        snapshotBeforeGate: true,
      },
      /snapshotBeforeGate: is for one volume only/,
    ],
    [
      { volumeId: VOL, device: '/dev/sdf', health: { tcp: 'db.internal:5432' } },
      /names one address for both servers/,
    ],
    [{ volumeId: VOL, device: '/dev/sdf', downProbes: 0 }, /downProbes/],
    [
      { volumeId: VOL, device: '/dev/sdf', to: { instanceId: FROM } },
      /from and to must be different instances/,
    ],
  ])('refuses %j', (volume, expected) => {
    expect(problems(volume)).toMatch(expected);
  });

  it('takes one health value that names the server', () => {
    const result = parse({
      volumeId: VOL,
      device: '/dev/sdf',
      health: { tcp: '{instanceId}.internal:5432' },
    });
    expect(result.success).toBe(true);
  });
});

describe('planVolumeSwap', () => {
  it('plans no waiting snapshot before the gate by default, and the snapshot with the stop', () => {
    const plan = planVolumeSwap(targetOf({ volumeId: VOL, device: '/dev/sdf' }));
    expect(plan.steps.map((step) => step.name)).toEqual([
      'preflight',
      'approve-move',
      'stop-database',
      'detach-volume',
      'attach-volume',
      'start-database',
      'report',
    ]);
    expect(plan.steps[2]?.title).toBe(`Stop the database on ${FROM} and prove it is down; snapshot ${VOL}`);
    expect(plan.steps.map((step) => step.compensation?.executor ?? null)).toEqual([
      null,
      null,
      'vs-start-from',
      'vs-reattach-from',
      'vs-detach-to',
      'vs-stop-to',
      null,
    ]);
  });

  it('plans a snapshot before the gate when asked, and names a set in order', () => {
    const single = planVolumeSwap(
      targetOf({ volumeId: VOL, device: '/dev/sdf', snapshotBeforeGate: true }, true),
    );
    expect(single.steps.map((step) => step.name)).toEqual([
      'preflight',
      'snapshot',
      'approve-move',
      'stop-database',
      'detach-volume',
      'attach-volume',
      'start-database',
      'route-traffic',
      'report',
    ]);
    const set = planVolumeSwap(
      targetOf({
        volumes: [
          { volumeId: VOL, device: '/dev/sdf' },
          { volumeId: WAL, device: '/dev/sdg' },
        ],
        snapshot: false,
      }),
    );
    expect(set.steps.find((step) => step.name === 'attach-volume')?.title).toBe(
      `Attach ${VOL}, ${WAL} to ${TO}, in this order`,
    );
    expect(set.steps.find((step) => step.name === 'stop-database')?.title).toBe(
      `Stop the database on ${FROM} and prove it is down`,
    );
  });
});

describe('sameData', () => {
  const volume = { from: { instanceId: FROM }, to: { instanceId: TO } } as SwapVolume;
  const reading = (identity: string | null): HealthResult => ({
    healthy: true,
    reach: 'answers',
    identity,
    detail: 'accepts connections',
    latencyMs: 1,
  });

  it('passes the same cluster, and a check that reads no identity', () => {
    expect(sameData(true, '7001', reading('7001'), volume)).toBeNull();
    expect(sameData(false, '7001', reading(null), volume)).toBeNull();
  });

  it('refuses another cluster as the wrong data, naming both identifiers', () => {
    const verdict = sameData(true, '7001', reading('7999'), volume);
    expect(verdict?.decision).toBe('wrong_identity');
    expect(verdict?.message).toContain('system identifier 7999, expected 7001');
  });

  it('asks a person when either side could not be read', () => {
    expect(sameData(true, null, reading('7999'), volume)?.decision).toBe('identity_unknown');
    expect(sameData(true, '7001', reading(null), volume)?.decision).toBe('identity_unknown');
  });
});
