import { authorize, type Actor, type Grant, type GrantState } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent } from '../grants/grant-store.js';

export interface IncidentClosed {
  readonly incident: string;
  /** Active grants ended (revocation follows, as for any end). */
  readonly ended: readonly Grant[];
  /** Requests not active yet, cancelled (nothing was or will be enabled for them). */
  readonly cancelled: readonly Grant[];
}

/** States of a live grant that the close cancels rather than ends. */
const waitingStates: readonly GrantState[] = ['requested', 'awaiting-quorum', 'awaiting-approval'];

/**
 * Issue 11 (H2): the incident `ref` is closed (by the incident system's token, an incident owner
 * or an admin): every active grant tied to it ends (`grant.incident-closed`, endReason
 * `incident-closed`; revocation, rotation and certification follow as usual), every request
 * still waiting is cancelled, and the close itself is audited (`incident.closed`) with both lists.
 * One transaction: the grants end together or not at all. Closing an incident with no live grant
 * is allowed and audited (the incident system need not know which incidents had one).
 */
export async function closeIncident(ctx: ModuleContext, actor: Actor, ref: string): Promise<IncidentClosed> {
  authorize(actor, 'incident.close');
  if (ref.trim().length === 0) throw new AppError('validation', 'an incident reference is required', { path: 'ref' });
  const result = await ctx.store.transaction(async (tx) => {
    const live = await tx.grants.list({ states: ['active', ...waitingStates], incident: ref, drill: false });
    const ended: Grant[] = [];
    const cancelled: Grant[] = [];
    for (const grant of live.reverse()) {
      if (grant.state === 'active') {
        ended.push(await applyEvent(ctx, tx, grant, { type: 'incident-closed' }, actor, { incident: ref, endReason: 'incident-closed' }));
        await tx.jobs.schedule({ kind: 'revoke', grantId: grant.id, dueAt: ctx.clock.now() });
      } else {
        const presented = grant.state === 'awaiting-quorum' ? { presented: await tx.pendingShares.drop(grant.id) } : {};
        cancelled.push(await applyEvent(ctx, tx, grant, { type: 'cancel' }, actor, { incident: ref, reason: 'incident-closed', ...presented }));
      }
    }
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'incident.closed',
      subject: ref,
      details: { ended: ended.map((g) => g.id), cancelled: cancelled.map((g) => g.id) },
    });
    return { incident: ref, ended, cancelled };
  });
  ctx.wake();
  return result;
}
