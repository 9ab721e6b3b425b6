import type { CatalogApply } from '../../config/catalog-file.js';
import { AppError } from '../../errors/index.js';
import type { StoreTx, UserRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/**
 * The users part of a declarative apply, in the apply's transaction. Each listed user is written
 * (roles, recipient, `service`, `disabled`) and marked as declared by the catalog. A user that a
 * catalog declared before and this one no longer lists is disabled. Disabling revokes every live
 * token of the user in the same transaction, audited as `user.disabled`, so removed people lose
 * access at once (re-enabling them later does not bring old tokens back). The first admin from
 * `init` was never declared, so a catalog that does not list it leaves it alone.
 */
export async function applyUsers(ctx: Pick<ModuleContext, 'audit' | 'clock'>, tx: StoreTx, users: CatalogApply['users'], actorName: string): Promise<void> {
  const now = ctx.clock.now();
  const before = new Map((await tx.users.list()).map((u) => [u.name, u]));
  const listed = new Set(users.map((u) => u.name));
  const removed = [...before.values()].filter((u) => u.declared && !u.disabled && !listed.has(u.name));
  const lockedOut = users.find((u) => u.name === actorName && u.disabled === true)?.name ?? removed.find((u) => u.name === actorName)?.name;
  if (lockedOut !== undefined) {
    throw new AppError('validation', `users: this catalog would disable "${lockedOut}", who is applying it; apply it as another admin`, { path: 'users' });
  }
  for (const user of users) {
    const old = before.get(user.name);
    const disabled = user.disabled === true;
    const saved = await tx.users.upsert({ name: user.name, roles: user.roles, recipient: user.recipient, service: user.service === true, disabled, declared: true }, now);
    if (disabled && old?.disabled !== true) await disable(ctx, tx, saved, actorName, 'disabled: true in the catalog');
    if (!disabled && old?.disabled === true) await ctx.audit.append(tx, { actor: actorName, action: 'user.enabled', subject: user.name, details: {} });
  }
  for (const user of removed) {
    await tx.users.setDisabled(user.id, true);
    await disable(ctx, tx, user, actorName, 'no longer in the catalog');
  }
}

async function disable(ctx: Pick<ModuleContext, 'audit' | 'clock'>, tx: StoreTx, user: UserRecord, actorName: string, reason: string): Promise<void> {
  const revokedTokens = await tx.tokens.revokeAllOf(user.id, ctx.clock.now());
  await ctx.audit.append(tx, { actor: actorName, action: 'user.disabled', subject: user.name, details: { reason, revokedTokens } });
}
