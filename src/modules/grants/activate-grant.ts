import type { Grant } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { ephemeralOps, prestagedOps, withConnector } from '../targets.js';
import { sealGrantCredential } from './grant-credential.js';
import { applyEvent, loadGrant, type Case } from './grant-store.js';

/**
 * Makes a requested grant usable on its target: enables the pre-staged account (with the
 * grant's expiry carried natively) or issues the ephemeral credential, then marks it active.
 * A failure leaves the grant `failed` with a cleanup job; a late success after expiry is undone.
 */
export async function activateGrant(ctx: ModuleContext, { grant, account, target }: Case): Promise<Grant> {
  let sealedCredential: string | undefined;
  try {
    sealedCredential = await withConnector(ctx, target, async (connector) => {
      if (account.mode === 'prestaged') {
        await prestagedOps(connector, target).enable(account.principal, grant.expiresAt);
        return undefined;
      }
      const credential = await ephemeralOps(connector, target).issue({ grantId: grant.id, spec: account.spec, validUntil: grant.expiresAt });
      return sealGrantCredential(ctx, grant.id, credential);
    });
  } catch (error) {
    const reason = error instanceof AppError ? error.message : 'unexpected error enabling the account';
    await ctx.store.transaction(async (tx) => {
      // Read again: the expiry job may have failed the grant while the target was busy.
      const current = await loadGrant(tx, grant.id);
      if (current.state === 'requested') await applyEvent(ctx, tx, current, { type: 'activation-failed', reason }, 'system');
      // The enable may have half-happened: disable again to be sure, and retry until verified.
      await tx.jobs.schedule({ kind: 'revoke', grantId: grant.id, dueAt: ctx.clock.now() });
    });
    ctx.wake();
    throw new AppError('target_unavailable', `could not enable "${account.name}" on "${target.name}": ${reason}`, { cause: error });
  }
  const activated = await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, grant.id);
    if (current.state !== 'requested') {
      // Expiry cleanup ran while the target was slow to enable: undo the late enable too.
      await tx.jobs.schedule({ kind: 'revoke', grantId: grant.id, dueAt: ctx.clock.now() });
      return undefined;
    }
    if (sealedCredential !== undefined) await tx.grants.setCredential(grant.id, sealedCredential);
    return applyEvent(ctx, tx, current, { type: 'activate' }, 'system', { target: target.name, validUntil: grant.expiresAt.toISOString() });
  });
  ctx.wake();
  if (!activated) throw new AppError('invalid_transition', `grant ${grant.id} expired before "${account.name}" was enabled; it is being revoked`);
  return activated;
}
