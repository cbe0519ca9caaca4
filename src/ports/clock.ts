/** Time as a port, so approval timeouts and windows are tested without sleeping. */
export interface Clock {
  now(): Date;
}

/** The process's wall clock: the default wherever a Clock is not injected. */
export const systemClock: Clock = { now: () => new Date() };
