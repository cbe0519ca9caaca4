// Bolt rejects requests older than five minutes but accepts any timestamp in the future; a
// captured request replayed with a future timestamp must be refused as well.
import type { IncomingMessage } from 'node:http';

export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** Why the request must be refused before Bolt sees it, or null. */
export function futureTimestampProblem(req: IncomingMessage, nowMs: number): string | null {
  const header = req.headers['x-slack-request-timestamp'];
  if (typeof header !== 'string') return null; // Bolt refuses a missing header itself
  const timestamp = Number(header);
  if (!Number.isFinite(timestamp)) return 'x-slack-request-timestamp is not a number';
  if (timestamp - nowMs / 1000 > MAX_CLOCK_SKEW_SECONDS) {
    return 'x-slack-request-timestamp is more than five minutes in the future';
  }
  return null;
}
