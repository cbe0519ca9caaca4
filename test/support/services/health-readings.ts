// Waiting for a cluster's health reading to pass a check, as the Kafka and NATS health tests do;
// a timeout says what the last reading was, which is what one wants to know about a failure.
import type { ClusterHealth, ClusterHealthPort } from '../../../src/ports/cluster-health';
import { waitFor } from '../wait-for';

export type Reading = (
  check: (h: ClusterHealth) => boolean,
  what: string,
  timeoutMs?: number,
) => Promise<ClusterHealth>;

/** Reads `health()` (whatever it is by then: tests assign it late) every 250 ms until `check` passes. */
export function readingsOf(health: () => ClusterHealthPort): Reading {
  return (check, what, timeoutMs = 30_000) => {
    let last: ClusterHealth | undefined;
    return waitFor(
      what,
      async () => {
        last = await health().health();
        return check(last) ? last : false;
      },
      { timeoutMs, intervalMs: 250 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last reading: ${JSON.stringify(last)}`);
    });
  };
}
