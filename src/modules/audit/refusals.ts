import { tokenUsed, type Actor } from '../../domain/index.js';
import type { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';

/** Codes that mean "refused": a rule said no (role, policy, separation of duties, a case one may not see). */
export const refusalCodes: ReadonlySet<string> = new Set(['forbidden', 'separation_of_duties', 'policy_violation', 'not_found']);

const windowMs = 60_000;

interface Window {
  readonly start: Date;
  folded: number;
}

/** Per audit chain (one per server, one per test bed): actor + what + code → the open minute. */
const windows = new WeakMap<object, Map<string, Window>>();

/**
 * Puts a refused request on the record (ASVS V16: authorization failures are logged): who, what,
 * on which subject, and why. Aggregated per actor, action and reason per minute, so a flood of
 * refusals cannot bloat the chain: the first of a minute is recorded at once; the ones after it
 * are counted into the next event (`details.earlierRefusals` since `details.earlierSince`).
 */
export async function recordRefusal(
  ctx: Pick<ModuleContext, 'store' | 'audit' | 'clock' | 'log'>,
  actor: Actor,
  refused: { readonly what: string; readonly subject: string; readonly error: AppError },
): Promise<void> {
  const open = windows.get(ctx.audit) ?? new Map<string, Window>();
  windows.set(ctx.audit, open);
  const now = ctx.clock.now();
  const key = JSON.stringify([actor.name, refused.what, refused.error.code]);
  const current = open.get(key);
  if (current !== undefined && now.getTime() - current.start.getTime() < windowMs) {
    // Counted before any await, so concurrent refusals cannot both open a window.
    if (current.folded++ === 0) ctx.log.warn({ actor: actor.name, what: refused.what, code: refused.error.code }, 'repeated refusals; counted in the next audit event');
    return;
  }
  open.set(key, { start: now, folded: 0 });
  if (open.size > 10_000) for (const [stale, window] of open) if (now.getTime() - window.start.getTime() >= windowMs) open.delete(stale);
  const earlier = current !== undefined && current.folded > 0 ? { earlierRefusals: current.folded, earlierSince: current.start.toISOString() } : {};
  await ctx.store.transaction((tx) =>
    ctx.audit.append(tx, {
      actor: actor.name,
      action: 'request.refused',
      subject: refused.subject,
      details: { what: refused.what, code: refused.error.code, reason: refused.error.message, ...earlier, ...tokenUsed(actor) },
    }),
  );
}
