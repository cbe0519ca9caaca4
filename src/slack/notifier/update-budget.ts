// Slack allows `chat.update` about 50 times a minute per workspace (Tier 3), however many
// messages there are. One budget for every progress message of this process: a sliding minute,
// with a share kept for changes people must see (a gate, a step ending) over lag-only redraws.
// The minute is also paced: many runs with changes waiting would otherwise spend it in the first
// seconds and then show nothing until it slides, so no shorter window may take more than its share.

export interface UpdateBudgetOptions {
  /** Updates per sliding minute for the whole workspace. */
  perMinute: number;
  /** Of those, how many lag-only redraws may never use. */
  reservedForChanges: number;
  /** A shorter sliding window that may hold only its share of the minute (rounded up); none if unset. */
  paceWindowMs?: number;
}

export const DEFAULT_UPDATE_BUDGET: UpdateBudgetOptions = {
  perMinute: 45,
  reservedForChanges: 15,
  paceWindowMs: 10_000,
};

const MINUTE_MS = 60_000;

export class UpdateBudget {
  private readonly sent: number[] = [];

  constructor(private readonly options: UpdateBudgetOptions = DEFAULT_UPDATE_BUDGET) {}

  /** 0 when an update may go now, else the wall time at which it may. */
  notBefore(now: number, lagOnly: boolean): number {
    while (this.sent.length > 0 && (this.sent[0] ?? 0) <= now - MINUTE_MS) this.sent.shift();
    const limit = lagOnly
      ? Math.max(1, this.options.perMinute - this.options.reservedForChanges)
      : this.options.perMinute;
    let at = 0;
    // The oldest update that has to leave the window for one more to fit.
    if (this.sent.length >= limit) at = (this.sent[this.sent.length - limit] ?? now) + MINUTE_MS;
    const pace = this.options.paceWindowMs;
    if (pace !== undefined && pace > 0 && pace < MINUTE_MS) {
      const paceLimit = Math.max(1, Math.ceil((limit * pace) / MINUTE_MS));
      const recent = this.sent.filter((time) => time > now - pace);
      if (recent.length >= paceLimit) {
        at = Math.max(at, (recent[recent.length - paceLimit] ?? now) + pace);
      }
    }
    return at;
  }

  /**
   * Takes one update now if the budget allows (0), else says when it may go. Checking and taking
   * are one step: many messages asking at the same moment must not all see the same free place.
   */
  take(now: number, lagOnly: boolean): number {
    const at = this.notBefore(now, lagOnly);
    if (at === 0) this.record(now);
    return at;
  }

  record(now: number): void {
    this.sent.push(now);
  }
}
