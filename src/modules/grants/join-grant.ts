import { authorize, type Actor, type Grant, type GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { CoResponder } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { loadCase } from './grant-store.js';

export interface JoinResult {
  readonly grant: Grant;
  readonly coResponders: readonly CoResponder[];
}

/**
 * Issue 11 (H2): a second responder joins a live pre-staged case instead of being refused at
 * invoke (one pre-staged secret, one case): they are recorded as a co-responder (`grant.joined`,
 * their own audit trail) and may reveal the credential once themselves. The case stays one: its
 * end, revocation and rotation end it for everyone. Who may join: whoever may invoke the
 * account's policy. Ephemeral grants stay independent (invoke your own); a dual-control case is
 * not joined either (its custodians released the secret for one requester), nor a drill.
 */
export async function joinGrant(ctx: ModuleContext, actor: Actor, id: GrantId, reason: string): Promise<JoinResult> {
  if (reason.trim().length === 0) throw new AppError('validation', 'joining a case needs a reason (--reason)', { path: 'reason' });
  return ctx.store.transaction(async (tx) => {
    const { grant, account } = await loadCase(tx, id);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw new AppError('not_found', `policy of account "${account.name}" not found`);
    authorize(actor, 'grant.join', { policy, account: { name: account.name, custodians: account.quorum?.custodians ?? [] } });
    if (grant.mode === 'ephemeral') {
      throw new AppError('invalid_transition', `grant ${id} is ephemeral: each responder gets their own credential; run \`breakglass invoke ${account.name}\` instead`);
    }
    if (grant.drill === true) throw new AppError('invalid_transition', `grant ${id} is a drill; there is no case to join`);
    if (account.quorum) throw new AppError('invalid_transition', `grant ${id} is on dual-control account "${account.name}": its custodians released it for one requester; it cannot be joined`);
    if (grant.state !== 'active' || ctx.clock.now().getTime() >= grant.expiresAt.getTime()) {
      throw new AppError('invalid_transition', `grant ${id} is ${grant.state}; only an active case can be joined`);
    }
    if (grant.requesterId === actor.id) throw new AppError('conflict', `${actor.name} is the requester of grant ${id} already`);
    const joinedAt = ctx.clock.now();
    const added = await tx.coResponders.add({ grantId: grant.id, userId: actor.id, userName: actor.name, reason, joinedAt });
    if (!added) throw new AppError('conflict', `${actor.name} has already joined grant ${id}`);
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'grant.joined',
      subject: grant.id,
      details: { account: account.name, reason, incident: grant.incident, requester: grant.requesterName, expiresAt: grant.expiresAt.toISOString() },
    });
    return { grant, coResponders: await tx.coResponders.list(grant.id) };
  });
}
