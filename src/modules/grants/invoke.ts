import { authorize, evaluateInvocation, type Actor, type Grant, type InvocationRequest } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from './activate-grant.js';
// issue 11 (H1)
import { approvalWait } from '../approvals/approval-wait.js';
import { loadTarget, newGrant } from './grant-store.js';
import { checkIncident, type IncidentCheckOutcome } from './incident-check.js';
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
  // issue 11 (H2): only an admin may give an override reason, whether or not it is needed.
  if (input.overrideReason !== undefined) authorize(actor, 'grant.override');
  // issue 11 (H4): the incident check is network I/O: asked first, outside any transaction and lock.
  const incidentCheck = await preflightIncidentCheck(ctx, actor, input);
  const now = ctx.clock.now();
  const { grant, account, target } = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(input.account);
    if (!account) throw appError.notFound(`account "${input.account}"`);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw appError.notFound(`policy of account "${account.name}"`);
    authorize(actor, 'grant.invoke', { policy, account: { name: account.name, custodians: account.quorum?.custodians ?? [] } });
    // issue 11 (H4): a catalog applied meanwhile may have added or changed the check: never skip it.
    if (JSON.stringify(policy.incidentCheck ?? null) !== incidentCheck.asked) {
      throw appError.conflict(`policy "${policy.name}" changed while its incidentCheck was asked; invoke again`);
    }
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
    // issue 11 (H1): approvers first (awaiting-approval), then the custodians' quorum.
    const wait = approvalWait(policy, now, quorum);
    const grant = newGrant({
      accountId: account.id,
      requesterId: actor.id,
      requesterName: actor.name,
      condition: input.condition,
      reason: input.reason,
      incident: input.incident,
      state: wait?.state ?? (quorum ? 'awaiting-quorum' : 'requested'),
      mode: account.mode,
      createdAt: now,
      expiresAt: wait?.expiresAt ?? new Date(now.getTime() + (quorum ? quorum.windowMs : ttlMs)),
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
        // issue 11 (H4)
        ...(incidentCheck.outcome === undefined ? {} : { incidentCheck: incidentCheck.outcome }),
        // issue 11 (H1)
        ...wait?.details,
        // issue 11 (H2): an admin invoked past requireCertifiedPrevious.
        ...(repeated.overridden ? { override: { rule: 'requireCertifiedPrevious', reason: repeated.overrideReason, previousGrant: repeated.overridden.id, previousState: repeated.overridden.state } } : {}),
      },
    });
    // issue 11 (H4): let through although the incident system could not say: its own event, and a critical alert.
    if (incidentCheck.outcome === 'unreachable-allowed') {
      await ctx.audit.append(tx, {
        actor: actor.name,
        action: 'grant.incident-check-bypassed',
        subject: grant.id,
        details: { account: account.name, incident: grant.incident, policy: policy.name, onUnreachable: 'allow' },
      });
    }
    return { grant, account, target: await loadTarget(tx, account) };
  });
  ctx.wake();
  if (grant.state === 'awaiting-quorum' || /* issue 11 (H1) */ grant.state === 'awaiting-approval') return grant;
  return activateGrant(ctx, { grant, account, target });
}

// issue 11 (H4): invocation criteria
/**
 * Authorizes and evaluates the invocation in a short transaction of its own (so nobody the
 * policy refuses can make the server call the incident system), then asks the incident system
 * with no transaction open. Returns the check as it was asked, for the main transaction to
 * compare, and its outcome (none when the policy has no check).
 */
async function preflightIncidentCheck(ctx: ModuleContext, actor: Actor, input: InvokeInput): Promise<{ asked: string; outcome: IncidentCheckOutcome | undefined }> {
  // issue 13: a read, not a write transaction (no commit on the way to access).
  const policy = await ctx.store.read(async (tx) => {
    const account = await tx.catalog.findAccountByName(input.account);
    if (!account) throw appError.notFound(`account "${input.account}"`);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw appError.notFound(`policy of account "${account.name}"`);
    authorize(actor, 'grant.invoke', { policy, account: { name: account.name, custodians: account.quorum?.custodians ?? [] } });
    evaluateInvocation(policy, input);
    return policy;
  });
  const asked = JSON.stringify(policy.incidentCheck ?? null);
  if (policy.incidentCheck === undefined) return { asked, outcome: undefined };
  return { asked, outcome: await checkIncident(policy.name, policy.incidentCheck, input.incident) };
}
