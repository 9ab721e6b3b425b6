import type { GrantId } from '../../domain/index.js';
import { isAppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from '../grants/grant-store.js';

/**
 * How long after an expiry its revoke job waits when the expiry's own step revokes (issue 13):
 * the step normally finishes within milliseconds and withdraws the job, so a burst of expiries
 * does not also claim, read and complete a backstop for each grant. If the step fails, or the
 * process dies after the expiry committed, the job runs this much later — the first retry.
 */
export const revokeBackstopMs = 1_000;

/** What the expiry left to do: revoke now (in this step), leave it to the revoke job, or nothing. */
export type AfterExpiry = 'revoke-now' | 'revoke-job' | 'nothing';

/**
 * TTL reached: start revocation. An interrupted activation is cleaned up the same way; a quorum
 * request whose window closed expires. Idempotent: a repeated or early job does nothing.
 *
 * The expire transition and its revoke job commit together, so the job is the durable
 * backstop; `expireAndRevoke` then revokes at once in the same step (issue 13), and the job is
 * due `revokeBackstopMs` later (withdrawn when that step's revocation is verified).
 */
export async function expireGrant(ctx: ModuleContext, grantId: GrantId): Promise<AfterExpiry> {
  const after = await ctx.store.transaction(async (tx): Promise<AfterExpiry> => {
    const grant = await loadGrant(tx, grantId);
    // A later expiry job exists when the TTL restarted at the quorum release: the grant's own expiry decides.
    if (ctx.clock.now().getTime() < grant.expiresAt.getTime()) return 'nothing';
    if (grant.state === 'awaiting-quorum') {
      // The custodians did not gather in time: the request expires; nothing was enabled.
      await applyEvent(ctx, tx, grant, { type: 'quorum-expired' }, 'system', { presented: await tx.pendingShares.drop(grant.id) });
      return 'nothing';
    }
    // issue 11 (H1): nobody decided in time; nothing was enabled.
    if (grant.state === 'awaiting-approval') {
      await applyEvent(ctx, tx, grant, { type: 'approval-expired' }, 'system');
      return 'nothing';
    }
    let after: AfterExpiry;
    if (grant.state === 'active') {
      await applyEvent(ctx, tx, grant, { type: 'expire' }, 'system');
      after = 'revoke-now';
    } else if (grant.state === 'requested') {
      // A released grant still being enabled at its expiry: fail it, and undo whatever the enable did.
      await applyEvent(ctx, tx, grant, { type: 'activation-failed', reason: 'activation was interrupted' }, 'system');
      after = 'revoke-job';
    } else return 'nothing';
    const now = ctx.clock.now().getTime();
    await tx.jobs.schedule({ kind: 'revoke', grantId: grant.id, dueAt: new Date(after === 'revoke-now' ? now + revokeBackstopMs : now) });
    return after;
  });
  if (after === 'revoke-job') ctx.wake();
  return after;
}

/**
 * The expire job: expires the grant and, when that left it `revoking`, disables the credential
 * in the same step instead of queueing it behind every other expiry of a burst.
 *
 * Why this is safe with the revoke job claimable by others meanwhile (another slot, another
 * instance): revocation of a `revoking` grant only disables, ends sessions and inspects — all
 * idempotent on the target — and records `revocation-verified` with a compare-and-set on the
 * state, so of two concurrent runs one records and the other finds the grant moved on and
 * records nothing. The rotation that follows is a job of its own, scheduled only by the run
 * that recorded, and fenced by its own lease: two workers can never both rotate. A failed
 * activation (`revoke-job`) is not revoked in step, because its cleanup may rotate a released
 * dual-control secret away: that stays with the revoke job and its lease, as before.
 *
 * If the in-step revocation fails (target down), the expiry stands and the revoke job retries
 * with backoff exactly as it would have. We do not wake the scheduler before the in-step run,
 * so in the common case the revoke job is claimed after it and finds nothing to do.
 */
export async function expireAndRevoke(ctx: ModuleContext, grantId: GrantId, revoke: (grantId: GrantId) => Promise<void>): Promise<void> {
  if ((await expireGrant(ctx, grantId)) !== 'revoke-now') return;
  try {
    await revoke(grantId);
  } catch (error) {
    ctx.log.warn(
      { grant: grantId, err: isAppError(error) ? error.message : 'unexpected error' },
      'revocation at expiry did not complete; the revoke job retries it',
    );
    ctx.wake();
  }
}
