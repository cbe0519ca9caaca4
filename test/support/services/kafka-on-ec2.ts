// Kafka brokers that follow the AWS emulator's EC2 instances, for rolling-replace runs in EC2 mode
// against a real cluster: an instance's server runs a broker JVM exactly while EC2 shows the
// instance running, and a data volume is a log directory that a server uses while the volume is
// attached to it.
//
//  - The original instances are the brokers' current servers, each with its data volume if given.
//  - A replacement (an instance tagged cutover-bot:node=<broker id>) is a new server for that broker
//    id: a new port, and as its disk the attached data volume, else an empty folder of its own.
//  - A stop (or terminate) is the OS shutting down: the broker's controlled shutdown (SIGTERM).
//    EC2 shows the instance stopped (terminated) only once its JVM has exited, so the emulator's
//    own stop and terminate durations must be long (see EC2_DURATIONS).
//
// Nothing here knows about the bot: it polls the emulator every 50 ms and reconciles.
import { join } from 'node:path';
import type { Ec2Durations, Ec2Emulator } from './aws/emulator';
import type { KafkaCluster } from './kafka-cluster';
import {
  freePort,
  runningPid,
  serverSpec,
  startNode,
  stopNode,
  writeNodeSpec,
  type KafkaNodeSpec,
} from './kafka-node-process';

/** Fast launches and attaches; stops and terminations finish when the JVM has (see above). */
export const EC2_DURATIONS: Partial<Ec2Durations> = {
  launchMs: 50,
  startMs: 50,
  attachMs: 50,
  detachMs: 50,
  stopMs: 3_600_000,
  terminateMs: 3_600_000,
};

export interface Ec2Broker {
  /** The broker id. */
  node: string;
  /** Its current instance. */
  instanceId: string;
  /** Its data volume, the broker's current log directory. */
  volumeId?: string;
}

interface Server {
  node: string;
  spec: KafkaNodeSpec;
  /** The disk it has when no data volume is attached. */
  rootDisk: string;
  starting: boolean;
  stopping: boolean;
}

const GONE = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

export class KafkaOnEc2 {
  /** What happened, in order: "start i-... broker 1 on volume vol-...", "stop i-...". */
  readonly events: string[] = [];
  private readonly servers = new Map<string, Server>();
  private readonly volumes = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly ec2: Ec2Emulator,
    private readonly cluster: KafkaCluster,
    brokers: Ec2Broker[],
  ) {
    for (const broker of brokers) {
      const spec = cluster.broker(broker.node);
      // With a data volume, the log directory is the volume's; the instance's own disk is empty.
      const rootDisk = broker.volumeId ? join(cluster.dir, broker.instanceId, 'root-disk') : spec.logDir;
      this.servers.set(broker.instanceId, {
        node: broker.node,
        spec,
        rootDisk,
        starting: false,
        stopping: false,
      });
      if (broker.volumeId) this.volumes.set(broker.volumeId, spec.logDir);
    }
  }

  start(): this {
    this.timer = setInterval(() => void this.tick(), 50);
    return this;
  }

  /** The pid of the broker JVM of `instanceId`'s server, or null. */
  pidOf(instanceId: string): number | null {
    const server = this.servers.get(instanceId);
    return server ? runningPid(server.spec) : null;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.ticking || this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.discoverReplacements();
      for (const [instanceId, server] of this.servers) this.reconcile(instanceId, server);
    } finally {
      this.ticking = false;
    }
  }

  private async discoverReplacements(): Promise<void> {
    for (const instanceId of this.ec2.launched) {
      if (this.servers.has(instanceId)) continue;
      const node = this.ec2.tagsOf(instanceId)['cutover-bot:node'];
      if (node === undefined) continue;
      const root = join(this.cluster.dir, instanceId, 'root-disk');
      const spec = serverSpec(this.cluster.broker(node), instanceId, await freePort(), root);
      this.servers.set(instanceId, { node, spec, rootDisk: root, starting: false, stopping: false });
    }
  }

  private reconcile(instanceId: string, server: Server): void {
    const state = this.ec2.instance(instanceId)?.state;
    const running = runningPid(server.spec) !== null;
    if (state === 'running' && !running && !server.starting) {
      server.starting = true;
      const volume = this.attachedVolume(instanceId);
      server.spec = { ...server.spec, logDir: volume ? this.volumes.get(volume)! : server.rootDisk };
      writeNodeSpec(server.spec);
      this.events.push(`start ${instanceId} broker ${server.node} on ${volume ?? 'its own disk'}`);
      this.track(
        // A broker that cannot register (its id taken) never opens its listener: startNode gives up
        // after a minute, the JVM runs on until EC2 stops the instance.
        startNode(server.spec)
          .catch(() => undefined)
          .finally(() => (server.starting = false)),
      );
    } else if (state !== undefined && GONE.has(state) && running && !server.stopping) {
      server.stopping = true;
      this.events.push(`stop ${instanceId} broker ${server.node}`);
      this.track(stopNode(server.spec, 'SIGTERM').finally(() => (server.stopping = false)));
    } else if (
      !running &&
      !server.stopping &&
      // A server still starting (formatting its disk, before the JVM's pid file exists) is not down
      // yet: its JVM would come up after EC2 called the instance stopped.
      !server.starting &&
      (state === 'stopping' || state === 'shutting-down')
    ) {
      this.ec2.setInstanceState(instanceId, state === 'stopping' ? 'stopped' : 'terminated');
    }
  }

  private attachedVolume(instanceId: string): string | undefined {
    return [...this.volumes.keys()].find((volumeId) =>
      this.ec2
        .volume(volumeId)
        ?.attachments.some((a) => a.instanceId === instanceId && a.state === 'attached'),
    );
  }

  private track(work: Promise<unknown>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}
