import { authorize, checkReveal, tokenUsed, type Actor, type GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { CoResponder, RevealedCredential, StoreTx } from '../../ports/index.js';
import { recordFoldedRefusal } from '../audit/refusals.js';
import type { ModuleContext } from '../context.js';
import { openAccountSecret } from '../targets.js';
import { openGrantCredential } from './grant-credential.js';
import { applyEvent, loadCase, type Case } from './grant-store.js';

/**
 * The one-time reveal, to the requester only. The refusal of a second reveal (or of anyone
 * else's) is itself audited, in its own transaction, before the error reaches the caller —
 * once per actor, grant and reason per minute (see `refusalWindows`).
 */
export async function reveal(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<RevealedCredential> {
  let exists = false;
  try {
    return await ctx.store.transaction(async (tx) => {
      const c = await loadCase(tx, id);
      exists = true;
      // issue 11 (H2): a co-responder who joined the case reveals once too, on their own record.
      const co = c.grant.requesterId === actor.id ? undefined : await tx.coResponders.find(id, actor.id);
      authorize(actor, 'grant.reveal', { grant: { ...c.grant, coResponderIds: co ? [co.userId] : [] } });
      if (co) return await revealToCoResponder(ctx, tx, c, actor, co);
      checkReveal(c.grant, ctx.clock.now());
      // Unseal before recording the reveal: a failure here must not burn the one reveal.
      const credential = await unsealCredential(ctx, tx, c);
      await applyEvent(ctx, tx, c.grant, { type: 'reveal' }, actor, { account: c.account.name, ...tokenUsed(actor) });
      // An ephemeral credential is kept only until its one reveal.
      if (c.grant.mode === 'ephemeral') await tx.grants.setCredential(id, undefined);
      return credential;
    });
  } catch (error) {
    // A try on someone else's grant is recorded too (they were told "not found"); one on no grant at all is not.
    if (error instanceof AppError && (exists || error.code !== 'not_found') && error.code !== 'audit_failed') {
      // Folded per user, grant and reason per minute: a loop of refused reveals cannot flood the chain.
      await recordFoldedRefusal(ctx, actor, { key: [id, error.code], action: 'grant.reveal-refused', subject: id, details: { code: error.code }, label: 'refused reveals' });
    }
    throw error;
  }
}

// issue 11 (H2): the same checks as the requester's reveal, against the co-responder's own one reveal.
async function revealToCoResponder(ctx: ModuleContext, tx: StoreTx, c: Case, actor: Actor, co: CoResponder): Promise<RevealedCredential> {
  checkReveal({ ...c.grant, revealedAt: co.revealedAt }, ctx.clock.now());
  if (c.grant.mode !== 'prestaged' || c.account.quorum) throw new AppError('integrity', `grant ${c.grant.id} cannot have co-responders`);
  const credential = await unsealCredential(ctx, tx, c);
  if (!(await tx.coResponders.markRevealed(c.grant.id, actor.id, ctx.clock.now()))) {
    throw new AppError('already_revealed', `the credential of grant ${c.grant.id} was already revealed to ${actor.name}`);
  }
  await ctx.audit.append(tx, { actor: actor.name, action: 'grant.revealed', subject: c.grant.id, details: { account: c.account.name, coResponder: true, ...tokenUsed(actor) } });
  return credential;
}

async function unsealCredential(ctx: ModuleContext, tx: StoreTx, { grant, account }: Case): Promise<RevealedCredential> {
  // A dual-control secret was released into the grant when the quorum was reached.
  if (grant.mode === 'prestaged' && !account.quorum) return { username: account.principal, password: openAccountSecret(ctx, account) };
  const credential = await openGrantCredential(ctx, tx, grant.id);
  if (credential === undefined) throw new AppError('integrity', `grant ${grant.id} has no credential to reveal`);
  return credential;
}
