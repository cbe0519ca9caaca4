// The targets-file keys of an in-place target: change a rarely-updated database where it stands,
// inside a window, after a snapshot. Either RDS (ModifyDBInstance, or a pending maintenance action)
// or a self-managed database changed by an operator's command.
import { z } from 'zod';
import { hookSchema } from '../../config/hook-schema';
import { healthSchema } from '../../config/health-schema';
import { secretRefSchema } from '../../config/secrets';
import { durationSchema } from '../../config/units';
import type { ModifiableKey } from '../../ports/rds-maintenance';

const regionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1');
// RDS identifiers: a letter first, letters/digits/hyphens, no double or trailing hyphen.
const rdsIdentifier = z
  .string()
  .regex(
    /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-)){0,62}$/,
    'expected an RDS DB instance identifier (letters, digits, hyphens)',
  )
  .refine((id) => !id.endsWith('-'), 'an RDS identifier cannot end with a hyphen');

/** The ModifyDBInstance values compared against the instance (AllowMajorVersionUpgrade is a flag). */
export const MODIFIABLE_KEYS: readonly ModifiableKey[] = [
  'DBInstanceClass',
  'EngineVersion',
  'AllocatedStorage',
  'StorageType',
  'Iops',
  'StorageThroughput',
  'DBParameterGroupName',
  'MultiAZ',
];

/**
 * What may be changed in place. Deliberately short: values that are changed rarely, need a window
 * and can be verified afterwards on the instance. Anything else (credentials, networking, backups)
 * is refused at load, with its path, rather than sent blind.
 */
const modifySchema = z
  .object({
    DBInstanceClass: z
      .string()
      .regex(/^db\.[a-z0-9-]+\.[a-z0-9]+$/, 'expected an instance class such as db.r6g.large'),
    EngineVersion: z.string().regex(/^\d+(\.\d+)*([.-][A-Za-z0-9._-]+)?$/, 'expected a version such as 16.4'),
    AllowMajorVersionUpgrade: z.boolean(),
    AllocatedStorage: z.number().int().min(20, 'RDS storage is at least 20 GiB').max(65_536),
    StorageType: z.enum(['gp2', 'gp3', 'io1', 'io2', 'standard']),
    Iops: z.number().int().positive(),
    StorageThroughput: z.number().int().positive(),
    DBParameterGroupName: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,254}$/, 'expected a DB parameter group name'),
    MultiAZ: z.boolean(),
  })
  .partial()
  .strict()
  .superRefine((modify, ctx) => {
    if (MODIFIABLE_KEYS.every((key) => modify[key] === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `names nothing to change: give at least one of ${MODIFIABLE_KEYS.join(', ')}`,
      });
    }
    if (modify.AllowMajorVersionUpgrade !== undefined && modify.EngineVersion === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['AllowMajorVersionUpgrade'],
        message: 'only means something with EngineVersion',
      });
    }
  });

export const MAINTENANCE_ACTIONS = [
  'system-update',
  'db-upgrade',
  'hardware-maintenance',
  'os-upgrade',
  'ca-certificate-rotation',
] as const;

const maintenanceSchema = z
  .object({
    action: z.enum(MAINTENANCE_ACTIONS),
    /** The window is now: only `immediate` is offered (next-maintenance would leave the run waiting). */
    optIn: z.literal('immediate').default('immediate'),
  })
  .strict();

const rdsSchema = z
  .object({
    region: regionSchema,
    instance: rdsIdentifier,
    modify: modifySchema.optional(),
    maintenance: maintenanceSchema.optional(),
    snapshotTimeout: durationSchema.default(60 * 60_000),
    modifyTimeout: durationSchema.default(2 * 60 * 60_000),
    /**
     * Reboot inside the window when the change leaves the parameter group `pending-reboot` (its
     * static parameters take effect only then). Without it the report says the change is not in effect.
     */
    reboot: z.boolean().default(false),
  })
  .strict()
  .superRefine((rds, ctx) => {
    if ((rds.modify === undefined) === (rds.maintenance === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message:
          rds.modify === undefined
            ? 'needs modify: { ... } (ModifyDBInstance values) or maintenance: { action: ... }'
            : 'has both modify and maintenance: one change per run',
      });
    }
  });

/**
 * What confirms that a change took effect (a health check only says the database is up): a query whose
 * first value must equal `equals` or match `matches`, or a hook that exits 0.
 */
const verifySchema = z
  .object({
    sql: z
      .object({
        url: secretRefSchema,
        query: z.string().min(1, 'must be a query such as SHOW server_version'),
        equals: z.string().optional(),
        /** A regular expression the value must match. */
        matches: z
          .string()
          .refine((pattern) => {
            try {
              new RegExp(pattern);
              return true;
            } catch {
              return false;
            }
          }, 'must be a regular expression')
          .optional(),
      })
      .strict()
      .refine((sql) => (sql.equals === undefined) !== (sql.matches === undefined), {
        message: 'give one of equals or matches',
      })
      .optional(),
    hook: hookSchema.optional(),
  })
  .strict()
  .refine((verify) => (verify.sql === undefined) !== (verify.hook === undefined), {
    message: 'give one of sql: { url, query, equals | matches } or hook: { command: [...] }',
  });

export const inPlaceConfigSchema = z
  .object({
    inPlace: z
      .object({
        rds: rdsSchema.optional(),
        /** Self-managed: the change itself, through the hook runner. */
        command: hookSchema.optional(),
        /** Self-managed: an optional snapshot/backup hook run before the gate. */
        snapshot: hookSchema.optional(),
        /** Required for a command; for RDS, optional (without it the window ends at `available`). */
        health: healthSchema.optional(),
        healthTimeout: durationSchema.default(10 * 60_000),
        pollInterval: durationSchema.default(15_000),
        /** Optional: confirms the change took effect once the database is healthy. */
        verify: verifySchema.optional(),
      })
      .strict()
      .superRefine((inPlace, ctx) => {
        if ((inPlace.rds === undefined) === (inPlace.command === undefined)) {
          ctx.addIssue({
            code: 'custom',
            message:
              inPlace.rds === undefined
                ? 'needs rds: { region, instance, modify | maintenance } or command: { command: [...] }'
                : 'has both rds and command: give one',
          });
        }
        if (inPlace.rds !== undefined && inPlace.snapshot !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['snapshot'],
            message: 'is for a self-managed database; RDS targets always get a DB snapshot',
          });
        }
        if (inPlace.command !== undefined && inPlace.health === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['health'],
            message: 'is required with command: the change is verified by a health check',
          });
        }
      }),
  })
  .strict();

export type InPlaceSettings = z.output<typeof inPlaceConfigSchema>;
export type InPlaceConfig = InPlaceSettings['inPlace'];
export type InPlaceRds = NonNullable<InPlaceConfig['rds']>;
export type InPlaceVerify = NonNullable<InPlaceConfig['verify']>;
