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
 *
 * issue 13 (authread): with `checked` (the HTTP layer's, see `checkedTokens`), a token found live
 * less than its TTL ago is not read again; its expiry is still judged on every use.
 */
export async function authenticate(ctx: Pick<ModuleContext, 'store' | 'clock'>, token: string, checked?: CheckedTokens): Promise<Actor | undefined> {
  if (!/^bg_[A-Za-z0-9_-]{20,}$/.test(token)) return undefined;
  const tokenHash = hashToken(token);
  const now = ctx.clock.now();
  const found = checked?.recall(tokenHash, now) ?? (await readToken(ctx, tokenHash, now, checked));
  const actor = liveActor(found, now);
  if (actor === undefined || found === undefined) return undefined;
  const last = found.token.lastUsedAt;
  if (last === undefined || now.getTime() - last.getTime() >= touchEveryMs) {
    await ctx.store.transaction((tx) => tx.tokens.touch(found.token.id, now));
    checked?.touched(tokenHash, now);
  }
  return actor;
}

type FoundToken = { readonly token: TokenRecord; readonly user: UserRecord };

async function readToken(ctx: Pick<ModuleContext, 'store'>, tokenHash: string, now: Date, checked: CheckedTokens | undefined): Promise<FoundToken | undefined> {
  // The generation before the read: a change of identities made while it runs voids what it found.
  const generation = checked?.generation();
  const found = await ctx.store.read((tx) => tx.tokens.findByHash(tokenHash));
  if (checked !== undefined && generation !== undefined && liveActor(found, now) !== undefined) checked.remember(tokenHash, found!, now, generation);
  return found;
}

// issue 13 (authread)
/**
 * Tokens found live by a recent read, by the token's hash (never the token): what lets an
 * authenticated request skip the token read. Only live tokens are kept (a refusal is read again
 * every time, and guessing cannot fill it); at most `max`, the oldest dropped first.
 *
 * Safe because it is forgotten: `forget()` empties it and moves the generation on, so a read
 * that began before is not kept. The HTTP layer calls it before and after every request that
 * may write (revoking a token, applying a catalog that disables a user or changes roles), so
 * on this instance the next request reads again. What it cannot see, a change made by another
 * instance on the same PostgreSQL, is seen once the entry is `ttlMs` old (1 s).
 */
export interface CheckedTokens {
  recall(tokenHash: string, now: Date): FoundToken | undefined;
  remember(tokenHash: string, found: FoundToken, now: Date, generation: number): void;
  /** The token's use was just recorded (`last_used_at`). */
  touched(tokenHash: string, now: Date): void;
  generation(): number;
  forget(): void;
}

/** How long a token found live is trusted without reading it again: the bound for another instance. */
export const checkedTokenTtlMs = 1_000;

/** The cache of `authenticate`; see `CheckedTokens`. */
export function checkedTokens(options: { ttlMs?: number; max?: number } = {}): CheckedTokens {
  const ttlMs = options.ttlMs ?? checkedTokenTtlMs;
  const max = options.max ?? 1_000;
  const entries = new Map<string, { found: FoundToken; at: number }>();
  let generation = 0;
  return {
    recall(tokenHash, now) {
      const entry = entries.get(tokenHash);
      if (entry === undefined) return undefined;
      const age = now.getTime() - entry.at;
      // A clock that went back cannot stretch the TTL.
      if (age < 0 || age >= ttlMs) {
        entries.delete(tokenHash);
        return undefined;
      }
      return entry.found;
    },
    remember(tokenHash, found, now, since) {
      if (since !== generation) return;
      entries.delete(tokenHash);
      entries.set(tokenHash, { found, at: now.getTime() });
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
    touched(tokenHash, now) {
      const entry = entries.get(tokenHash);
      if (entry !== undefined) entry.found = { ...entry.found, token: { ...entry.found.token, lastUsedAt: now } };
    },
    generation: () => generation,
    forget() {
      generation++;
      entries.clear();
    },
  };
}

/** The actor a token stands for, or undefined when it is unknown, revoked, expired or its user disabled. */
function liveActor(found: FoundToken | undefined, now: Date): Actor | undefined {
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
