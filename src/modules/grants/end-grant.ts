import { authorize, type Actor, type Grant, type GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from './grant-store.js';

/** Ends a grant before its TTL: revocation starts at once. */
export async function endGrant(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<Grant> {
  const grant = await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    authorize(actor, 'grant.end', { grant });
    const next = await applyEvent(ctx, tx, grant, { type: 'end' }, actor);
    await tx.jobs.schedule({ kind: 'revoke', grantId: id, dueAt: ctx.clock.now() });
    return next;
  });
  ctx.wake();
  return grant;
}
