// Slack allows `chat.update` about 50 times a minute per workspace (Tier 3), however many
// messages there are. One budget for every progress message of this process: a sliding minute,
// with a share kept for changes people must see (a gate, a step ending) over lag-only redraws.

export interface UpdateBudgetOptions {
  /** Updates per sliding minute for the whole workspace. */
  perMinute: number;
  /** Of those, how many lag-only redraws may never use. */
  reservedForChanges: number;
}

export const DEFAULT_UPDATE_BUDGET: UpdateBudgetOptions = { perMinute: 45, reservedForChanges: 15 };

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
    if (this.sent.length < limit) return 0;
    // The oldest update that has to leave the window for one more to fit.
    const freeing = this.sent[this.sent.length - limit] ?? now;
    return freeing + MINUTE_MS;
  }

  record(now: number): void {
    this.sent.push(now);
  }
}
