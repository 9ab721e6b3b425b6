import { authorize, checkReveal, tokenUsed, type Actor, type GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { RevealedCredential, StoreTx } from '../../ports/index.js';
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
      authorize(actor, 'grant.reveal', { grant: c.grant });
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
      await recordRefusal(ctx, actor, id, error.code);
    }
    throw error;
  }
}

const refusalWindowMs = 60_000;

interface RefusalWindow {
  /** When the recorded refusal of this window happened; the window lasts a minute from it. */
  readonly start: Date;
  /** Refusals in the window after the recorded one: folded into the next window's event. */
  folded: number;
}

/**
 * Refusals by actor+grant+code, per audit chain (one per server, one per test bed). A loop of
 * refused reveals must not flood the chain: the first refusal of a minute is recorded at once;
 * the ones after it in that minute are counted, and the count goes into the next refusal's
 * event (`details.earlierRefusals`, since `details.earlierSince`). A count still pending when
 * the server stops is lost; the warning in the log says the burst happened.
 */
const refusalWindows = new WeakMap<ModuleContext['audit'], Map<string, RefusalWindow>>();

async function recordRefusal(ctx: ModuleContext, actor: Actor, id: GrantId, code: string): Promise<void> {
  const windows = refusalWindows.get(ctx.audit) ?? new Map<string, RefusalWindow>();
  refusalWindows.set(ctx.audit, windows);
  const now = ctx.clock.now();
  const key = JSON.stringify([actor.name, id, code]);
  const open = windows.get(key);
  if (open !== undefined && now.getTime() - open.start.getTime() < refusalWindowMs) {
    // Counted before any await, so concurrent refusals cannot both open a window.
    if (open.folded++ === 0) ctx.log.warn({ actor: actor.name, grant: id, code }, 'repeated refused reveals; counted in the next audit event');
    return;
  }
  windows.set(key, { start: now, folded: 0 });
  if (windows.size > 10_000) {
    for (const [stale, window] of windows) if (now.getTime() - window.start.getTime() >= refusalWindowMs) windows.delete(stale);
  }
  const earlier = open !== undefined && open.folded > 0 ? { earlierRefusals: open.folded, earlierSince: open.start.toISOString() } : {};
  await ctx.store.transaction((tx) =>
    ctx.audit.append(tx, { actor: actor.name, action: 'grant.reveal-refused', subject: id, details: { code, ...earlier, ...tokenUsed(actor) } }),
  );
}

async function unsealCredential(ctx: ModuleContext, tx: StoreTx, { grant, account }: Case): Promise<RevealedCredential> {
  // A dual-control secret was released into the grant when the quorum was reached.
  if (grant.mode === 'prestaged' && !account.quorum) return { username: account.principal, password: openAccountSecret(ctx, account) };
  const credential = await openGrantCredential(ctx, tx, grant.id);
  if (credential === undefined) throw new AppError('integrity', `grant ${grant.id} has no credential to reveal`);
  return credential;
}
