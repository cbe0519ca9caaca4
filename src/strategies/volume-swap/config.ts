// The targets-file keys of a volume-swap target: move the EBS volumes of a database (one, or a set:
// RAID or LVM members, a separate WAL volume) from the old server to the new one. `stop` / `start`
// are hook commands or an EC2 instance stop/start; `health` checks each server on its own.
import { z } from 'zod';
import { hookSchema, type HookConfig } from '../../config/hook-schema';
import { sidedHealthSchemaWith, type SidedHealthConfig } from '../../config/health-schema';
import { durationSchema } from '../../config/units';

export const regionSchema = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1');
export const volumeIdSchema = z
  .string()
  .regex(/^vol-[0-9a-f]{8}([0-9a-f]{9})?$/, 'expected an EBS volume id such as vol-0123456789abcdef0');
export const instanceIdSchema = z
  .string()
  .regex(/^i-[0-9a-f]{8}([0-9a-f]{9})?$/, 'expected an EC2 instance id such as i-0123456789abcdef0');
export const deviceSchema = z
  .string()
  .regex(
    /^\/dev\/(sd[b-z]|xvd[b-z]|sd[b-z][0-9]|xvd[b-z][0-9])$/,
    'expected a device name such as /dev/sdf or /dev/xvdf',
  );

/** The placeholders a shared `health` value may hold, with the sample values it is checked with. */
export const HEALTH_PLACEHOLDERS = { instanceId: 'i-0123456789abcdef0', region: 'eu-west-1' } as const;

/** Stop or start the database: a hook, or the whole EC2 instance. */
const powerSchema = (ec2Action: 'stopInstance' | 'startInstance') =>
  z.union([z.object({ ec2: z.literal(ec2Action) }).strict(), hookSchema]);

const volumeRefSchema = z.object({ volumeId: volumeIdSchema, device: deviceSchema }).strict();

export const volumeSwapConfigSchema = z
  .object({
    volume: z
      .object({
        region: regionSchema,
        /** One volume: its id and device. */
        volumeId: volumeIdSchema.optional(),
        device: deviceSchema.optional(),
        /** Or several, detached together and attached in this order. */
        volumes: z.array(volumeRefSchema).min(1).max(16).optional(),
        from: z.object({ instanceId: instanceIdSchema }).strict(),
        to: z.object({ instanceId: instanceIdSchema }).strict(),
        stop: powerSchema('stopInstance'),
        start: powerSchema('startInstance'),
        /** Must succeed on the server the volumes leave before any DetachVolume (say: unmounted). */
        verifyDown: hookSchema.optional(),
        health: sidedHealthSchemaWith(HEALTH_PLACEHOLDERS),
        /** Refused connections in a row that prove the database is down. */
        downProbes: z.number().int().min(1).max(20).default(3),
        /** How long one health probe may take. */
        probeTimeout: durationSchema.default(3_000),
        /** A snapshot of every volume right after the clean stop (not waited for). */
        snapshot: z.boolean().default(true),
        /** Also one before the gate, of the running database (crash-consistent, one volume only). */
        snapshotBeforeGate: z.boolean().default(false),
        detachTimeout: durationSchema.default(5 * 60_000),
        attachTimeout: durationSchema.default(5 * 60_000),
        stopTimeout: durationSchema.default(10 * 60_000),
        healthTimeout: durationSchema.default(10 * 60_000),
        pollInterval: durationSchema.default(5_000),
      })
      .strict()
      .superRefine((volume, ctx) => {
        const issue = (message: string, path: PropertyKey[] = []) =>
          ctx.addIssue({ code: 'custom', message, path });
        if (volume.from.instanceId === volume.to.instanceId) issue('from and to must be different instances');
        const single = volume.volumeId !== undefined || volume.device !== undefined;
        if (single && volume.volumes !== undefined)
          issue('give volumeId and device, or volumes: [...], not both');
        else if (!single && volume.volumes === undefined)
          issue('give volumeId and device (one volume), or volumes: [{ volumeId, device }, ...]');
        else if (single && (volume.volumeId === undefined || volume.device === undefined))
          issue(volume.volumeId === undefined ? 'device needs volumeId' : 'volumeId needs device');
        const list = volume.volumes ?? [];
        for (const key of ['volumeId', 'device'] as const) {
          const seen = new Set<string>();
          list.forEach((entry, index) => {
            if (seen.has(entry[key])) issue(`${entry[key]} is listed twice`, ['volumes', index, key]);
            seen.add(entry[key]);
          });
        }
        // Snapshots of a set taken one by one while the database writes are not of one moment.
        if (volume.snapshotBeforeGate && list.length > 1)
          issue(
            'is for one volume only: snapshots of a running set are not consistent with each other (the snapshots after the clean stop are)',
            ['snapshotBeforeGate'],
          );
      })
      .transform(({ volumeId, device, volumes, ...rest }) => ({
        ...rest,
        volumes: volumes ?? [{ volumeId: volumeId as string, device: device as string }],
      })),
    route: hookSchema.optional(),
  })
  .strict();

export type PowerConfig = { ec2: 'stopInstance' } | { ec2: 'startInstance' } | HookConfig;

export interface VolumeRef {
  volumeId: string;
  device: string;
}

export interface VolumeSwapSettings {
  volume: {
    region: string;
    /** Detached together, attached in this order; the first is the one hooks see as {volumeId}. */
    volumes: VolumeRef[];
    from: { instanceId: string };
    to: { instanceId: string };
    stop: PowerConfig;
    start: PowerConfig;
    verifyDown?: HookConfig;
    health: SidedHealthConfig;
    downProbes: number;
    probeTimeout: number;
    snapshot: boolean;
    snapshotBeforeGate: boolean;
    detachTimeout: number;
    attachTimeout: number;
    stopTimeout: number;
    healthTimeout: number;
    pollInterval: number;
  };
  route?: HookConfig;
}

export type SwapVolume = VolumeSwapSettings['volume'];

export function isEc2Power(power: PowerConfig): power is { ec2: 'stopInstance' } | { ec2: 'startInstance' } {
  return 'ec2' in power;
}

/** "vol-a" or "vol-a, vol-b" for titles and messages. */
export function volumeList(volume: Pick<SwapVolume, 'volumes'>): string {
  return volume.volumes.map((entry) => entry.volumeId).join(', ');
}
