import { asAccountId } from '../../domain/index.js';
import type { JobKind, JobRecord } from '../../ports/index.js';
import { stageAccount } from '../catalog/stage-account.js';
import type { ModuleContext } from '../context.js';
import { expireGrant, revokeGrant, rotateGrant } from './revocation.js';

export type JobHandler = (job: JobRecord) => Promise<void>;

/** What the durable scheduler runs for each kind of job. */
export function jobHandlers(ctx: ModuleContext): Record<JobKind, JobHandler> {
  return {
    expire: (job) => expireGrant(ctx, job),
    revoke: (job) => revokeGrant(ctx, job),
    rotate: (job) => rotateGrant(ctx, job),
    stage: async (job) => {
      const account = await ctx.store.transaction((tx) => tx.catalog.findAccountById(asAccountId(job.subject)));
      if (account?.staging === 'pending') await stageAccount(ctx, account);
    },
  };
}
