import { tokenUsed, type Actor, type AuditAction } from '../../domain/index.js';
import type { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';

/** Codes that mean "refused": a rule said no (role, policy, separation of duties, a case one may not see). */
export const refusalCodes: ReadonlySet<string> = new Set(['forbidden', 'separation_of_duties', 'policy_violation', 'not_found']);

const windowMs = 60_000;

interface Window {
  readonly start: Date;
  folded: number;
}

/** Per audit chain (one per server, one per test bed): the open minute of each refusal key. */
const windows = new WeakMap<object, Map<string, Window>>();

type Ctx = Pick<ModuleContext, 'store' | 'audit' | 'clock' | 'log'>;

/**
 * Puts a refusal on the record, folded per `key` (who, what, why) per minute, so a flood cannot
 * bloat the chain: the first of a minute is recorded at once; the ones after it are counted
 * into the next event (`details.earlierRefusals` since `details.earlierSince`). A count still
 * pending when the server stops is lost; the warning in the log says the burst happened.
 */
export async function recordFoldedRefusal(
  ctx: Ctx,
  actor: Actor,
  refusal: {
    readonly key: readonly unknown[];
    readonly action: AuditAction;
    readonly subject: string;
    readonly details: Readonly<Record<string, unknown>>;
    /** For the log line of a burst, e.g. `refused reveals`. */
    readonly label: string;
  },
): Promise<void> {
  const open = windows.get(ctx.audit) ?? new Map<string, Window>();
  windows.set(ctx.audit, open);
  const now = ctx.clock.now();
  const key = JSON.stringify([actor.name, ...refusal.key]);
  const current = open.get(key);
  if (current !== undefined && now.getTime() - current.start.getTime() < windowMs) {
    // Counted before any await, so concurrent refusals cannot both open a window.
    if (current.folded++ === 0) ctx.log.warn({ actor: actor.name, action: refusal.action, subject: refusal.subject }, `repeated ${refusal.label}; counted in the next audit event`);
    return;
  }
  open.set(key, { start: now, folded: 0 });
  if (open.size > 10_000) for (const [stale, window] of open) if (now.getTime() - window.start.getTime() >= windowMs) open.delete(stale);
  const earlier = current !== undefined && current.folded > 0 ? { earlierRefusals: current.folded, earlierSince: current.start.toISOString() } : {};
  await ctx.store.transaction((tx) =>
    ctx.audit.append(tx, { actor: actor.name, action: refusal.action, subject: refusal.subject, details: { ...refusal.details, ...earlier, ...tokenUsed(actor) } }),
  );
}

/**
 * A request refused by a rule (ASVS V16: authorization failures are logged): who, what, on which
 * subject, and why, as `request.refused`, folded per actor, route and reason per minute.
 */
export function recordRefusal(ctx: Ctx, actor: Actor, refused: { readonly what: string; readonly subject: string; readonly error: AppError }): Promise<void> {
  const { what, subject, error } = refused;
  return recordFoldedRefusal(ctx, actor, {
    key: [what, error.code],
    action: 'request.refused',
    subject,
    details: { what, code: error.code, reason: error.message },
    label: 'refusals',
  });
}
