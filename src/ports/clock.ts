/** Time as a port, so approval timeouts and windows are tested without sleeping. */
export interface Clock {
  now(): Date;
}
