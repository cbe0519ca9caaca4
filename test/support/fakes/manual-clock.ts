import type { Clock } from '../../../src/ports/clock';

/** A clock the test moves by hand; timeouts are tested without sleeping. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: string | Date = '2026-11-26T02:00:00.000Z') {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(at: string | Date): void {
    this.current = new Date(at).getTime();
  }
}
