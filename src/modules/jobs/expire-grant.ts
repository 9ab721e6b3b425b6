import type { GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from '../grants/grant-store.js';

/**
 * TTL reached: start revocation. An interrupted activation is cleaned up the same way; a quorum
 * request whose window closed expires. Idempotent: a repeated or early job does nothing.
 */
export async function expireGrant(ctx: ModuleContext, grantId: GrantId): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, grantId);
    // A later expiry job exists when the TTL restarted at the quorum release: the grant's own expiry decides.
    if (ctx.clock.now().getTime() < grant.expiresAt.getTime()) return;
    if (grant.state === 'awaiting-quorum') {
      // The custodians did not gather in time: the request expires; nothing was enabled.
      await applyEvent(ctx, tx, grant, { type: 'quorum-expired' }, 'system', { presented: await tx.pendingShares.drop(grant.id) });
      return;
    }
    // issue 11 (H1): nobody decided in time; nothing was enabled.
    if (grant.state === 'awaiting-approval') {
      await applyEvent(ctx, tx, grant, { type: 'approval-expired' }, 'system');
      return;
    }
    if (grant.state === 'active') await applyEvent(ctx, tx, grant, { type: 'expire' }, 'system');
    // A released grant still being enabled at its expiry: fail it, and undo whatever the enable did.
    else if (grant.state === 'requested') await applyEvent(ctx, tx, grant, { type: 'activation-failed', reason: 'activation was interrupted' }, 'system');
    else return;
    await tx.jobs.schedule({ kind: 'revoke', grantId: grant.id, dueAt: ctx.clock.now() });
  });
  ctx.wake();
}
