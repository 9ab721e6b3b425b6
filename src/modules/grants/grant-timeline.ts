import { authorize, type Actor, type GrantId } from '../../domain/index.js';
import type { AuditEventRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { loadGrant } from './grant-store.js';

/** More events than any case has (a quorum's shares, reveals, each step): the timeline is one answer. */
const maxTimelineEvents = 10_000;

/**
 * Issue 11 (H3): a case's audit events in chain order (the chain's own record, so the timeline
 * survives the case's end and is as trustworthy as the chain). Whoever may read the case may
 * read its timeline; anyone else is told it does not exist.
 * @example const events = await grantTimeline(ctx, actor, grantId)
 */
export async function grantTimeline(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<AuditEventRecord[]> {
  return ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    authorize(actor, 'grant.read', { grant });
    return tx.audit.eventsAbout(grant.id, 0, maxTimelineEvents);
  });
}
