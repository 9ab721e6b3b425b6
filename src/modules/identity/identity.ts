import { generateApiToken, hashToken } from '../../crypto/index.js';
import { appError } from '../../errors/index.js';
import { authorize, type Actor } from '../../domain/index.js';
import type { StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/** Resolves a bearer token to its user. Only the token's hash is stored or compared. */
export async function authenticate(ctx: Pick<ModuleContext, 'store'>, token: string): Promise<Actor | undefined> {
  if (!/^bg_[A-Za-z0-9_-]{20,}$/.test(token)) return undefined;
  const user = await ctx.store.transaction((tx) => tx.users.findByTokenHash(hashToken(token)));
  return user === undefined ? undefined : { id: user.id, name: user.name, roles: user.roles };
}

/** Issues a token inside the caller's transaction; the token is returned once, never stored. */
export async function issueToken(
  ctx: Pick<ModuleContext, 'audit' | 'clock'>,
  tx: StoreTx,
  actorName: string,
  userName: string,
): Promise<string> {
  const user = await tx.users.findByName(userName);
  if (!user) throw appError.notFound(`user "${userName}" (declare it under users: and apply)`);
  const token = generateApiToken();
  await tx.users.addToken(user.id, hashToken(token), `issued by ${actorName}`, ctx.clock.now());
  await ctx.audit.append(tx, { actor: actorName, action: 'token.created', subject: user.name });
  return token;
}

/** `breakglass token create USER`: admins issue API tokens for declared users. */
export async function createToken(ctx: ModuleContext, actor: Actor, userName: string): Promise<{ token: string }> {
  authorize(actor, 'token.create');
  const token = await ctx.store.transaction((tx) => issueToken(ctx, tx, actor.name, userName));
  return { token };
}
