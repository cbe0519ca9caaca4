// The rolling-replace strategy: replace the nodes of a replicated store one at a time, waiting for
// full replication between nodes.
import type { TargetConfig } from '../../config/types';
import type { ClusterHealthPort } from '../../ports/cluster-health';
import type { Ec2Port } from '../../ports/ec2';
import type { HookRunner } from '../../ports/hooks';
import { defineStrategy, type HookUse } from '../define';
import type { PreflightCheck, Strategy } from '../types';
import { isEc2Replace, stopsOldFirst } from './config';
import { copiesAtRisk, describeAtRisk } from './copies';
import { ec2ReplacePreflight } from './ec2-executors';
import { rollingReplaceSettingsSchema, type ClusterSettings, type RollingReplaceSettings } from './config';
import { rollingReplaceExecutors } from './executors';
import { planRollingReplace, ROLLING_REPLACE, settingsOf, type RollingReplaceExecutor } from './plan';

export interface RollingReplaceStrategyDeps {
  /** Builds the health adapter for a cluster of the given kind (Kafka, NATS, Redis). */
  clusterHealth(cluster: ClusterSettings): ClusterHealthPort;
  hooks: HookRunner;
  env: NodeJS.ProcessEnv;
  /** For targets whose `replace` is `{ ec2 }`. */
  ec2?: Ec2Port;
}

export function createRollingReplace(deps: RollingReplaceStrategyDeps): Strategy {
  // One adapter (and its connections) per target, for the life of the process.
  const ports = new Map<string, ClusterHealthPort>();
  const healthFor = (ctx: { target: TargetConfig }): ClusterHealthPort => {
    let port = ports.get(ctx.target.name);
    if (!port) {
      port = deps.clusterHealth(settingsOf(ctx.target).cluster);
      ports.set(ctx.target.name, port);
    }
    return port;
  };
  return defineStrategy<RollingReplaceSettings, RollingReplaceExecutor>({
    name: ROLLING_REPLACE,
    planVersion: 1,
    summary: 'replace cluster nodes one at a time, waiting for full replication between nodes',
    configSchema: rollingReplaceSettingsSchema,
    plan: planRollingReplace,
    executors: rollingReplaceExecutors({ healthFor, hooks: deps.hooks, env: deps.env, ec2: deps.ec2 }),
    async close() {
      const open = [...ports.values()];
      ports.clear();
      await Promise.allSettled(open.map((port) => port.close()));
    },
    // Drawn over time in the progress message, like a standby's lag: how many replicas are behind.
    hooks: hookUses,
    async sampleLag(target) {
      const health = await healthFor({ target }).health();
      return { bytes: null, seconds: null, laggingReplicas: health.laggingReplicas };
    },
    async preflight(target, { cluster }) {
      const checks: PreflightCheck[] = [];
      const port = healthFor({ target });
      try {
        const health = await port.health();
        checks.push({
          name: 'fully replicated',
          ok: health.fullyReplicated,
          detail: health.fullyReplicated
            ? `members: ${health.members.join(', ') || 'unknown'}`
            : `${health.laggingReplicas} lagging: ${health.detail.slice(0, 5).join('; ')}`,
        });
        const atRisk = await copiesAtRisk(
          port,
          cluster.nodes.map((node) => node.id),
        );
        checks.push({
          name: 'copies at risk',
          ok: atRisk.length === 0,
          detail:
            atRisk.length === 0
              ? 'every piece of data keeps a copy and its writes while any one node is out'
              : `${describeAtRisk(atRisk)}. A run stops at its preflight until a person accepts these.`,
        });
      } catch (error) {
        checks.push({ name: 'cluster reachable', ok: false, detail: (error as Error).message });
      }
      // Two running brokers cannot share an id: the replacement would only disturb the old one.
      if (cluster.kind === 'kafka' && isEc2Replace(cluster.replace) && !stopsOldFirst(cluster.replace))
        checks.push({
          name: 'EC2 replacement of a Kafka broker',
          ok: true,
          warning: true,
          detail:
            'the replacement keeps the broker id and cannot register while the old instance runs, so the node never recovers and the run stops at a needs-human gate; set replace.ec2.stopOldFirst (or moveVolume)',
        });
      // EC2 replacement: the launch template and the nodes' instances, read-only (DryRun).
      if (isEc2Replace(cluster.replace)) {
        if (!deps.ec2) checks.push({ name: 'EC2', ok: false, detail: 'no EC2 client in this process' });
        else {
          const ec2Checks = await ec2ReplacePreflight(deps.ec2, cluster.replace.ec2, cluster.nodes).catch(
            (error: unknown) => [{ name: 'EC2', ok: false, detail: (error as Error).message }],
          );
          checks.push(...ec2Checks);
        }
      }
      return checks;
    },
  });
}

/** What each hook's step fills in (see the hook table in docs/hooks.md). */
function hookUses({ cluster }: RollingReplaceSettings): HookUse[] {
  const placeholders = ['node', 'index', 'target'];
  const uses: HookUse[] = [];
  if (cluster.drain) uses.push({ path: ['cluster', 'drain'], command: cluster.drain.command, placeholders });
  if (!isEc2Replace(cluster.replace))
    uses.push({ path: ['cluster', 'replace'], command: cluster.replace.command, placeholders });
  return uses;
}
