import { generateApiToken, hashToken, newId } from '../../crypto/index.js';
import { AppError, appError } from '../../errors/index.js';
import { asTokenId, asUserId, authorize, parseDuration, type Actor, type TokenId, type UserId } from '../../domain/index.js';
import type { StoreTx, TokenRecord, UserRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/** A use is written to `last_used_at` at most this often per token (each write is a transaction). */
const touchEveryMs = 60_000;

/**
 * Resolves a bearer token to its user. Only the token's hash is stored or compared. A revoked
 * or expired token, or any token of a disabled user, is refused at once.
 *
 * issue 13 (store reads): the check is a read (`Store.read`, no write lock), made afresh on
 * every request, so a revocation committed before the request is seen by it. The use is
 * recorded (`last_used_at`) in a write of its own, at most once a minute per token: a token in
 * steady use costs one write a minute, not one per request.
 */
export async function authenticate(ctx: Pick<ModuleContext, 'store' | 'clock'>, token: string): Promise<Actor | undefined> {
  if (!/^bg_[A-Za-z0-9_-]{20,}$/.test(token)) return undefined;
  const tokenHash = hashToken(token);
  const found = await ctx.store.read((tx) => tx.tokens.findByHash(tokenHash));
  const now = ctx.clock.now();
  const actor = liveActor(found, now);
  if (actor === undefined || found === undefined) return undefined;
  const last = found.token.lastUsedAt;
  if (last === undefined || now.getTime() - last.getTime() >= touchEveryMs) await ctx.store.transaction((tx) => tx.tokens.touch(found.token.id, now));
  return actor;
}

/** The actor a token stands for, or undefined when it is unknown, revoked, expired or its user disabled. */
function liveActor(found: { token: TokenRecord; user: UserRecord } | undefined, now: Date): Actor | undefined {
  if (found === undefined) return undefined;
  const { token: record, user } = found;
  if (record.revokedAt !== undefined || user.disabled) return undefined;
  if (record.expiresAt !== undefined && record.expiresAt.getTime() <= now.getTime()) return undefined;
  return {
    id: user.id,
    name: user.name,
    roles: user.roles,
    tokenId: record.id,
    ...(record.createdById === undefined ? {} : { tokenCreatorId: record.createdById }),
  };
}

/** A token as handed out: shown once, never stored. */
export interface IssuedToken {
  readonly id: TokenId;
  readonly token: string;
  readonly expiresAt: Date | undefined;
}

/** Longest lifetime of a token a person asks for (`--ttl`). */
export const maxTokenTtlMs = 366 * 24 * 3_600_000;

/** `--ttl 30d` as milliseconds, within what a token may live. */
export function tokenTtl(ttl: string | undefined, path = 'ttl'): number | undefined {
  if (ttl === undefined) return undefined;
  const ms = parseDuration(ttl);
  if (ms === undefined || ms <= 0) throw appError.validation(`${path}: "${ttl}" is not a duration (e.g. 30d, 12h)`, path);
  if (ms > maxTokenTtlMs) throw appError.validation(`${path}: "${ttl}" is longer than a token may live (366d)`, path);
  return ms;
}

/**
 * Mints a token for `user` inside the caller's transaction and audits it; the token is returned
 * once. `by` is who minted it: the user themselves, an admin (service users only), or the engine.
 */
export async function mintToken(
  ctx: Pick<ModuleContext, 'audit' | 'clock'>,
  tx: StoreTx,
  mint: { user: UserRecord; by: { name: string; id: UserId | undefined }; label: string; ttlMs: number | undefined; action: 'token.created' | 'token.redeemed' },
): Promise<IssuedToken> {
  const now = ctx.clock.now();
  const token = generateApiToken();
  const id = asTokenId(newId('tok_'));
  const expiresAt = mint.ttlMs === undefined ? undefined : new Date(now.getTime() + mint.ttlMs);
  await tx.tokens.insert({ id, userId: mint.user.id, tokenHash: hashToken(token), label: mint.label, createdAt: now, expiresAt, createdBy: mint.by.name, createdById: mint.by.id });
  await ctx.audit.append(tx, {
    actor: mint.by.name,
    action: mint.action,
    subject: mint.user.name,
    details: { tokenId: id, label: mint.label, expiresAt: expiresAt?.toISOString() ?? null },
  });
  return { id, token, expiresAt };
}

/** The first admin's token at `init`, minted by the engine; the token is returned once. */
export async function issueToken(ctx: Pick<ModuleContext, 'audit' | 'clock'>, tx: StoreTx, actorName: string, userName: string): Promise<string> {
  const user = await tx.users.findByName(userName);
  if (!user) throw appError.notFound(`user "${userName}" (declare it under users: and apply)`);
  const issued = await mintToken(ctx, tx, { user, by: { name: actorName, id: undefined }, label: `issued by ${actorName}`, ttlMs: undefined, action: 'token.created' });
  return issued.token;
}

export interface CreateTokenOptions {
  readonly label?: string | undefined;
  /** e.g. `30d`; none: the token lives until revoked. */
  readonly ttl?: string | undefined;
}

/**
 * `breakglass token create USER`: a token for oneself, or (admins) for a `service` user. Never
 * for another person: that would let the admin act as them (`user invite` enrols people).
 */
export async function createToken(ctx: ModuleContext, actor: Actor, userName: string, options: CreateTokenOptions = {}): Promise<IssuedToken> {
  return ctx.store.transaction(async (tx) => {
    const user = await tx.users.findByName(userName);
    // An unknown name is judged as a service user would be: an admin learns it is unknown, others are refused.
    authorize(actor, 'token.create', { user: user ?? { id: asUserId(''), name: userName, service: true } });
    if (!user) throw appError.notFound(`user "${userName}" (declare it under users: and apply)`);
    if (user.disabled) throw new AppError('conflict', `user "${userName}" is disabled; declare them in the catalog again to enable them`);
    const ttlMs = tokenTtl(options.ttl);
    const label = options.label ?? (user.id === actor.id ? 'self' : `created by ${actor.name}`);
    return mintToken(ctx, tx, { user, by: { name: actor.name, id: actor.id }, label, ttlMs, action: 'token.created' });
  });
}
