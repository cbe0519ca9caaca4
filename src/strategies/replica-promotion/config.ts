// The targets-file keys of a replica-promotion target. Exactly one of `postgres` (self-managed
// streaming replication), `rds` (read-replica promotion) or `rdsBlueGreen` (switchover).
import { z } from 'zod';
import { hookSchema, type HookConfig } from '../../config/hook-schema';
import { CONFIG_PARSE_OPTIONS } from '../../config/issues';
import { secretRefSchema } from '../../config/secrets';
import type { SecretRef } from '../../config/types';
import { durationSchema, parseDuration, sizeSchema } from '../../config/units';

/** `seconds: 5` (a number of seconds, as in DESIGN.md) or a duration such as `500ms` or `5s`. */
const lagSecondsSchema = z.union([
  z.number().nonnegative(),
  z.string().transform((text, ctx) => {
    try {
      return parseDuration(text) / 1000;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
]);

const regionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1');
const rdsIdentifier = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'expected an RDS DB instance identifier (letters, digits, hyphens)');

/**
 * How the old primary is kept from taking writes. `sql` (the default; SQL access only): every role
 * that may log in, but the bot's and the replication roles, is made NOLOGIN and every other session
 * is terminated. `stop` (recommended where the bot may run commands on the host): a hook stops the
 * old primary cleanly; `start` brings it back if the run is undone before the promotion.
 */
const fenceSchema = z.unknown().transform((input, ctx): FenceSettings => {
  const mode = typeof input === 'object' && input !== null && 'mode' in input ? input.mode : undefined;
  const schema =
    mode === 'stop'
      ? z.object({ mode: z.literal('stop'), stop: hookSchema, start: hookSchema }).strict()
      : z.object({ mode: z.literal('sql') }).strict();
  const parsed = schema.safeParse(input, CONFIG_PARSE_OPTIONS);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        ctx.addIssue({ code: 'custom', message: 'unknown key', path: [...issue.path, key] });
    } else if (issue.path.length === 1 && issue.path[0] === 'mode') {
      ctx.addIssue({ code: 'custom', message: 'must be sql or stop', path: ['mode'] });
    } else {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
    }
  }
  return z.NEVER;
});

const postgresSchema = z
  .object({
    primary: secretRefSchema,
    standby: secretRefSchema,
    fence: fenceSchema.default({ mode: 'sql' }),
    /** How long the promotion may take before the run stops for a person. */
    promoteTimeout: durationSchema.default(60_000),
    /** How long the standby may take to replay the fenced primary's last WAL. */
    catchUpTimeout: durationSchema.default(60_000),
  })
  .strict();

const rdsSchema = z
  .object({
    region: regionSchema,
    primary: rdsIdentifier,
    replica: rdsIdentifier,
    promoteTimeout: durationSchema.default(30 * 60_000),
  })
  .strict();

const blueGreenSchema = z
  .object({
    region: regionSchema,
    deployment: z.string().regex(/^bgd-[a-z0-9]+$/, 'expected a Blue/Green deployment id such as bgd-abc123'),
    switchoverTimeout: durationSchema.default(5 * 60_000),
  })
  .strict();

export const replicaPromotionConfigSchema = z
  .object({
    postgres: postgresSchema.optional(),
    rds: rdsSchema.optional(),
    rdsBlueGreen: blueGreenSchema.optional(),
    maxLag: z
      .object({ bytes: sizeSchema.optional(), seconds: lagSecondsSchema.optional() })
      .strict()
      .default({ bytes: 16 * 1024 * 1024, seconds: 5 }),
    route: hookSchema.optional(),
    /** How often lag is sampled while waiting for it to come down. */
    lagPollInterval: durationSchema.default(2_000),
  })
  .strict()
  .superRefine((value, ctx) => {
    const kinds = (['postgres', 'rds', 'rdsBlueGreen'] as const).filter((kind) => value[kind] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? 'needs one of postgres, rds or rdsBlueGreen'
            : `give only one of postgres, rds or rdsBlueGreen (found ${kinds.join(', ')})`,
      });
    }
  });

export type FenceSettings = { mode: 'sql' } | { mode: 'stop'; stop: HookConfig; start: HookConfig };

export interface ReplicaPromotionSettings {
  postgres?: {
    primary: SecretRef;
    standby: SecretRef;
    fence: FenceSettings;
    promoteTimeout: number;
    catchUpTimeout: number;
  };
  rds?: { region: string; primary: string; replica: string; promoteTimeout: number };
  rdsBlueGreen?: { region: string; deployment: string; switchoverTimeout: number };
  maxLag: { bytes?: number; seconds?: number };
  route?: HookConfig;
  lagPollInterval: number;
}
