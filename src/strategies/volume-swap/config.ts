// The targets-file keys of a volume-swap target: move one EBS data volume from the old server to
// the new one. `stop` / `start` are hook commands or an EC2 instance stop/start.
import { z } from 'zod';
import { hookSchema, type HookConfig } from '../../config/hook-schema';
import { healthSchema, type HealthConfig } from '../../config/health-schema';
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

/** Stop or start the database: a hook, or the whole EC2 instance. */
const powerSchema = (ec2Action: 'stopInstance' | 'startInstance') =>
  z.union([z.object({ ec2: z.literal(ec2Action) }).strict(), hookSchema]);

export const volumeSwapConfigSchema = z
  .object({
    volume: z
      .object({
        region: regionSchema,
        volumeId: volumeIdSchema,
        from: z.object({ instanceId: instanceIdSchema }).strict(),
        to: z.object({ instanceId: instanceIdSchema }).strict(),
        device: deviceSchema,
        stop: powerSchema('stopInstance'),
        start: powerSchema('startInstance'),
        health: healthSchema,
        /** Safety snapshot before the gate; on by default, skippable only here. */
        snapshot: z.boolean().default(true),
        detachTimeout: durationSchema.default(5 * 60_000),
        attachTimeout: durationSchema.default(5 * 60_000),
        stopTimeout: durationSchema.default(10 * 60_000),
        healthTimeout: durationSchema.default(10 * 60_000),
        pollInterval: durationSchema.default(5_000),
      })
      .strict()
      .refine((volume) => volume.from.instanceId !== volume.to.instanceId, {
        message: 'from and to must be different instances',
      }),
    route: hookSchema.optional(),
  })
  .strict();

export type PowerConfig = { ec2: 'stopInstance' } | { ec2: 'startInstance' } | HookConfig;

export interface VolumeSwapSettings {
  volume: {
    region: string;
    volumeId: string;
    from: { instanceId: string };
    to: { instanceId: string };
    device: string;
    stop: PowerConfig;
    start: PowerConfig;
    health: HealthConfig;
    snapshot: boolean;
    detachTimeout: number;
    attachTimeout: number;
    stopTimeout: number;
    healthTimeout: number;
    pollInterval: number;
  };
  route?: HookConfig;
}

export function isEc2Power(power: PowerConfig): power is { ec2: 'stopInstance' } | { ec2: 'startInstance' } {
  return 'ec2' in power;
}
