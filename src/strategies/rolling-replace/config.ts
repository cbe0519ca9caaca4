// The targets-file keys of a rolling-replace target: a replicated cluster replaced node by node.
// `replace` is a hook, or an EC2 replacement: launch from a launch template, optionally moving the
// old node's data volume across (the volume-swap EC2 steps).
import { z } from 'zod';
import { hookSchema, type HookConfig } from '../../config/hook-schema';
import { CONFIG_PARSE_OPTIONS } from '../../config/issues';
import { secretRefSchema } from '../../config/secrets';
import type { SecretRef } from '../../config/types';
import { durationOrZeroSchema, durationSchema, sizeSchema } from '../../config/units';
import type { LaunchTemplateRef } from '../../ports/ec2';
import { deviceSchema, instanceIdSchema, regionSchema, volumeIdSchema } from '../volume-swap/config';

const nodeSchema = z
  .object({
    id: z.string().min(1).max(200),
    /** EC2 replace: the node's current instance (stopped or terminated once replaced). */
    instanceId: instanceIdSchema.optional(),
    /** EC2 replace with moveVolume: the node's data volume, moved to the replacement. */
    volumeId: volumeIdSchema.optional(),
    /** NATS: the server's HTTP monitoring URL; the bot asks each server what it holds. */
    monitor: z
      .url({ protocol: /^https?$/, error: 'expected the http:// or https:// URL of the monitoring port' })
      .optional(),
  })
  .strict();

const launchTemplateVersionSchema = z
  .union([z.number().int().min(1), z.string().regex(/^(\$Default|\$Latest|[1-9][0-9]*)$/)])
  .transform(String)
  .optional();

const launchTemplateSchema = z.union([
  z
    .object({
      id: z.string().regex(/^lt-[0-9a-f]{17}$/, 'expected a launch template id such as lt-0123456789abcdef0'),
      version: launchTemplateVersionSchema,
    })
    .strict(),
  z
    .object({
      name: z
        .string()
        .regex(
          /^[a-zA-Z0-9()./_-]{3,128}$/,
          'expected a launch template name (3 to 128 of a-z A-Z 0-9 ( ) . / _ -)',
        ),
      version: launchTemplateVersionSchema,
    })
    .strict(),
]);

const ec2ReplaceSchema = z
  .object({
    region: regionSchema,
    launchTemplate: z.unknown().transform((input, ctx) => {
      // One of id or name, with the path of the bad key (a plain union would only say "invalid").
      const keyed = typeof input === 'object' && input !== null && 'id' in input;
      const parsed = launchTemplateSchema.options[keyed ? 0 : 1].safeParse(input, CONFIG_PARSE_OPTIONS);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
      return z.NEVER;
    }),
    /** Terminate the old instance once its replacement is in; by default it is stopped and kept. */
    terminateOld: z.boolean().default(false),
    /**
     * Stop the old instance before the replacement starts (the replacement waits stopped until
     * then): for stores whose node id two running servers cannot share (a Kafka broker id). The
     * replacement starts empty and re-replicates. Implied by moveVolume.
     */
    stopOldFirst: z.boolean().default(false),
    moveVolume: z
      .object({
        device: deviceSchema,
        detachTimeout: durationSchema.default(5 * 60_000),
        attachTimeout: durationSchema.default(5 * 60_000),
      })
      .strict()
      .optional(),
    /** How long a launched or started instance may take to be running. */
    startTimeout: durationSchema.default(10 * 60_000),
    /** How long a stopped instance may take to be stopped. */
    stopTimeout: durationSchema.default(10 * 60_000),
    pollInterval: durationSchema.default(5_000),
  })
  .strict();

/** A hook, or `{ ec2: {...} }`; each with the path of what is wrong in it. */
const replaceSchema = z.unknown().transform((input, ctx): ReplaceConfig => {
  const isEc2 = typeof input === 'object' && input !== null && !Array.isArray(input) && 'ec2' in input;
  const parsed = isEc2
    ? z.object({ ec2: ec2ReplaceSchema }).strict().safeParse(input, CONFIG_PARSE_OPTIONS)
    : hookSchema.safeParse(input, CONFIG_PARSE_OPTIONS);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        ctx.addIssue({ code: 'custom', message: 'unknown key', path: [...issue.path, key] });
    } else {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
    }
  }
  return z.NEVER;
});

const common = {
  nodes: z.array(nodeSchema).min(1, 'list at least one node'),
  /** Optional: move work off the node first (e.g. Kafka leadership). Placeholders {node}, {index}. */
  drain: hookSchema.optional(),
  /**
   * Required: replace the node with a hook (Terraform, Ansible, a script; it must be safe to run
   * again) or `{ ec2: {...} }` (launch from a launch template).
   */
  replace: replaceSchema,
  pauseBetweenNodes: durationOrZeroSchema.default(0),
  approve: z.enum(['once', 'eachNode']).default('once'),
  /** How long a replaced node may take to rejoin and the cluster to be fully replicated again. */
  recoverTimeout: durationSchema.default(30 * 60_000),
  pollInterval: durationSchema.default(5_000),
};

