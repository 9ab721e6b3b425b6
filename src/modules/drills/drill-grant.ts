import type { Actor } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from '../grants/activate-grant.js';
import { loadTarget, newGrant, type Case } from '../grants/grant-store.js';

/**
 * Opens the grant of a drill: the account enabled (pre-staged) or a credential issued (ephemeral)
 * for the policy's default TTL, the grant marked `drill` (never an incident). Like invoke, the expiry job is written with the
 * grant, before the target is touched (I1), and one grant at a time holds the account.
 * Dual-control accounts are refused: their secret is known only to their custodians.
 */
export async function openDrillGrant(ctx: ModuleContext, actor: Actor, accountName: string, scheduled: boolean): Promise<Case> {
  const now = ctx.clock.now();
  const opened = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(accountName);
    if (!account) throw appError.notFound(`account "${accountName}"`);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw appError.notFound(`policy of account "${account.name}"`);
    await tx.catalog.lockAccount(account.id);
    if (account.mode === 'prestaged') {
      if (account.staging !== 'staged') throw appError.conflict(`account "${account.name}" is not staged on its target yet; check the target and apply again`);
      const [busy] = await tx.grants.holdingAccount(account.id);
      if (busy) throw appError.conflict(`account "${account.name}" is in use by grant ${busy.id} (${busy.state}); drill it when that case is over`);
    }
    const ttlMs = policy.defaultTtlMs;
    const grant = newGrant({
      accountId: account.id,
      requesterId: actor.id,
      requesterName: actor.name,
      condition: 'drill',
      reason: scheduled ? 'scheduled drill' : 'drill',
      incident: 'drill',
      state: 'requested',
      mode: account.mode,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
      ttlMs,
      drill: true,
    });
    await tx.grants.insert(grant);
    await tx.jobs.schedule({ kind: 'expire', grantId: grant.id, dueAt: grant.expiresAt });
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'grant.requested',
      subject: grant.id,
      details: { account: account.name, condition: 'drill', drill: true, scheduled, ttlMs, expiresAt: grant.expiresAt.toISOString(), policy: policy.name },
    });
    return { grant, account, target: await loadTarget(tx, account) };
  });
  ctx.wake();
  return { ...opened, grant: await activateGrant(ctx, opened) };
}
