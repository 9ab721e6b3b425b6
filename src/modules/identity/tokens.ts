import { appError } from '../../errors/index.js';
import { authorize, managesEveryToken, type Actor, type TokenId } from '../../domain/index.js';
import type { StoreTx, TokenRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/** A token as listed: never the token, nor its hash, nor internal ids. */
export type TokenView = Omit<TokenRecord, 'userId' | 'createdById'>;

const view = (t: TokenRecord): TokenView => ({
  id: t.id,
  user: t.user,
  label: t.label,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
  lastUsedAt: t.lastUsedAt,
  revokedAt: t.revokedAt,
  createdBy: t.createdBy,
});

const ended = (t: TokenRecord, now: Date) => t.revokedAt !== undefined || (t.expiresAt !== undefined && t.expiresAt.getTime() <= now.getTime());

async function userSubject(tx: StoreTx, actor: Actor, name: string | undefined) {
  if (name === undefined || name === actor.name) return { id: actor.id, name: actor.name, service: false };
  const user = await tx.users.findByName(name);
  // An unknown name is judged as someone else's: admins learn it is unknown, others are refused.
  return user ?? { id: '' as Actor['id'], name, service: false };
}

/**
 * `breakglass token list [--user U] [--all]`: one's own tokens, or (admins) everyone's or one
 * user's. Live tokens only unless `all` (then revoked and expired ones too).
 */
export async function listTokens(ctx: ModuleContext, actor: Actor, filter: { user?: string | undefined; all?: boolean | undefined } = {}): Promise<TokenView[]> {
  return ctx.store.transaction(async (tx) => {
    const user = await userSubject(tx, actor, filter.user);
    authorize(actor, 'token.list', { user });
    if (user.id === '') throw appError.notFound(`user "${user.name}"`);
    const everyone = filter.user === undefined && managesEveryToken(actor);
    const tokens = await tx.tokens.list(everyone ? {} : { userId: user.id });
    const now = ctx.clock.now();
    return tokens.filter((t) => filter.all === true || !ended(t, now)).map(view);
  });
}

/**
 * `breakglass token revoke ID`: one's own token, or (admins) anyone's. The token gets 401 at
 * once. Revoking a revoked token changes nothing and is not audited again.
 */
export async function revokeToken(ctx: ModuleContext, actor: Actor, id: TokenId): Promise<TokenView> {
  return ctx.store.transaction(async (tx) => {
    const token = await tx.tokens.findById(id);
    authorize(actor, 'token.revoke', { user: token ? { id: token.userId, name: token.user, service: false } : { id: actor.id, name: actor.name, service: false } });
    if (!token) throw appError.notFound(`token ${id}`);
    const now = ctx.clock.now();
    if (await tx.tokens.revoke(id, now)) {
      await ctx.audit.append(tx, { actor: actor.name, action: 'token.revoked', subject: token.user, details: { tokenId: id, label: token.label } });
      return view({ ...token, revokedAt: now });
    }
    return view(token);
  });
}

/** `breakglass whoami`: who the token says you are. The one thing a user with no role may do. */
export function whoami(actor: Actor): { user: string; roles: Actor['roles']; tokenId: TokenId | undefined } {
  authorize(actor, 'whoami');
  return { user: actor.name, roles: actor.roles, tokenId: actor.tokenId };
}
