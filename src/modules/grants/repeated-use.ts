import { formatDuration, grantStates, type Grant, type GrantState, type Policy } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, StoreTx } from '../../ports/index.js';

/** Issue 11 (H2): what a new invocation records about the account's earlier cases. */
export interface RepeatedUse {
  /** Set when an admin invoked past `requireCertifiedPrevious`: the grant is marked with it. */
  readonly overrideReason?: string;
  /** The uncertified case the override went past. */
  readonly overridden?: Grant;
}

/** How far back the earlier cases of an account are read (newest first). */
const LOOKBACK = 50;
/** Ended without ever giving access: nothing to cool down from, nothing to certify. */
const neverActive: readonly GrantState[] = ['cancelled', 'denied', 'expired', 'failed'];
/**
 * The states of cases that gave (or may still give) access, filtered in SQL: a burst of
 * cancelled or denied requests must not push the uncertified case out of the window read.
 */
const gaveAccess: readonly GrantState[] = grantStates.filter((state) => !neverActive.includes(state));

/**
 * Issue 11 (H2): the rules about an account's earlier cases, checked by `invoke` under the
 * account lock. `cooldown`: after a case on the account ends (its access ended: expiry, end,
 * incident close), a new invocation waits that long. `requireCertifiedPrevious`: while the
 * account's last case that gave access is not certified (closed), a new invocation is refused
 * unless an admin gives an override reason (authorized by the caller as `grant.override`).
 * Drills are not cases here: they certify themselves and start no cooldown.
 * Each refusal names its rule and says what to do.
 */
export async function checkRepeatedUse(tx: StoreTx, policy: Policy, account: AccountRecord, now: Date, overrideReason: string | undefined): Promise<RepeatedUse> {
  if (policy.cooldownMs === undefined && policy.requireCertifiedPrevious !== true) return {};
  const earlier = await tx.grants.list({ accountId: account.id, drill: false, states: gaveAccess, limit: LOOKBACK });
  let cooling: string | undefined;
  if (policy.cooldownMs !== undefined) {
    const lastEnd = Math.max(0, ...earlier.map((g) => g.endedAt?.getTime() ?? 0));
    const until = lastEnd + policy.cooldownMs;
    if (lastEnd > 0 && now.getTime() < until) {
      cooling = `cooldown: policy "${policy.name}" requires ${formatDuration(policy.cooldownMs)} between cases on account "${account.name}"; its last case ended at ${new Date(lastEnd).toISOString()}, invoke again after ${new Date(until).toISOString()}`;
    }
  }
  // Both may fail at once (the contract's policy has both): requireCertifiedPrevious is named first, the cooldown after it.
  const last = earlier[0];
  let overridden: RepeatedUse = {};
  if (policy.requireCertifiedPrevious === true && last !== undefined && last.state !== 'closed') {
    if (overrideReason === undefined || overrideReason.trim().length === 0) {
      // Still live on a pre-staged account: working on it together is what `join` is for.
      const live = last.state === 'active' && last.mode === 'prestaged' && !account.quorum ? `; to work on the live case, join it: \`breakglass join ${last.id} --reason …\`` : '';
      throw new AppError(
        'policy_violation',
        `requireCertifiedPrevious: the last case on account "${account.name}" (grant ${last.id}, ${last.state}) is not certified; have it certified (\`breakglass certify ${last.id}\`), or an admin invokes with --override-reason${live}${cooling === undefined ? '' : `. Also ${cooling}`}`,
      );
    }
    overridden = { overrideReason, overridden: last };
  }
  // An override goes past requireCertifiedPrevious only, never past the cooldown.
  if (cooling !== undefined) throw new AppError('policy_violation', cooling);
  return overridden;
}
