// Copies at risk: data whose only copy, or whose last copy above what writes need, is on a node to
// be replaced. The run does not touch such a node unless a person accepted it at a needs-human gate
// (once for the whole run at the preflight, or at the node's own step for what appeared since).
import { needsHuman, retryable } from '../../engine/failures';
import type { ClusterHealthPort, CopyAtRisk } from '../../ports/cluster-health';
import type { StepContext } from '../types';
import { acceptedAtRisk } from './progress';

export const COPIES_DECISION = 'copies_at_risk';
/** Copies named in a gate message; the rest are counted. */
const NAMED = 10;

export async function copiesAtRisk(port: ClusterHealthPort, nodes: string[]): Promise<CopyAtRisk[]> {
  if (!port.copiesAtRisk) return [];
  try {
    return await port.copiesAtRisk(nodes);
  } catch (error) {
    throw retryable(`the cluster's replica placement could not be read: ${(error as Error).message}`);
  }
}

export function describeAtRisk(atRisk: CopyAtRisk[]): string {
  const more = atRisk.length > NAMED ? `; and ${atRisk.length - NAMED} more` : '';
  return `${atRisk
    .slice(0, NAMED)
    .map((copy) => copy.detail)
    .join('; ')}${more}`;
}

/**
 * Refuses (needs-human, decision `copies_at_risk`) while copies of `nodes` are at risk that nobody
 * accepted in this run; approving the gate accepts exactly the copies it named. Returns the names
 * accepted by that approval (to be recorded in the step's output), or [] when there was nothing new.
 */
export async function guardCopies(
  ctx: StepContext,
  port: ClusterHealthPort,
  nodes: string[],
  untouched: string,
): Promise<string[]> {
  const accepted = acceptedAtRisk(ctx);
  const open = (await copiesAtRisk(port, nodes)).filter((copy) => !accepted.has(copy.name));
  if (open.length === 0) return [];
  const named = ctx.step.error?.detail?.['copies'];
  const approvedNow =
    ctx.humanOverride &&
    ctx.step.error?.detail?.['decision'] === COPIES_DECISION &&
    Array.isArray(named) &&
    open.every((copy) => named.includes(copy.name));
  if (approvedNow) return [...new Set(open.map((copy) => copy.name))];
  const lost = open.filter((copy) => copy.risk === 'only_copy').length;
  throw needsHuman(
    `${open.length} ${open.length === 1 ? 'copy cannot' : 'copies cannot'} spare a node to be replaced: ${describeAtRisk(open)}. ` +
      `${lost > 0 ? 'A replacement on an empty disk loses an only copy; ' : ''}` +
      `${untouched} Add replicas and retry, or approve (typing the target's name) to go on with these at risk, or abort.`,
    { detail: { decision: COPIES_DECISION, copies: [...new Set(open.map((copy) => copy.name))] } },
  );
}
