import { newId } from '../../crypto/index.js';
import { asGrantId, evaluateInvocation, type Actor, type Grant, type GrantState, type InvocationRequest } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { AccountRecord, TargetRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';
import { ephemeralOps, loadAccountTarget, prestagedOps, withConnector } from '../targets.js';
import { applyEvent, loadGrant } from './grant-store.js';

export interface InvokeInput extends InvocationRequest {
  readonly account: string;
}

/** States in which an account's pre-staged secret is still in play: no second grant then. */
const busyStates: readonly GrantState[] = ['awaiting-quorum', 'requested', 'active', 'revoking', 'revoked', 'rotating'];

/**
 * Opens a break-glass case. With a post-hoc policy the account is enabled on the target at
 * once, carrying the grant's expiry natively, and the grant is active. The expiry job is
 * written in the same transaction as the grant, before the target is touched, so a crash at
 * any point still leads to revocation (invariant I1).
 */
export async function invoke(ctx: ModuleContext, actor: Actor, input: InvokeInput): Promise<Grant> {
  const now = ctx.clock.now();
  const { grant, account, target } = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(input.account);
    if (!account) throw appError.notFound(`account "${input.account}"`);
    await tx.catalog.lockAccount(account.id);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw appError.notFound(`policy of account "${account.name}"`);
    const { ttlMs } = evaluateInvocation(policy, actor, input);
    if (account.mode === 'prestaged') {
      if (account.staging !== 'staged') {
        throw appError.conflict(`account "${account.name}" is not staged on its target yet; check the target and apply again`);
      }
      // One pre-staged secret, one holder: a second grant would share it and lose it at the first revocation.
      const [busy] = (await tx.grants.list({ accountId: account.id, states: [...busyStates, 'failed'], limit: 50 })).filter(
        // A failed activation may have half-enabled the account: busy until its cleanup is verified.
        (g) => g.state !== 'failed' || g.revokedAt === undefined,
      );
      if (busy) {
        throw appError.conflict(`account "${account.name}" is in use by grant ${busy.id} (${busy.state}); end it or wait for its rotation`);
      }
    }
    // Dual control: the request waits for k custodians' shares; the TTL starts at the release.
    const quorum = account.quorum;
    const grant: Grant = {
      id: asGrantId(newId('gr_')),
      accountId: account.id,
      requesterId: actor.id,
      requesterName: actor.name,
      condition: input.condition,
      reason: input.reason,
      incident: input.incident,
      state: quorum ? 'awaiting-quorum' : 'requested',
      mode: account.mode,
      createdAt: now,
      activatedAt: undefined,
      expiresAt: new Date(now.getTime() + (quorum ? quorum.windowMs : ttlMs)),
      ttlMs,
      endedAt: undefined,
      endReason: undefined,
      revokedAt: undefined,
      rotatedAt: undefined,
      revealedAt: undefined,
      closedAt: undefined,
      certification: undefined,
      failure: undefined,
    };
    await tx.grants.insert(grant);
    await tx.jobs.schedule({ kind: 'expire', subject: grant.id, dueAt: grant.expiresAt });
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
      },
    });
    return { grant, account, target: await loadAccountTarget(tx, account) };
  });
  ctx.wake();
  if (grant.state === 'awaiting-quorum') return grant;
  return activateGrant(ctx, grant, account, target);
}

/**
 * Makes a requested grant usable on its target: enables the pre-staged account (with the
 * grant's expiry carried natively) or issues the ephemeral credential, then marks it active.
 * A failure leaves the grant `failed` with a cleanup job; a late success after expiry is undone.
 */
export async function activateGrant(ctx: ModuleContext, grant: Grant, account: AccountRecord, target: TargetRecord): Promise<Grant> {
  let sealedCredential: string | undefined;
  try {
    sealedCredential = await withConnector(ctx, target, async (connector) => {
      if (account.mode === 'prestaged') {
        await prestagedOps(connector, target).enable(account.principal, grant.expiresAt);
        return undefined;
      }
      const credential = await ephemeralOps(connector, target).issue({ grantId: grant.id, spec: account.spec, validUntil: grant.expiresAt });
      return ctx.vault.seal(JSON.stringify(credential), aad.grantCredential(grant.id));
    });
  } catch (error) {
    const reason = error instanceof AppError ? error.message : 'unexpected error enabling the account';
    await ctx.store.transaction(async (tx) => {
      const failed = await applyEvent(ctx, tx, grant, { type: 'activation-failed', reason }, 'system');
      // The enable may have half-happened: disable again to be sure, and retry until verified.
      await tx.jobs.schedule({ kind: 'revoke', subject: failed.id, dueAt: ctx.clock.now() });
    });
    ctx.wake();
    throw new AppError('target_unavailable', `could not enable "${account.name}" on "${target.name}": ${reason}`, { cause: error });
  }
  const activated = await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, grant.id);
    if (current.state !== 'requested') {
      // Expiry cleanup ran while the target was slow to enable: undo the late enable too.
      await tx.jobs.schedule({ kind: 'revoke', subject: grant.id, dueAt: ctx.clock.now() });
      return undefined;
    }
    if (sealedCredential !== undefined) await tx.grants.setCredential(grant.id, sealedCredential);
    return applyEvent(ctx, tx, current, { type: 'activate' }, 'system', { target: target.name, validUntil: grant.expiresAt.toISOString() });
  });
  ctx.wake();
  if (!activated) throw new AppError('invalid_transition', `grant ${grant.id} expired before "${account.name}" was enabled; it is being revoked`);
  return activated;
}
