// Faults a test injects into one emulated service, per action, in the order they were added:
// answer the next calls with an error (throttling, a 5xx, anything AWS says) without acting; act
// and then drop the connection before answering (a lost response: the caller cannot tell whether
// the request arrived); or act and answer with a body cut short (the SDK cannot parse it).
import type { AwsError } from './aws-error';

/** Only calls whose parameters it accepts (e.g. only DryRun requests). */
export type CallFilter = (params: Readonly<Record<string, unknown>>) => boolean;

export type FaultEffect =
  { kind: 'error'; error: () => AwsError } | { kind: 'lose-response' } | { kind: 'garble-response' };

interface Fault {
  effect: FaultEffect;
  remaining: number;
  when: CallFilter | undefined;
}

export class FaultPlan {
  private readonly faults = new Map<string, Fault[]>();

  add(action: string, effect: FaultEffect, count: number, when?: CallFilter): void {
    const queue = this.faults.get(action) ?? [];
    queue.push({ effect, remaining: count, when });
    this.faults.set(action, queue);
  }

  /** The fault this call meets, if any (and counts it as used). */
  take(action: string, params: Readonly<Record<string, unknown>>): FaultEffect | undefined {
    const fault = this.faults
      .get(action)
      ?.find((candidate) => candidate.remaining > 0 && (candidate.when?.(params) ?? true));
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    return fault.effect;
  }

  clear(): void {
    this.faults.clear();
  }
}
