import { authorize, type Actor, type Grant, type GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from './grant-store.js';

/** Withdraws a request still waiting for its custodians, so it stops holding the account. */
export async function cancelGrant(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<Grant> {
  return ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    authorize(actor, 'grant.cancel', { grant });
    return applyEvent(ctx, tx, grant, { type: 'cancel' }, actor, { presented: await tx.pendingShares.drop(id) });
  });
}
