// The chat.update budget as a port. Slack allows `chat.update` about 50 times a minute per workspace
// (Tier 3), however many messages there are. A budget is a sliding minute, with a share kept for
// changes people must see (a gate, a step ending) over lag-only redraws. The minute is also paced:
// many runs with changes waiting would otherwise spend it in the first seconds and then show nothing
// until it slides, so no shorter window may take more than its share.
//
// The Slack notifier takes places from a ChatUpdateBudget; the Redis adapter shares one across the
// processes of a deployment. Both use the rules here (limitsOf) and the budget of one process alone
// (UpdateBudget: the notifier's default, the Redis adapter's fall-back), which is pure arithmetic.

export const MINUTE_MS = 60_000;

export interface UpdateBudgetOptions {
  /** Updates per sliding minute for the whole workspace. */
  perMinute: number;
  /** Of those, how many lag-only redraws may never use. */
  reservedForChanges: number;
  /** A shorter sliding window that may hold only its share of the minute (rounded up); none if unset. */
  paceWindowMs?: number;
}

/** Where the notifier takes its places: this process alone, or every process of the deployment. */
export interface ChatUpdateBudget {
  /** Takes one update now if the budget allows (0), else says when (wall time, ms) it may go. */
  take(now: number, lagOnly: boolean): Promise<number>;
}

/** The limit for this kind of update, and its share of a pace window (both rounded as documented). */
export function limitsOf(
  options: UpdateBudgetOptions,
  lagOnly: boolean,
): { perMinute: number; pace: { windowMs: number; limit: number } | null } {
  const perMinute = lagOnly ? Math.max(1, options.perMinute - options.reservedForChanges) : options.perMinute;
  const windowMs = options.paceWindowMs;
  const pace =
    windowMs !== undefined && windowMs > 0 && windowMs < MINUTE_MS
      ? { windowMs, limit: Math.max(1, Math.ceil((perMinute * windowMs) / MINUTE_MS)) }
      : null;
  return { perMinute, pace };
}

export const DEFAULT_UPDATE_BUDGET: UpdateBudgetOptions = {
  perMinute: 45,
  reservedForChanges: 15,
  paceWindowMs: 10_000,
};

/** The budget of this process alone. */
export class UpdateBudget implements ChatUpdateBudget {
  private readonly sent: number[] = [];

  constructor(private readonly options: UpdateBudgetOptions = DEFAULT_UPDATE_BUDGET) {}

  /** 0 when an update may go now, else the wall time at which it may. */
  notBefore(now: number, lagOnly: boolean): number {
    while (this.sent.length > 0 && (this.sent[0] ?? 0) <= now - MINUTE_MS) this.sent.shift();
    const { perMinute, pace } = limitsOf(this.options, lagOnly);
    let at = 0;
    // The oldest update that has to leave the window for one more to fit.
    if (this.sent.length >= perMinute) at = (this.sent[this.sent.length - perMinute] ?? now) + MINUTE_MS;
    if (pace !== null) {
      const recent = this.sent.filter((time) => time > now - pace.windowMs);
      if (recent.length >= pace.limit) {
        at = Math.max(at, (recent[recent.length - pace.limit] ?? now) + pace.windowMs);
      }
    }
    return at;
  }

  /**
   * Takes one update now if the budget allows (0), else says when it may go. Checking and taking
   * are one step: many messages asking at the same moment must not all see the same free place.
   */
  takeNow(now: number, lagOnly: boolean): number {
    const at = this.notBefore(now, lagOnly);
    if (at === 0) this.record(now);
    return at;
  }

  take(now: number, lagOnly: boolean): Promise<number> {
    return Promise.resolve(this.takeNow(now, lagOnly));
  }

  record(now: number): void {
    this.sent.push(now);
  }
}
