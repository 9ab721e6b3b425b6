import { authorize, tokenUsed, type Actor, type Grant, type GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from './grant-store.js';

/**
 * Issue 11 (H3): ends the review of a case certified with misuse suspected (`under-review` →
 * `closed`), with the admin's note. Only an admin, never the requester of the case (nor with a
 * token the requester minted): the permission table's `grant.resolve`, checked again by the lifecycle.
 * @example await resolveReview(ctx, admin, grantId, 'talked to alice; access was needed, scope widened by mistake')
 */
export async function resolveReview(ctx: ModuleContext, actor: Actor, id: GrantId, note: string): Promise<Grant> {
  return ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    authorize(actor, 'grant.resolve', { grant });
    return applyEvent(ctx, tx, grant, { type: 'resolve', actor, note }, actor, { note, ...tokenUsed(actor) });
  });
}
