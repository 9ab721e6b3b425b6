import { generatePassword } from '../../crypto/index.js';
import type { AccountId, GrantId } from '../../domain/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { AccountRecord, Credential, DetailedVerify, PrestagedOperations, TargetRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { recordAccountSecret } from '../custodians/account-secret.js';
import { restoreStandby } from '../custodians/standby.js';
import { loadTarget } from '../grants/grant-store.js';
import { prestagedOps, withConnector } from '../targets.js';
import { LeaseLost } from '../jobs/job-lease.js';

/**
 * Can this target prove anything about this account's secret? A target that accepts a wrong
 * password (PostgreSQL `trust`, a test LDAP with anonymous binds) can never show an old secret
 * rejected: every rotation would hang unverified. Asked at staging and by `target check`.
 */
export async function assertVerifiable(ops: PrestagedOperations, target: Pick<TargetRecord, 'name' | 'type'>, principal: string): Promise<void> {
  if ((await ops.verify({ username: principal, password: `wrong-${generatePassword()}` })) === 'accepted') {
    throw new AppError('unverifiable', `target "${target.name}" accepts a wrong password for "${principal}", so no rotation or revocation could be proven; ${verifiableHint(target.type)}`);
  }
}

/** What to change on the target so it checks passwords. */
export function verifiableHint(type: string): string {
  return type === 'postgres'
    ? 'require password authentication (scram-sha-256) for this role in pg_hba.conf instead of "trust", reload, and apply again'
    : 'make the target check passwords for this account, then apply again';
}

/**
 * Rotates on the target and proves it: the old secret rejected, the new one accepted. Only a
 * verified new secret goes back on standby for the offline kit. Returns the new secret.
 */
export async function rotateVerified(ctx: ModuleContext, account: AccountRecord, target: TargetRecord, oldSecret: string): Promise<string> {
  return (await rotateWithEvidence(ctx, account, target, oldSecret)).newSecret;
}

// issue 12 (P2): rotation evidence with the server's answer codes.
/** What the target answered for each secret after a rotation; codes only, never server text. */
export interface RotationEvidence {
  readonly oldSecret: { readonly result: 'rejected'; readonly code?: string };
  readonly newSecret: { readonly result: 'accepted'; readonly code?: string };
}

/** `rotateVerified`, also returning what the target answered (for `grant.rotation-verified`). */
export async function rotateWithEvidence(
  ctx: ModuleContext,
  account: AccountRecord,
  target: TargetRecord,
  oldSecret: string,
): Promise<{ newSecret: string; evidence: RotationEvidence }> {
  const newSecret = generatePassword();
  const evidence = await withConnector(ctx, target, async (connector) => {
    const ops = prestagedOps(connector, target);
    await ops.rotate(account.principal, newSecret);
    const old = await verifyWithCode(ops, { username: account.principal, password: oldSecret });
    const fresh = await verifyWithCode(ops, { username: account.principal, password: newSecret });
    const [oldVerdict, newVerdict] = [old.verdict, fresh.verdict];
    if (oldVerdict !== 'rejected' || newVerdict !== 'accepted') {
      // Old and new both accepted: the target likely accepts any password; say so, and how to check.
      const why = oldVerdict === 'accepted' ? `; the target still accepts the old secret — if it accepts any password, ${verifiableHint(target.type)} (breakglass target check ${target.name})` : '';
      throw new AppError('target_unavailable', `rotation of "${account.principal}" on "${target.name}" not verified (old ${oldVerdict}, new ${newVerdict})${why}`);
    }
    await restoreStandby(ops, account);
    return {
      oldSecret: { result: 'rejected' as const, ...(old.code === undefined ? {} : { code: old.code }) },
      newSecret: { result: 'accepted' as const, ...(fresh.code === undefined ? {} : { code: fresh.code }) },
    };
  });
  return { newSecret, evidence };
}

/** The connector's detailed verdict where it has one, else the bare verdict with no code. */
async function verifyWithCode(ops: PrestagedOperations, credential: Credential): Promise<DetailedVerify> {
  if (ops.verifyDetailed) return ops.verifyDetailed(credential);
  return { verdict: await ops.verify(credential), code: undefined };
}

/**
 * Records a secret that was just set on the target: `write` records it (with a compare-and-set
 * on the version) and returns false when the step was already done elsewhere. When another
 * instance recorded a secret first, the target holds ours and the store theirs: the account is
 * rotated once more, from ours, to a secret that is recorded, so the two agree again — unless a
 * grant (other than `ownGrant`) holds the account: its own rotation will make them agree, and
 * rotating now would take the secret from under it. Returns whether `write` recorded ours.
 */
export async function recordOrResync(
  ctx: ModuleContext,
  accountId: AccountId,
  secret: string,
  write: () => Promise<boolean>,
  ownGrant?: GrantId,
): Promise<boolean> {
  let recorded: boolean;
  try {
    recorded = await write();
  } catch (error) {
    // Another writer won (conflict), or our job's lease passed to another worker (LeaseLost):
    // either way our secret is on the target and not in the store.
    const lost = (isAppError(error) && error.code === 'conflict') || error instanceof LeaseLost;
    if (!lost) throw error;
    recorded = false;
  }
  if (!recorded) await resync(ctx, accountId, secret, ownGrant);
  return recorded;
}

async function resync(ctx: ModuleContext, accountId: AccountId, stale: string, ownGrant: GrantId | undefined): Promise<void> {
  const found = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountById(accountId);
    const holders = (await tx.grants.holdingAccount(accountId)).filter((g) => g.id !== ownGrant);
    if (!account || holders.length > 0) return undefined;
    return { account, target: await loadTarget(tx, account) };
  });
  if (!found) {
    ctx.log.warn({ account: accountId }, 'another instance recorded this account\'s secret first; a grant holds the account, its rotation will resynchronise it');
    return;
  }
  const fresh = await rotateVerified(ctx, found.account, found.target, stale);
  await ctx.store.transaction(async (tx) => {
    const version = await recordAccountSecret(ctx, tx, found.account, fresh);
    await ctx.audit.append(tx, {
      actor: 'system',
      action: 'account.secret-resynchronised',
      subject: found.account.name,
      details: { target: found.target.name, principal: found.account.principal, secretVersion: version },
    });
  });
}
