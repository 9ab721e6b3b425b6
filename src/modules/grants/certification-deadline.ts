import type { GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from './grant-store.js';

/**
 * Issue 11 (H3): the `certification-deadline` job (scheduled by `certification-deadline-job.ts`).
 * Idempotent: a case certified (or already marked) in the meantime is left alone.
 */
export async function certificationDeadlinePassed(ctx: ModuleContext, grantId: GrantId): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, grantId);
    if (grant.state !== 'awaiting-certification' || grant.certificationOverdueAt !== undefined) return;
    const account = await tx.catalog.findAccountById(grant.accountId);
    const policy = account === undefined ? undefined : await tx.catalog.findPolicyById(account.policyId);
    await applyEvent(ctx, tx, grant, { type: 'certification-deadline-passed' }, 'system', {
      ...(policy?.certifyWithinMs === undefined ? {} : { certifyWithinMs: policy.certifyWithinMs, policy: policy.name }),
    });
  });
}
