/** Time comes in through this port so expiry logic is tested with a fake clock, not sleeps. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
