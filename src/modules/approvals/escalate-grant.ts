import { authorize, type Actor, type Grant, type GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { applyDecision, goOn, loadApprovalCase } from './decide-grant.js';

/**
 * The requester goes past approvers who did not answer within the policy's `escalate.after`,
 * with a second justification (`reason2`). The grant goes on as if approved (to the custodians
 * when the account has a quorum: cryptographic dual control is never escalated past), is marked
 * `escalated`, and raises `grant.escalated` (alert, critical); only an admin certifies it.
 * @example await escalateGrant(ctx, alice, grant.id, 'primary DB down, approvers unreachable')
 */
export async function escalateGrant(ctx: ModuleContext, actor: Actor, id: GrantId, reason2: string): Promise<Grant> {
  const { c, next } = await ctx.store.transaction(async (tx) => {
    const c = await loadApprovalCase(tx, id);
    authorize(actor, 'grant.escalate', { grant: c.grant });
    const afterMs = c.policy.escalateAfterMs;
    if (c.grant.state !== 'awaiting-approval') {
      throw new AppError('invalid_transition', `grant ${id} is ${c.grant.state}; only a grant awaiting approval can be escalated`);
    }
    if (afterMs === undefined) {
      throw new AppError('policy_violation', `policy "${c.policy.name}" has no escalate: this grant needs its approvers (or cancel it)`);
    }
    const approved = (c.grant.approvals ?? []).filter((a) => a.decision === 'approved').length;
    const event = { type: 'escalate', reason2, afterMs, quorumWindowMs: c.account.quorum?.windowMs } as const;
    return { c, next: await applyDecision(ctx, tx, c, event, actor, { reason2, approved, threshold: c.policy.approvers?.threshold ?? 0, escalateAfterMs: afterMs }) };
  });
  return goOn(ctx, c, next);
}
