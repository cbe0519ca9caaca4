// Shared by the rolling-replace EC2 suites: the real runtime of the volume-swap suites (PostgreSQL
// store, BullMQ on Redis, workers) around the real rolling-replace strategy, whose Ec2Port is the
// real AwsEc2Adapter talking to the AWS emulator (as in the volume-swap suites). The cluster is a
// ClusterHealthPort the test drives, derived from what EC2 shows: a node is a current member while
// one of its instances (the original, or a replacement tagged for it) runs and has synced; a
// replacement needs a few health readings after it shows running to sync, and while it syncs the
// cluster is not fully replicated (a lagging copy). Each node's reading names the instance that
// serves it as its incarnation, so that recovery is judged on the replacement, not on the node id
// the old instance also carries. (kafka-rolling.test.ts runs EC2 mode against real brokers.)
import type { Runtime } from '../../../src/main/runtime';
import type { ClusterHealth, ClusterHealthPort, NodeReading } from '../../../src/ports/cluster-health';
import type { Ec2Port } from '../../../src/ports/ec2';
import { ProcessHookRunner } from '../../../src/adapters/hooks/process-hook-runner';
import { createRollingReplace } from '../../../src/strategies/rolling-replace';
import type { Strategy } from '../../../src/strategies/types';
import type { Ec2Emulator, InstanceView } from '../../support/services/aws/emulator';
import { startVsRuntime } from '../volume-swap/vs-runtime';

export const OLD = ['i-0a000000000000001', 'i-0a000000000000002', 'i-0a000000000000003'] as const;
export const VOLS = ['vol-0c000000000000001', 'vol-0c000000000000002', 'vol-0c000000000000003'] as const;
export const NODE_IDS = ['a', 'b', 'c'] as const;
export const TEMPLATE = 'kafka-broker';
export const DEVICE = '/dev/sdf';

/** EC2 with three running nodes and, when asked, their data volumes attached. */
export function standardWorld(ec2: Ec2Emulator, options: { volumes?: boolean } = {}): Ec2Emulator {
  ec2.addLaunchTemplate(TEMPLATE);
  OLD.forEach((id, index) => {
    ec2.addInstance(id);
    if (options.volumes) ec2.addVolume(VOLS[index]!, { attachedTo: { instanceId: id, device: DEVICE } });
  });
  return ec2;
}

/** A cluster whose replication follows what EC2 shows (see the file comment). */
export class ClusterFollowingEc2 implements ClusterHealthPort {
  /** Health readings a replacement needs, once running, before it counts as synced. */
  syncReadings = 2;
  /** When set, replaces the derived reading (e.g. to hold the cluster under-replicated). */
  override: ((derived: ClusterHealth) => ClusterHealth) | null = null;
  /** Every reading, in order, for assertions. */
  readonly readings: ClusterHealth[] = [];
  private readonly runningSeen = new Map<string, number>();

  constructor(
    private readonly ec2: () => Ec2Emulator,
    private readonly nodes: readonly { id: string; instanceId: string }[],
  ) {}

  health(): Promise<ClusterHealth> {
    const ec2 = this.ec2();
    const running = (instance: InstanceView | undefined) => instance?.state === 'running';
    const members: string[] = [];
    const detail: string[] = [];
    const nodes: NodeReading[] = [];
    for (const node of this.nodes) {
      const replacements = ec2.launched.filter((id) => ec2.tagsOf(id)['cutover-bot:node'] === node.id);
      let synced: string | null = null;
      let syncing = false;
      for (const id of replacements) {
        if (!running(ec2.instance(id))) {
          this.runningSeen.delete(id);
          continue;
        }
        const seen = (this.runningSeen.get(id) ?? 0) + 1;
        this.runningSeen.set(id, seen);
        if (seen > this.syncReadings) synced = id;
        else syncing = true;
      }
      const serving = synced ?? (running(ec2.instance(node.instanceId)) ? node.instanceId : null);
      const current = serving !== null;
      if (current) members.push(node.id);
      nodes.push({ id: node.id, incarnation: serving, holdsAll: current, detail: [] });
      // A replica still catching up is a lagging copy: the cluster is not fully replicated.
      if (syncing) detail.push(`${node.id}: replacement syncing`);
      else if (!current) detail.push(`${node.id}: no current copy`);
    }
    const derived: ClusterHealth = {
      fullyReplicated: detail.length === 0,
      laggingReplicas: detail.length,
      members,
      detail,
      nodes,
    };
    const reading = this.override ? this.override(derived) : derived;
    this.readings.push(reading);
    return Promise.resolve(reading);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function rrStrategy(ec2: Ec2Port, cluster: ClusterHealthPort): Strategy {
  return createRollingReplace({
    clusterHealth: () => cluster,
    hooks: new ProcessHookRunner(),
    env: {},
    ec2,
  });
}

export function nodesYaml(count: number, volumes: boolean): string {
  return `[${OLD.slice(0, count)
    .map(
      (id, index) =>
        `{ id: ${NODE_IDS[index]!}, monitor: 'http://127.0.0.1:1', instanceId: ${id}${volumes ? `, volumeId: ${VOLS[index]!}` : ''} }`,
    )
    .join(', ')}]`;
}

/** A target: nats kind (the health port is the test's anyway), EC2 replace with `ec2` extra keys. */
export function targetYaml(name: string, count: number, ec2: string, extra = ''): string {
  const volumes = ec2.includes('moveVolume');
  return `  - name: ${name}
    strategy: rolling-replace
    cluster: { kind: nats, servers: ['nats://127.0.0.1:1'], nodes: ${nodesYaml(count, volumes)},
      replace: { ec2: { region: eu-west-1, launchTemplate: { name: ${TEMPLATE} }, pollInterval: 30ms, startTimeout: 20s, stopTimeout: 20s${ec2 ? `, ${ec2}` : ''} } },
      pollInterval: 30ms, recoverTimeout: 20s${extra ? `, ${extra}` : ''} }
`;
}

/** The runtime of the volume-swap suites, with this file's targets (`targets` from targetYaml). */
export function startRrRuntime(options: {
  schema: string;
  queueName: string;
  strategy: Strategy;
  targets: string;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}): Promise<Runtime> {
  const { targets, ...rest } = options;
  return startVsRuntime({
    ...rest,
    yaml: `defaults: { channel: C0TEST0001, approvers: [U0APPROVER] }\ntargets:\n${targets}`,
  });
}

/** The EC2 actions EC2 was sent, without DryRuns (the preflight's permission checks). */
export function actions(ec2: Ec2Emulator): string[] {
  return ec2.history().filter((line) => !line.includes('dryRun'));
}
