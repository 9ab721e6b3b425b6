import { authorize, tokenUsed, type Actor, type ApprovalEvent, type Grant, type GrantId, type Policy } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from '../grants/activate-grant.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';

/** What `authorize` needs to know of a policy's approvers. */
export function approvalSubject(policy: Policy): { policy: string; approvers: readonly string[] } {
  return { policy: policy.name, approvers: policy.approvers?.approvers ?? [] };
}

/** A case with its policy, loaded once. */
export async function loadApprovalCase(tx: StoreTx, id: GrantId): Promise<Case & { policy: Policy }> {
  const found = await loadCase(tx, id);
  const policy = await tx.catalog.findPolicyById(found.account.policyId);
  if (!policy) throw appError.notFound(`policy of account "${found.account.name}"`);
  return { ...found, policy };
}

/**
 * Applies an approval event under the account lock (decisions on one case are serialized: the
 * grant's compare-and-set is on its state, and two approvals must not both read the same list),
 * and schedules the expiry of whatever window the case goes on to (quorum, or the grant's TTL).
 */
export async function applyDecision(ctx: ModuleContext, tx: StoreTx, c: Case, event: ApprovalEvent, actor: Actor, details: Record<string, unknown>): Promise<Grant> {
  await tx.catalog.lockAccount(c.account.id);
  const current = await loadGrant(tx, c.grant.id);
  const next = await applyEvent(ctx, tx, current, event, actor, { ...details, ...tokenUsed(actor) });
  if (next.state === 'requested' || next.state === 'awaiting-quorum') await tx.jobs.schedule({ kind: 'expire', grantId: next.id, dueAt: next.expiresAt });
  return next;
}

/** After the transaction: a released case is enabled on its target like a post-hoc grant. */
export async function goOn(ctx: ModuleContext, c: Case, next: Grant): Promise<Grant> {
  ctx.wake();
  return next.state === 'requested' ? activateGrant(ctx, { ...c, grant: next }) : next;
}

function approverRule(c: Case & { policy: Policy }) {
  const rule = c.policy.approvers;
  if (c.policy.approval.mode !== 'approvers' || rule === undefined) {
    throw new AppError('invalid_transition', `grant ${c.grant.id} does not wait for approvers (policy "${c.policy.name}")`);
  }
  return rule;
}

/**
 * An approver the policy names approves a grant awaiting approval, with a note. At the k-th
 * distinct approval the case goes on: to the custodians when the account has a quorum, else it
 * is activated. Never the requester; one slot per person (the lifecycle holds both).
 * @example await approveGrant(ctx, carol, grant.id, 'checked with the on-call lead')
 */
export async function approveGrant(ctx: ModuleContext, actor: Actor, id: GrantId, note: string): Promise<Grant> {
  const { c, next } = await ctx.store.transaction(async (tx) => {
    const c = await loadApprovalCase(tx, id);
    authorize(actor, 'grant.approve', { grant: c.grant, approval: approvalSubject(c.policy) });
    const rule = approverRule(c);
    const event: ApprovalEvent = { type: 'approve', actor, note, threshold: rule.threshold, quorumWindowMs: c.account.quorum?.windowMs };
    const approved = (c.grant.approvals ?? []).filter((a) => a.decision === 'approved').length + 1;
    return { c, next: await applyDecision(ctx, tx, c, event, actor, { note, approved, threshold: rule.threshold }) };
  });
  return goOn(ctx, c, next);
}

/**
 * An approver the policy names denies a grant awaiting approval, with a note: one deny ends it
 * (`denied`); nothing was enabled.
 * @example await denyGrant(ctx, carol, grant.id, 'not an outage; use the normal path')
 */
export async function denyGrant(ctx: ModuleContext, actor: Actor, id: GrantId, note: string): Promise<Grant> {
  const next = await ctx.store.transaction(async (tx) => {
    const c = await loadApprovalCase(tx, id);
    authorize(actor, 'grant.deny', { grant: c.grant, approval: approvalSubject(c.policy) });
    approverRule(c);
    return applyDecision(ctx, tx, c, { type: 'approval-denied', actor, note }, actor, { note });
  });
  ctx.wake();
  return next;
}
