import type { JobRecord, StoreTx } from '../../ports/index.js';

/**
 * The claim a job runs under. A handler about to change a target in a way only one worker may
 * (rotating a secret) calls `assertHeld` first, and records the outcome in a transaction that
 * calls `checkIn`: a worker whose lease passed to another stops there and changes nothing.
 */
export interface JobLease {
  readonly fence: number;
  /** Renews the lease; throws LeaseLost when another claim replaced it. */
  assertHeld(): Promise<void>;
  /** The same inside the caller's transaction, so the write commits only under a current claim. */
  checkIn(tx: StoreTx): Promise<void>;
}

/** A job that another worker owns now. Not an AppError: nothing may mistake it for a conflict to resolve. */
export class LeaseLost extends Error {
  constructor(readonly job: string) {
    super(`the lease on job ${job} passed to another worker`);
    this.name = 'LeaseLost';
  }
}

export const lostLease = (job: JobRecord): LeaseLost => new LeaseLost(job.id);

/** For use cases run outside the scheduler (tests, direct calls): nobody else can hold the job. */
export const unleased: JobLease = { fence: 0, assertHeld: () => Promise.resolve(), checkIn: () => Promise.resolve() };
