import { generateEnrolmentCode, hashToken } from '../../crypto/index.js';
import { AppError, appError } from '../../errors/index.js';
import { authorize, parseDuration, type Actor } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import { mintToken, tokenTtl, type IssuedToken } from './identity.js';

/** An enrolment code lives at most this long (and by default exactly this long). */
export const maxInviteTtlMs = 24 * 3_600_000;
/** A redeemed token lives this long unless the user asks for less or more (`--ttl`). */
export const defaultRedeemedTtlMs = 30 * 24 * 3_600_000;

/**
 * `breakglass user invite USER` (admin): a one-time enrolment code, valid for at most 24 h, that
 * the user redeems for a token of their own. Only its SHA-256 is stored; the admin never holds
 * a working token of the user, so nobody can act as someone else.
 */
export async function inviteUser(ctx: ModuleContext, actor: Actor, userName: string, options: { ttl?: string | undefined } = {}): Promise<{ code: string; expiresAt: Date }> {
  authorize(actor, 'user.invite');
  const ttlMs = options.ttl === undefined ? maxInviteTtlMs : parseDuration(options.ttl);
  if (ttlMs === undefined || ttlMs <= 0 || ttlMs > maxInviteTtlMs) throw appError.validation(`ttl: "${options.ttl}" must be a duration of at most 24h`, 'ttl');
  return ctx.store.transaction(async (tx) => {
    const user = await tx.users.findByName(userName);
    if (!user) throw appError.notFound(`user "${userName}" (declare it under users: and apply)`);
    if (user.disabled) throw new AppError('conflict', `user "${userName}" is disabled; declare them in the catalog again to enable them`);
    const now = ctx.clock.now();
    const code = generateEnrolmentCode();
    const expiresAt = new Date(now.getTime() + ttlMs);
    await tx.tokens.addEnrolmentCode({ codeHash: hashToken(code), userId: user.id, createdBy: actor.name, createdAt: now, expiresAt });
    await ctx.audit.append(tx, { actor: actor.name, action: 'user.invited', subject: user.name, details: { expiresAt: expiresAt.toISOString() } });
    return { code, expiresAt };
  });
}

const refused = () => new AppError('unauthenticated', 'unknown, used or expired enrolment code; ask an admin for a new one (`breakglass user invite NAME`)');

/**
 * `breakglass token redeem CODE` (no token needed): the code is the credential, once. The token
 * is minted by the invited user themselves (its creator is them, not the admin who invited).
 */
export async function redeemInvite(ctx: ModuleContext, code: string, options: { ttl?: string | undefined; label?: string | undefined } = {}): Promise<IssuedToken> {
  if (!/^bge_[A-Za-z0-9_-]{20,}$/.test(code)) throw refused();
  const ttlMs = options.ttl === undefined ? defaultRedeemedTtlMs : tokenTtl(options.ttl);
  return ctx.store.transaction(async (tx) => {
    const userId = await tx.tokens.useEnrolmentCode(hashToken(code), ctx.clock.now());
    const user = userId === undefined ? undefined : await tx.users.findById(userId);
    if (!user || user.disabled) throw refused();
    const actor: Actor = { id: user.id, name: user.name, roles: user.roles };
    authorize(actor, 'token.redeem');
    return mintToken(ctx, tx, { user, by: { name: user.name, id: user.id }, label: options.label ?? 'enrolment', ttlMs, action: 'token.redeemed' });
  });
}
