import { checkEnd, checkReveal, type Actor, type Certification, type Grant, type GrantId, type GrantState } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { AccountRecord, RevealedCredential, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';
import { openAccountSecret } from '../targets.js';
import { applyEvent, loadGrant } from './grant-store.js';

/**
 * The one-time reveal. The refusal of a second reveal is itself audited, in its own
 * transaction, before the error reaches the caller.
 */
export async function reveal(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<RevealedCredential> {
  try {
    return await ctx.store.transaction(async (tx) => {
      const grant = await loadGrant(tx, id);
      checkReveal(grant, actor, ctx.clock.now());
      const account = await tx.catalog.findAccountById(grant.accountId);
      if (!account) throw appError.notFound(`account of grant ${id}`);
      // Unseal before recording the reveal: a failure here must not burn the one reveal.
      const credential = await unsealCredential(ctx, tx, grant, account);
      if (!(await tx.grants.markRevealed(grant.id, ctx.clock.now()))) {
        throw new AppError('already_revealed', `the credential of grant ${id} was already revealed`);
      }
      // An ephemeral credential is kept only until its one reveal.
      if (grant.mode === 'ephemeral') await tx.grants.setCredential(grant.id, undefined);
      await ctx.audit.append(tx, { actor: actor.name, action: 'grant.revealed', subject: id, details: { account: account.name } });
      return credential;
    });
  } catch (error) {
    if (error instanceof AppError && error.code !== 'not_found' && error.code !== 'audit_failed') {
      await ctx.store.transaction((tx) =>
        ctx.audit.append(tx, { actor: actor.name, action: 'grant.reveal-refused', subject: id, details: { code: error.code } }),
      );
    }
    throw error;
  }
}

async function unsealCredential(ctx: ModuleContext, tx: StoreTx, grant: Grant, account: AccountRecord): Promise<RevealedCredential> {
  // A dual-control secret was released into the grant when the quorum was reached.
  if (grant.mode === 'prestaged' && !account.quorum) return { username: account.principal, password: openAccountSecret(ctx, account) };
  const sealed = await tx.grants.getCredential(grant.id);
  if (sealed === undefined) throw new AppError('integrity', `grant ${grant.id} has no credential to reveal`);
  const credential: unknown = JSON.parse(ctx.vault.open(sealed, aad.grantCredential(grant.id)));
  // Checked before the reveal is recorded, so a malformed credential never burns the one reveal.
  if (!isRevealable(credential)) throw new AppError('integrity', `grant ${grant.id} holds a credential of an unknown shape`);
  return credential;
}

function isRevealable(value: unknown): value is RevealedCredential {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const str = (key: string) => typeof v[key] === 'string';
  return str('username') && (str('password') || (str('certificate') && str('privateKey')));
}

/** Ends a grant before its TTL: revocation starts at once. */
export async function endGrant(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<Grant> {
  const grant = await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    checkEnd(grant, actor);
    const next = await applyEvent(ctx, tx, grant, { type: 'end' }, actor);
    await tx.jobs.schedule({ kind: 'revoke', subject: id, dueAt: ctx.clock.now() });
    return next;
  });
  ctx.wake();
  return grant;
}

/** Withdraws a request still waiting for its custodians, so it stops holding the account. */
export async function cancelGrant(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<Grant> {
  const grant = await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    checkEnd(grant, actor);
    return applyEvent(ctx, tx, grant, { type: 'cancel' }, actor, { presented: ctx.quorum.holders(id) });
  });
  ctx.quorum.drop(id);
  return grant;
}

export type CertifyInput = Pick<Certification, 'necessary' | 'scoped' | 'removed' | 'note'>;

/** The incident owner's certification; closes the case (invariant I5 lives in the domain). */
export async function certify(ctx: ModuleContext, actor: Actor, id: GrantId, answers: CertifyInput): Promise<Grant> {
  return ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    return applyEvent(ctx, tx, grant, { type: 'certify', actor, answers }, actor, { ...answers });
  });
}

/** Who sees every case: they review, certify or audit them. Others see their own. */
const overseers = new Set(['admin', 'incident-owner', 'auditor', 'custodian']);
const seesAll = (actor: Actor) => actor.roles.some((role) => overseers.has(role));

export async function showGrant(ctx: ModuleContext, actor: Actor, id: GrantId): Promise<Grant> {
  const grant = await ctx.store.transaction((tx) => loadGrant(tx, id));
  // Not "forbidden": whether someone else's grant exists is itself not to be told.
  if (!seesAll(actor) && grant.requesterId !== actor.id) throw appError.notFound(`grant ${id}`);
  return grant;
}

export async function listGrants(ctx: ModuleContext, actor: Actor, filter: { state?: GrantState }): Promise<Grant[]> {
  const grants = await ctx.store.transaction((tx) => tx.grants.list(filter.state ? { states: [filter.state], limit: 500 } : { limit: 500 }));
  return seesAll(actor) ? grants : grants.filter((g) => g.requesterId === actor.id);
}

/** The account name for one grant's view: one row, not the whole catalog. */
export async function accountName(ctx: ModuleContext, grant: Grant): Promise<string | undefined> {
  return (await ctx.store.transaction((tx) => tx.catalog.findAccountById(grant.accountId)))?.name;
}

/** Account names for views; one lookup for many grants. */
export async function accountNames(ctx: ModuleContext): Promise<Map<string, string>> {
  const accounts = await ctx.store.transaction((tx) => tx.catalog.listAccounts());
  return new Map(accounts.map((a) => [a.id, a.name]));
}
