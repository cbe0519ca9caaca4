// When a replaced node counts as recovered: pure rules over health readings and what the node's
// replace step recorded. The node must be the replacement (not the process or server that was
// there before), hold every replica assigned to it, and the cluster must read fully replicated,
// several readings in a row over at least `healthyFor`.
//
// What tells the replacement from the old node:
//  - a different incarnation from the one recorded before the replace. NATS server_id and Redis
//    run_id are new at every process start: for them nothing else counts;
//  - Kafka tells clients no broker epoch or process id, only host:port, which a new server changes
//    and a replacement in place keeps. So for Kafka also: the old instance is known to be stopped
//    (EC2 modes that stop it before the replacement starts), or the node was seen gone (not a
//    member, or short of replicas) after its replace began and holds everything again ("left and
//    came back"). Not where the old instance may still run (EC2 without stopping it): a blip of
//    the old broker is no replacement.
import type { ClusterHealth, NodeReading } from '../../ports/cluster-health';

/** Readings in a row before the next node is touched (readings flicker under load). */
export const HEALTHY_READINGS_NEEDED = 3;

export function readingOf(health: ClusterHealth, node: string): NodeReading | undefined {
  return health.nodes?.find((reading) => reading.id === node);
}

/**
 * The node is visibly not serving its replicas: absent from the members, not answering, or short of
 * replicas. Null when the reading cannot tell (no node readings and no member list).
 */
export function nodeGone(health: ClusterHealth, node: string): boolean | null {
  if (health.nodes) {
    const reading = readingOf(health, node);
    return !reading || reading.incarnation === null || !reading.holdsAll || !health.members.includes(node);
  }
  if (health.members.length === 0) return null;
  return !health.members.includes(node);
}

export interface ReplacementEvidence {
  /** The incarnation recorded right before the replace began (null: none was read). */
  incarnationBefore: string | null;
  /** The incarnation names a process (new at every start), not a server address (Kafka). */
  incarnationPerProcess: boolean;
  /** When the node was first seen gone after its replace began. */
  leftAtMs: number | undefined;
  /** The old instance is stopped (EC2 stop-old succeeded): whatever answers now is not it. */
  oldStopped: boolean;
  /** EC2 without stopping the old instance: it may still serve the node, so a blip proves nothing. */
  oldMayStillServe: boolean;
  /** A person accepted the node as replaced without any of the above. */
  accepted: boolean;
}

export type RecoveryVerdict =
  { healthy: true; how: string; incarnation: string | null } | { healthy: false; state: string };

/** One reading's verdict on the node (the streak is counted by the caller). */
export function judgeReading(
  health: ClusterHealth,
  node: string,
  evidence: ReplacementEvidence,
): RecoveryVerdict {
  if (!health.nodes) {
    // The adapter cannot ask nodes: membership and full replication are all there is.
    const member = health.members.length === 0 || health.members.includes(node);
    if (!member) return { healthy: false, state: 'not back in the cluster' };
    if (!health.fullyReplicated)
      return { healthy: false, state: 'rejoined; the cluster is not fully replicated' };
    return { healthy: true, how: 'a member again', incarnation: null };
  }
  const reading = readingOf(health, node);
  const incarnation = reading?.incarnation ?? null;
  if (!reading || incarnation === null || !health.members.includes(node))
    return { healthy: false, state: 'not a member of the cluster (not answering)' };
  const how = replacedHow(incarnation, evidence);
  if (how === null)
    return {
      healthy: false,
      state: evidence.incarnationPerProcess
        ? `still the process from before the replace (${incarnation})`
        : evidence.oldMayStillServe
          ? `still the node from before the replace (${incarnation}); the old instance may still serve it`
          : `still the node from before the replace (${incarnation}): not seen leaving since the replace began`,
    };
  if (!reading.holdsAll)
    return {
      healthy: false,
      state: `the replacement, catching up: ${reading.detail.slice(0, 3).join('; ')}`,
    };
  if (!health.fullyReplicated)
    return {
      healthy: false,
      state: 'the replacement holds its replicas; the cluster is not fully replicated',
    };
  return { healthy: true, how, incarnation };
}

function replacedHow(incarnation: string, evidence: ReplacementEvidence): string | null {
  if (evidence.incarnationBefore !== null && incarnation !== evidence.incarnationBefore)
    return `a new incarnation (${incarnation}, was ${evidence.incarnationBefore})`;
  if (evidence.accepted) return 'accepted by a person as replaced';
  // A process incarnation read before the replace that is still the same: the same process.
  if (evidence.incarnationPerProcess && evidence.incarnationBefore !== null) return null;
  if (evidence.oldStopped) return 'the old instance is stopped';
  if (evidence.oldMayStillServe) return null;
  if (evidence.leftAtMs !== undefined) return 'left and came back';
  return null;
}

/** Whether the streak is long enough: enough readings over at least `healthyForMs`. */
export function streakDone(readings: number, sinceMs: number, nowMs: number, healthyForMs: number): boolean {
  return readings >= HEALTHY_READINGS_NEEDED && nowMs - sinceMs >= healthyForMs;
}
