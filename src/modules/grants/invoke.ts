import { authorize, evaluateInvocation, type Actor, type Grant, type InvocationRequest } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from './activate-grant.js';
import { loadTarget, newGrant } from './grant-store.js';
// issue 11 (H2)
import { checkRepeatedUse } from './repeated-use.js';

export interface InvokeInput extends InvocationRequest {
  readonly account: string;
  // issue 11 (H2): an admin's reason to invoke past `requireCertifiedPrevious`.
  readonly overrideReason?: string | undefined;
}

/**
 * Opens a break-glass case. With a post-hoc policy the account is enabled on the target at
 * once, carrying the grant's expiry natively, and the grant is active. The expiry job is
 * written in the same transaction as the grant, before the target is touched, so a crash at
 * any point still leads to revocation (invariant I1).
 */
export async function invoke(ctx: ModuleContext, actor: Actor, input: InvokeInput): Promise<Grant> {
  const now = ctx.clock.now();
  // issue 11 (H2): only an admin may give an override reason, whether or not it is needed.
  if (input.overrideReason !== undefined) authorize(actor, 'grant.override');
  const { grant, account, target } = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(input.account);
    if (!account) throw appError.notFound(`account "${input.account}"`);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw appError.notFound(`policy of account "${account.name}"`);
    authorize(actor, 'grant.invoke', { policy, account: { name: account.name, custodians: account.quorum?.custodians ?? [] } });
    // The incident is matched against the policy's pattern here, before the account lock is
    // taken, and in linear time (domain/linear-pattern.ts): no responder's text can hold a lock
    // that revocations of this account wait for. Keep user-controlled matching above this line.
    const { ttlMs } = evaluateInvocation(policy, input);
    await tx.catalog.lockAccount(account.id);
    // issue 11 (H2): cooldown and requireCertifiedPrevious, under the account lock.
    const repeated = await checkRepeatedUse(tx, policy, account, now, input.overrideReason);
    if (account.mode === 'prestaged') {
      if (account.staging !== 'staged') {
        throw appError.conflict(`account "${account.name}" is not staged on its target yet; check the target and apply again`);
      }
      // One pre-staged secret, one holder: a second grant would share it and lose it at the first revocation.
      const [busy] = await tx.grants.holdingAccount(account.id);
      if (busy) {
        // issue 11 (H2): a live case can be joined instead.
        if (busy.state === 'active' && !account.quorum) throw appError.conflict(`account "${account.name}" is in use by grant ${busy.id} (active); join it with \`breakglass join ${busy.id} --reason …\`, or wait for its end`);
        throw appError.conflict(`account "${account.name}" is in use by grant ${busy.id} (${busy.state}); end it or wait for its rotation`);
      }
    }
    // Dual control: the request waits for k custodians' shares; the TTL starts at the release.
    const quorum = account.quorum;
    const grant = newGrant({
      accountId: account.id,
      requesterId: actor.id,
      requesterName: actor.name,
      condition: input.condition,
      reason: input.reason,
      incident: input.incident,
      state: quorum ? 'awaiting-quorum' : 'requested',
      mode: account.mode,
      createdAt: now,
      expiresAt: new Date(now.getTime() + (quorum ? quorum.windowMs : ttlMs)),
      ttlMs,
      // issue 11 (H2)
      ...(repeated.overrideReason === undefined ? {} : { overrideReason: repeated.overrideReason }),
    });
    await tx.grants.insert(grant);
    await tx.jobs.schedule({ kind: 'expire', grantId: grant.id, dueAt: grant.expiresAt });
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'grant.requested',
      subject: grant.id,
      details: {
        account: account.name,
        condition: grant.condition,
        reason: grant.reason,
        incident: grant.incident,
        ttlMs,
        expiresAt: grant.expiresAt.toISOString(),
        policy: policy.name,
        approval: quorum ? 'custodians' : policy.approval.mode,
        ...(quorum ? { threshold: quorum.threshold, custodians: quorum.custodians, quorumDeadline: grant.expiresAt.toISOString() } : {}),
        // issue 11 (H2): an admin invoked past requireCertifiedPrevious.
        ...(repeated.overridden ? { override: { rule: 'requireCertifiedPrevious', reason: repeated.overrideReason, previousGrant: repeated.overridden.id, previousState: repeated.overridden.state } } : {}),
      },
    });
    return { grant, account, target: await loadTarget(tx, account) };
  });
  ctx.wake();
  if (grant.state === 'awaiting-quorum') return grant;
  return activateGrant(ctx, { grant, account, target });
}
