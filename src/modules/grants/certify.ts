import { authorize, tokenUsed, type Actor, type Certification, type Grant, type GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from './grant-store.js';

export type CertifyInput = Pick<Certification, 'necessary' | 'scoped' | 'removed' | 'note' | 'misuseSuspected'>;

/**
 * The incident owner's certification; closes the case (invariant I5: never by the requester).
 * With misuse suspected (issue 11, H3) the case goes to `under-review` until an admin resolves it.
 */
export async function certify(ctx: ModuleContext, actor: Actor, id: GrantId, answers: CertifyInput): Promise<Grant> {
  return ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    authorize(actor, 'grant.certify', { grant });
    return applyEvent(ctx, tx, grant, { type: 'certify', actor, answers }, actor, { ...answers, ...tokenUsed(actor) });
  });
}
