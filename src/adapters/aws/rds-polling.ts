// How the RDS waits poll describe: a first delay that doubles up to a longest one. Shared by the
// wait for `available` (rds-replicas.ts) and the wait for a switchover (rds-blue-green.ts).

export interface PollOptions {
  /** First delay between polls (SDK waiter minDelay and the Blue/Green loop). Default 15 s. */
  minDelaySeconds?: number;
  /** Longest delay between polls. Default 60 s. */
  maxDelaySeconds?: number;
}

export interface PollDelays {
  minDelaySeconds: number;
  maxDelaySeconds: number;
}

export function pollDelaysOf(options: PollOptions): PollDelays {
  const minDelaySeconds = options.minDelaySeconds ?? 15;
  return { minDelaySeconds, maxDelaySeconds: Math.max(minDelaySeconds, options.maxDelaySeconds ?? 60) };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The delays of one wait: minDelay first, doubling up to maxDelay. */
export class Backoff {
  private delayMs: number;

  constructor(private readonly delays: PollDelays) {
    this.delayMs = delays.minDelaySeconds * 1000;
  }

  /** Sleeps the current delay (never past `remainingMs`), then doubles the next one. */
  async sleep(remainingMs: number): Promise<void> {
    await sleep(Math.min(this.delayMs, remainingMs));
    this.delayMs = Math.min(this.delayMs * 2, this.delays.maxDelaySeconds * 1000);
  }
}
