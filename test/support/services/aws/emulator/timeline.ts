// Emulated time: what a service does "later" (a volume done detaching, a replica done rebooting) is
// scheduled on its clock and applied, in time order, when the service next looks (every request and
// every inspection settles first). With a ManualClock nothing changes until the test advances it;
// with the system clock, after real (small) delays.
import type { Clock } from '../../../../../src/ports/clock';

export const systemClock: Clock = { now: () => new Date() };

export interface Scheduled {
  readonly at: number;
  cancel(): void;
}

interface Entry {
  at: number;
  sequence: number;
  run: (at: number) => void;
  cancelled: boolean;
}

export class Timeline {
  private entries: Entry[] = [];
  private sequence = 0;

  constructor(private current: Clock = systemClock) {}

  get clock(): Clock {
    return this.current;
  }

  /** Another clock from now on; whatever was scheduled on the old one is dropped. */
  useClock(clock: Clock): void {
    this.current = clock;
    this.clear();
  }

  now(): number {
    return this.clock.now().getTime();
  }

  /**
   * Runs `run` once `delayMs` have passed on the clock (at the first settle after that), with the
   * time it was due.
   */
  after(delayMs: number, run: (at: number) => void): Scheduled {
    const entry: Entry = {
      at: this.now() + Math.max(0, delayMs),
      sequence: this.sequence++,
      run,
      cancelled: false,
    };
    this.entries.push(entry);
    return {
      at: entry.at,
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Applies everything due, earliest first; what a run schedules is considered too. */
  settle(): void {
    const now = this.now();
    for (;;) {
      const due = this.entries
        .filter((entry) => !entry.cancelled && entry.at <= now)
        .sort((a, b) => a.at - b.at || a.sequence - b.sequence)[0];
      if (due === undefined) break;
      due.cancelled = true;
      due.run(due.at);
    }
    this.entries = this.entries.filter((entry) => !entry.cancelled);
  }

  clear(): void {
    this.entries = [];
  }
}
