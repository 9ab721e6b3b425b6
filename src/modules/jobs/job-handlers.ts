import type { AccountId, GrantId } from '../../domain/index.js';
import type { JobRecord } from '../../ports/index.js';
import { stageAccount } from '../catalog/stage-account.js';
import type { ModuleContext } from '../context.js';
import { expireGrant } from './expire-grant.js';
import { unleased, type JobLease } from './job-lease.js';
import { revokeGrant } from './revoke-grant.js';
import { rotateGrant } from './rotate-grant.js';

export { LeaseLost, lostLease, unleased, type JobLease } from './job-lease.js';

/** What the scheduler runs for each kind of job. */
export interface JobHandlers {
  readonly expire: (grantId: GrantId, lease: JobLease) => Promise<void>;
  readonly revoke: (grantId: GrantId, lease: JobLease) => Promise<void>;
  readonly rotate: (grantId: GrantId, lease: JobLease) => Promise<void>;
  readonly stage: (accountId: AccountId, lease: JobLease) => Promise<void>;
}

/**
 * The handlers of the case and of staging. Each is idempotent: it reads the current state
 * first and does nothing when the step is already done, so a job repeated after a crash is
 * harmless. A handler that throws is retried with backoff for ever; nothing is recorded as
 * revoked or rotated until the target has confirmed it (invariant I1).
 */
export function jobHandlers(ctx: ModuleContext): JobHandlers {
  return {
    expire: (grantId) => expireGrant(ctx, grantId),
    revoke: (grantId) => revokeGrant(ctx, grantId),
    rotate: (grantId, lease) => rotateGrant(ctx, grantId, lease),
    stage: async (accountId) => {
      await stageAccount(ctx, accountId);
    },
  };
}

/** Runs a job with the handler of its kind. */
export function runJob(handlers: JobHandlers, job: JobRecord, lease: JobLease = unleased): Promise<void> {
  return job.kind === 'stage' ? handlers.stage(job.accountId, lease) : handlers[job.kind](job.grantId, lease);
}

/** The grant or account a job works on, for logs. */
export function jobSubject(job: JobRecord): string {
  return job.kind === 'stage' ? job.accountId : job.grantId;
}
