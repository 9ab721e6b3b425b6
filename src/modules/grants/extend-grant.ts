import { authorize, parseDuration, transition, usesAccountNow, type Actor, type ExtensionLimits, type Grant, type GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountInspection, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { ephemeralOps, prestagedOps, withConnector } from '../targets.js';
import { applyEvent, loadCase, loadGrant, type Case } from './grant-store.js';

export interface ExtendInput {
  /** How much longer, e.g. `15m`. */
  readonly by: string;
  readonly reason: string;
}

/** A native expiry within this of the one asked for is the one asked for (targets round to the second). */
const EXPIRY_SLACK_MS = 1_000;

/**
 * Issue 11 (H2): extends an active grant by `by`, within its policy's `maxExtensions` and
 * `maxTotal` (the rule is the lifecycle's `extend` event). The native expiry on the target moves
 * first and is verified by inspecting the target; only then is the extension recorded (audited
 * `grant.extended`) and a new expiry job written. The old expiry job finds the later expiry and
 * does nothing. If the target cannot be moved, nothing is recorded and the grant ends as it would have.
 */
export async function extendGrant(ctx: ModuleContext, actor: Actor, id: GrantId, input: ExtendInput): Promise<Grant> {
  const byMs = parseDuration(input.by);
  if (byMs === undefined) throw new AppError('validation', `"${input.by}" is not a duration such as 10m or 1h`, { path: 'by' });
  if (input.reason.trim().length === 0) throw new AppError('validation', 'an extension needs a reason (--reason)', { path: 'reason' });
  const { c, limits, expiresAt } = await ctx.store.transaction(async (tx) => {
    const c = await loadCase(tx, id);
    authorize(actor, 'grant.extend', { grant: c.grant });
    if (c.grant.drill === true) throw new AppError('invalid_transition', `grant ${id} is a drill; drills are not extended`);
    const limits = await limitsOf(tx, c);
    // Checked before the target is touched: a refused extension changes nothing anywhere.
    const { expiresAt } = transition(c.grant, { type: 'extend', byMs, limits }, ctx.clock.now());
    return { c, limits, expiresAt };
  });
  const inspection = await moveNativeExpiry(ctx, c, expiresAt);
  const outcome = await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, id);
    // Ended, expired or extended by someone else while the target was busy: record nothing.
    if (current.state !== 'active' || current.expiresAt.getTime() !== c.grant.expiresAt.getTime()) return { current, extended: undefined };
    const extended = await applyEvent(ctx, tx, current, { type: 'extend', byMs, limits }, actor, {
      by: input.by,
      byMs,
      reason: input.reason,
      previousExpiresAt: current.expiresAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      count: (current.extensions ?? 0) + 1,
      ...(limits.maxExtensions === undefined ? {} : { maxExtensions: limits.maxExtensions }),
      ...(limits.maxTotalMs === undefined ? {} : { maxTotalMs: limits.maxTotalMs }),
      target: c.target.name,
      ...(inspection.validUntil === undefined ? {} : { validUntil: inspection.validUntil.toISOString() }),
    });
    await tx.jobs.schedule({ kind: 'expire', grantId: id, dueAt: extended.expiresAt });
    return { current, extended };
  });
  ctx.wake();
  if (outcome.extended) return outcome.extended;
  await undoLateEnable(ctx, c, outcome.current);
  throw new AppError('conflict', `grant ${id} is ${outcome.current.state} now (it changed while the target was updated); nothing was extended`);
}

async function limitsOf(tx: StoreTx, { account }: Case): Promise<ExtensionLimits> {
  const policy = await tx.catalog.findPolicyById(account.policyId);
  if (!policy) throw new AppError('not_found', `policy of account "${account.name}" not found`);
  return { policy: policy.name, maxTtlMs: policy.maxTtlMs, maxExtensions: policy.maxExtensions, maxTotalMs: policy.maxTotalMs };
}

/** Re-enables (pre-staged) or re-dates (ephemeral) the credential with the new expiry, and inspects the target to verify it. */
async function moveNativeExpiry(ctx: ModuleContext, { grant, account, target }: Case, validUntil: Date): Promise<AccountInspection> {
  return withConnector(ctx, target, async (connector) => {
    let inspection: AccountInspection;
    if (grant.mode === 'prestaged') {
      const ops = prestagedOps(connector, target);
      await ops.enable(account.principal, validUntil);
      inspection = await ops.inspect(account.principal);
    } else {
      const ops = ephemeralOps(connector, target);
      if (!ops.extendIssued) throw new AppError('target_error', `targets of type ${target.type} cannot extend an ephemeral credential; end the grant and invoke again`);
      await ops.extendIssued({ grantId: grant.id, spec: account.spec, validUntil });
      inspection = await ops.inspectIssued({ grantId: grant.id, spec: account.spec });
    }
    const dated = !connector.capabilities.supportsNativeExpiry || (inspection.validUntil !== undefined && Math.abs(inspection.validUntil.getTime() - validUntil.getTime()) <= EXPIRY_SLACK_MS);
    if (!inspection.exists || !inspection.canLogin || !dated) {
      throw new AppError(
        'target_error',
        `"${target.name}" did not confirm the new expiry of grant ${grant.id} (canLogin=${inspection.canLogin}, validUntil=${inspection.validUntil?.toISOString() ?? 'none'}); the grant keeps its expiry`,
      );
    }
    return inspection;
  });
}

/**
 * The grant ended while its pre-staged account was being re-enabled: revocation may already have
 * disabled it, and the enable came after. Disable again unless a newer grant uses the account now.
 * (Ephemeral: revocation drops the credential itself; a late re-date of a dropped role fails.)
 */
async function undoLateEnable(ctx: ModuleContext, c: Case, current: Grant): Promise<void> {
  if (c.grant.mode !== 'prestaged' || current.state === 'active') return;
  const holders = await ctx.store.transaction((tx) => tx.grants.holdingAccount(c.account.id));
  if (holders.some((other) => other.id !== current.id && usesAccountNow(other))) return;
  // Still revoking: its revocation job disables (and verifies) anyway.
  if (current.state === 'revoking') return;
  await withConnector(ctx, c.target, (connector) => prestagedOps(connector, c.target).disable(c.account.principal));
}
