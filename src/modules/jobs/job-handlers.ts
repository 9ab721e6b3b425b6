import type { AccountId, GrantId } from '../../domain/index.js';
import type { JobRecord } from '../../ports/index.js';
import { stageAccount } from '../catalog/stage-account.js';
import type { ModuleContext } from '../context.js';
import { expireAndRevoke } from './expire-grant.js';
import { unleased, type JobLease } from './job-lease.js';
import { revokeGrant } from './revoke-grant.js';
import { rotateGrant } from './rotate-grant.js';
import { runScheduledDrill } from '../drills/drill-schedule.js';
import { certificationDeadlinePassed } from '../grants/certification-deadline.js';

export { LeaseLost, lostLease, unleased, type JobLease } from './job-lease.js';

/** What the scheduler runs for each kind of job. */
export interface JobHandlers {
  readonly expire: (grantId: GrantId, lease: JobLease) => Promise<void>;
  readonly revoke: (grantId: GrantId, lease: JobLease) => Promise<void>;
  readonly rotate: (grantId: GrantId, lease: JobLease) => Promise<void>;
  readonly stage: (accountId: AccountId, lease: JobLease) => Promise<void>;
  /** A scheduled drill of the account (issue 10); schedules the next one. */
  readonly drill: (accountId: AccountId, lease: JobLease) => Promise<void>;
  // issue 11 (H3): the policy's `certifyWithin` passed.
  readonly 'certification-deadline': (grantId: GrantId, lease: JobLease) => Promise<void>;
}

/**
 * The handlers of the case and of staging. Each is idempotent: it reads the current state
 * first and does nothing when the step is already done, so a job repeated after a crash is
 * harmless. A handler that throws is retried with backoff for ever; nothing is recorded as
 * revoked or rotated until the target has confirmed it (invariant I1).
 */
export function jobHandlers(ctx: ModuleContext): JobHandlers {
  return {
    // The revocation starts in the expiry's own step; its revoke job stays as the backstop.
    expire: (grantId) => expireAndRevoke(ctx, grantId, (id) => revokeGrant(ctx, id)),
    revoke: (grantId) => revokeGrant(ctx, grantId),
    rotate: (grantId, lease) => rotateGrant(ctx, grantId, lease),
    stage: async (accountId) => {
      await stageAccount(ctx, accountId);
    },
    drill: (accountId) => runScheduledDrill(ctx, accountId),
    'certification-deadline': (grantId) => certificationDeadlinePassed(ctx, grantId),
  };
}

/** Runs a job with the handler of its kind. */
export function runJob(handlers: JobHandlers, job: JobRecord, lease: JobLease = unleased): Promise<void> {
  if (job.kind === 'stage' || job.kind === 'drill') return handlers[job.kind](job.accountId, lease);
  return handlers[job.kind](job.grantId, lease);
}

/** The grant or account a job works on, for logs. */
export function jobSubject(job: JobRecord): string {
  return job.kind === 'stage' || job.kind === 'drill' ? job.accountId : job.grantId;
}
