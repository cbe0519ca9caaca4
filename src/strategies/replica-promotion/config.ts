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

/** The roles RDS itself logs in as; the fence leaves them alone (the bot cannot lock them). */
export const RDS_MANAGED_ROLES: readonly string[] = ['rdsadmin', 'rdsrepladmin', 'rdstopmgr'];

/**
 * SQL access to source and replica: the fence and the catch-up by LSN. The URLs log in as the bot's
 * own role, which needs CREATEROLE and pg_signal_backend (rds_superuser has both).
 */
const rdsSqlSchema = z
  .object({
    primary: secretRefSchema,
    replica: secretRefSchema,
    managedRoles: z
      .array(z.string().regex(/^[^\s"]{1,63}$/, 'expected a role name'))
      .default([...RDS_MANAGED_ROLES]),
  })
  .strict();

const rdsSchema = z
  .object({
    region: regionSchema,
    primary: rdsIdentifier,
    replica: rdsIdentifier,
    promoteTimeout: durationSchema.default(30 * 60_000),
    sql: rdsSqlSchema.optional(),
    /** With sql: how long the replica may take to replay the fenced source's last WAL. */
    catchUpTimeout: durationSchema.default(60_000),
    /** Without sql: promote with no fence (writes the replica has not replayed are lost). */
    allowDataLoss: z.boolean().default(false),
  })
  .strict()
  .superRefine((rds, ctx) => {
    if (rds.sql !== undefined && rds.allowDataLoss) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowDataLoss'],
        message: 'is for targets without sql: with SQL access the source is fenced and nothing is lost',
      });
    }
  });

const blueGreenSchema = z
  .object({
    region: regionSchema,
    deployment: z.string().regex(/^bgd-[a-z0-9]+$/, 'expected a Blue/Green deployment id such as bgd-abc123'),
    switchoverTimeout: durationSchema.default(5 * 60_000),
    /** SQL access to blue, for the preflight's logical-replication checks. */
    sql: z.object({ blue: secretRefSchema }).strict().optional(),
  })
  .strict();

/** PgBouncer instances in front of the primary: paused for the switchover, resumed once repointed. */
const pgbouncerSchema = z
  .object({
    instances: z
      .array(
        z
          .object({
            /** The admin console: postgres://admin@host:6432/pgbouncer */
            admin: secretRefSchema,
            /** A client URL through this instance (a role with the applications' rights): the bot's write probe. */
            client: secretRefSchema.optional(),
          })
          .strict(),
      )
      .min(1, 'list at least one PgBouncer instance'),
    /** The database entries to PAUSE (the ones that reach the primary); default: all of them. */
    databases: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$-]*$/, 'expected a PgBouncer database name'))
      .default([]),
    /** How long PAUSE may wait for server connections to be released before the run stops, nothing fenced. */
    pauseTimeout: durationSchema.default(5_000),
  })
  .strict();

export const replicaPromotionConfigSchema = z
  .object({
    postgres: postgresSchema.optional(),
    pgbouncer: pgbouncerSchema.optional(),
    /**
     * Turns the old primary into a standby of the new one after the cutover (placeholders
     * {standby.host} {standby.port} name the new primary); the bot then waits until it streams.
     */
    rejoin: hookSchema.optional(),
    /** How long the old primary may take to stream from the new one after the rejoin hook. */
    rejoinTimeout: durationSchema.default(5 * 60_000),
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
    for (const key of ['pgbouncer', 'rejoin'] as const) {
      if (value[key] !== undefined && value.postgres === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'needs a postgres section (self-managed replication)',
        });
    }
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

export interface PgBouncerSettings {
  instances: { admin: SecretRef; client?: SecretRef }[];
  databases: string[];
  pauseTimeout: number;
}

export type FenceSettings = { mode: 'sql' } | { mode: 'stop'; stop: HookConfig; start: HookConfig };

export interface RdsReplicaSettings {
  region: string;
  primary: string;
  replica: string;
  promoteTimeout: number;
  sql?: { primary: SecretRef; replica: SecretRef; managedRoles: string[] };
  catchUpTimeout: number;
  allowDataLoss: boolean;
}

export interface ReplicaPromotionSettings {
  postgres?: {
    primary: SecretRef;
    standby: SecretRef;
    fence: FenceSettings;
    promoteTimeout: number;
    catchUpTimeout: number;
  };
  rds?: RdsReplicaSettings;
  rdsBlueGreen?: { region: string; deployment: string; switchoverTimeout: number; sql?: { blue: SecretRef } };
  pgbouncer?: PgBouncerSettings;
  rejoin?: HookConfig;
  rejoinTimeout: number;
  maxLag: { bytes?: number; seconds?: number };
  route?: HookConfig;
  lagPollInterval: number;
}
