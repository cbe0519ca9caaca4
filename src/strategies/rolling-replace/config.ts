// The targets-file keys of a rolling-replace target: a replicated cluster replaced node by node.
import { z } from 'zod';
import { hookSchema, type HookConfig } from '../../config/hook-schema';
import { secretRefSchema } from '../../config/secrets';
import type { SecretRef } from '../../config/types';
import { durationOrZeroSchema, durationSchema } from '../../config/units';

const nodeSchema = z.object({ id: z.string().min(1).max(200) }).strict();

const common = {
  nodes: z.array(nodeSchema).min(1, 'list at least one node'),
  /** Optional: move work off the node first (e.g. Kafka leadership). Placeholders {node}, {index}. */
  drain: hookSchema.optional(),
  /** Required: replace the node (Terraform, Ansible, a script). It must be safe to run again. */
  replace: hookSchema,
  pauseBetweenNodes: durationOrZeroSchema.default(0),
  approve: z.enum(['once', 'eachNode']).default('once'),
  /** How long a replaced node may take to rejoin and the cluster to be fully replicated again. */
  recoverTimeout: durationSchema.default(30 * 60_000),
  pollInterval: durationSchema.default(5_000),
};

const natsSchema = z
  .object({
    kind: z.literal('nats'),
    servers: z.array(z.string().min(1)).min(1),
    streams: z.array(z.string()).optional(),
    ...common,
  })
  .strict();
const redisSchema = z
  .object({
    kind: z.literal('redis'),
    primary: secretRefSchema,
    expectedReplicas: z.number().int().min(1),
    ...common,
  })
  .strict();
const kafkaSchema = z
  .object({
    kind: z.literal('kafka'),
    brokers: z.array(z.string().min(1)).min(1),
    topics: z.array(z.string()).optional(),
    ...common,
  })
  .strict();

export const rollingReplaceConfigSchema = z
  .object({ cluster: z.discriminatedUnion('kind', [natsSchema, redisSchema, kafkaSchema]) })
  .strict()
  .superRefine((value, ctx) => {
    const ids = value.cluster.nodes.map((node) => node.id);
    const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
    if (duplicate)
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'nodes'],
        message: `node id ${duplicate} is listed twice`,
      });
  });

interface CommonSettings {
  nodes: { id: string }[];
  drain?: HookConfig;
  replace: HookConfig;
  pauseBetweenNodes: number;
  approve: 'once' | 'eachNode';
  recoverTimeout: number;
  pollInterval: number;
}

export type ClusterSettings =
  | ({ kind: 'nats'; servers: string[]; streams?: string[] } & CommonSettings)
  | ({ kind: 'redis'; primary: SecretRef; expectedReplicas: number } & CommonSettings)
  | ({ kind: 'kafka'; brokers: string[]; topics?: string[] } & CommonSettings);

export interface RollingReplaceSettings {
  cluster: ClusterSettings;
}