/**
 * How long the replaced node and the cluster must read healthy without a break before the node
 * counts as recovered (and at least three readings). Kafka: a crashed broker reads in sync until the
 * controller fences it, broker.session.timeout.ms later (9 s by default).
 */
const healthyForSchema = (fallbackMs: number) => durationOrZeroSchema.default(fallbackMs);
const KAFKA_SESSION_TIMEOUT_MS = 9_000;

const natsSchema = z
  .object({
    kind: z.literal('nats'),
    servers: z.array(z.string().min(1)).min(1),
    streams: z.array(z.string()).optional(),
    healthyFor: healthyForSchema(0),
    ...common,
  })
  .strict();
const redisSchema = z
  .object({
    kind: z.literal('redis'),
    primary: secretRefSchema,
    expectedReplicas: z.number().int().min(1),
    /** How far (bytes) a replica's offset may be behind the primary's and still count as in sync. */
    maxReplicaLag: sizeSchema.default(1024 * 1024), // a second of heavy writes, far less than a resync
    healthyFor: healthyForSchema(0),
    ...common,
  })
  .strict();
const kafkaSchema = z
  .object({
    kind: z.literal('kafka'),
    brokers: z.array(z.string().min(1)).min(1),
    topics: z.array(z.string()).optional(),
    healthyFor: healthyForSchema(KAFKA_SESSION_TIMEOUT_MS),
    ...common,
  })
  .strict();

export const rollingReplaceConfigSchema = z
  .object({ cluster: z.discriminatedUnion('kind', [natsSchema, redisSchema, kafkaSchema]) })
  .strict()
  .superRefine((value, ctx) => {
    const { nodes, replace } = value.cluster;
    const ids = nodes.map((node) => node.id);
    // Only a NATS server can be asked what it holds; the cluster-wide view can be stale (nats-health.ts).
    nodes.forEach((node, index) => {
      if (value.cluster.kind === 'nats' && node.monitor === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'nodes', index, 'monitor'],
          message:
            "is required for kind nats: the server's HTTP monitoring URL (http_port, usually 8222), where the bot checks that a replaced server holds every stream",
        });
      if (value.cluster.kind !== 'nats' && node.monitor !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'nodes', index, 'monitor'],
          message: 'is for kind nats only',
        });
    });
    const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
    if (duplicate)
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'nodes'],
        message: `node id ${duplicate} is listed twice`,
      });
    if (!isEc2Replace(replace)) return;
    const moves = replace.ec2.moveVolume !== undefined;
    const seen = new Map<string, number>();
    nodes.forEach((node, index) => {
      if (node.instanceId === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'nodes', index, 'instanceId'],
          message: 'is required when replace is ec2 (the instance the replacement takes over from)',
        });
      } else if (seen.has(node.instanceId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'nodes', index, 'instanceId'],
          message: `${node.instanceId} is also the instance of node ${String(seen.get(node.instanceId))}`,
        });
      } else seen.set(node.instanceId, index);
      if (moves && node.volumeId === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'nodes', index, 'volumeId'],
          message:
            'is required when replace.ec2.moveVolume is set (the data volume moved to the replacement)',
        });
      }
    });
  });

export interface Ec2ReplaceConfig {
  ec2: {
    region: string;
    launchTemplate: LaunchTemplateRef;
    terminateOld: boolean;
    stopOldFirst: boolean;
    moveVolume?: { device: string; detachTimeout: number; attachTimeout: number };
    startTimeout: number;
    stopTimeout: number;
    pollInterval: number;
  };
}

export type ReplaceConfig = HookConfig | Ec2ReplaceConfig;

export function isEc2Replace(replace: ReplaceConfig): replace is Ec2ReplaceConfig {
  return 'ec2' in replace;
}

/** EC2 mode in which the old instance is stopped before its replacement starts. */
export function stopsOldFirst(replace: ReplaceConfig): boolean {
  return isEc2Replace(replace) && (replace.ec2.stopOldFirst || replace.ec2.moveVolume !== undefined);
}

export interface NodeSettings {
  id: string;
  instanceId?: string;
  volumeId?: string;
}

interface CommonSettings {
  nodes: NodeSettings[];
  drain?: HookConfig;
  replace: ReplaceConfig;
  pauseBetweenNodes: number;
  approve: 'once' | 'eachNode';
  recoverTimeout: number;
  pollInterval: number;
  healthyFor: number;
}

export type ClusterSettings =
  | ({
      kind: 'nats';
      servers: string[];
      streams?: string[];
      nodes: (NodeSettings & { monitor: string })[];
    } & Omit<CommonSettings, 'nodes'>)
  | ({ kind: 'redis'; primary: SecretRef; expectedReplicas: number; maxReplicaLag: number } & CommonSettings)
  | ({ kind: 'kafka'; brokers: string[]; topics?: string[] } & CommonSettings);

export interface RollingReplaceSettings {
  cluster: ClusterSettings;
}

/**
 * The schema, typed with what its refinements guarantee (a NATS node has its `monitor` URL, the
 * others have none), which zod's inferred output cannot express.
 */
export const rollingReplaceSettingsSchema =
  rollingReplaceConfigSchema as unknown as z.ZodType<RollingReplaceSettings>;
