import { authorize, type Actor, type Grant, type Policy } from '../../domain/index.js';
import { isAppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { approvalSubject } from './decide-grant.js';

/**
 * The requests waiting for this approver: every grant in `awaiting-approval` (filtered in SQL:
 * they are few, each bounded by its policy's timeout) that the permission table's
 * `grant.approve` lets them decide — named by the policy, not the requester — and that they
 * have not decided yet. Someone who may approve nothing gets an empty list, never an error: an
 * approver finds out what waits for them here instead of from an alert's grant id.
 * @example const waiting = await pendingApprovals(ctx, carol);
 */
export async function pendingApprovals(ctx: ModuleContext, actor: Actor): Promise<Grant[]> {
  return ctx.store.transaction(async (tx) => {
    const waiting = await tx.grants.list({ states: ['awaiting-approval'], drill: false });
    const policies = new Map<string, Policy | undefined>();
    const policyOf = async (grant: Grant) => {
      const account = await tx.catalog.findAccountById(grant.accountId);
      if (!account) return undefined;
      if (!policies.has(account.policyId)) policies.set(account.policyId, await tx.catalog.findPolicyById(account.policyId));
      return policies.get(account.policyId);
    };
    const mine: Grant[] = [];
    for (const grant of waiting) {
      const policy = await policyOf(grant);
      // Never one's own request (nor through a token the requester minted), never twice.
      const own = grant.requesterId === actor.id || actor.tokenCreatorId === grant.requesterId;
      if (!policy || own || (grant.approvals ?? []).some((a) => a.by === actor.id)) continue;
      try {
        authorize(actor, 'grant.approve', { grant, approval: approvalSubject(policy) });
      } catch (error) {
        if (isAppError(error)) continue;
        throw error;
      }
      mine.push(grant);
    }
    // Oldest first: the one waiting longest is the one to answer first.
    return mine.reverse();
  });
}
