/**
 * What one scan sees on the targets, before anything is recorded: the observations of each
 * account and which (kind, subject) pairs it was able to check at all. A target that cannot be
 * reached leaves its pairs unchecked, so its open findings stay open rather than "resolve".
 */
import { usesAccountNow, type Grant } from '../../domain/index.js';
import type { AccountRecord, DriftKind, PrestagedOperations, TargetRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { openAccountSecret, withConnector } from '../targets.js';

export interface Observation {
  readonly account: string;
  readonly kind: DriftKind;
  readonly subject: string;
  readonly detail: string;
  /** Set when the scan fixed it (autoRemediate) and the target confirmed the fix. */
  readonly remediated?: { readonly action: string };
}

export interface AccountScan {
  readonly observations: Observation[];
  /** `kind|subject` pairs this scan checked (seen or not). */
  readonly checked: Set<string>;
  readonly error?: string;
}

export const pairKey = (kind: DriftKind, subject: string): string => `${kind}|${subject}`;

const message = (error: unknown): string => (error instanceof Error ? error.message : 'unknown error');

/**
 * The grants holding the account, read *after* the target was inspected: a grant is committed
 * before its activation enables the login, so an enable the inspection saw is explained here.
 */
const holdingNow = (ctx: ModuleContext, account: AccountRecord): Promise<Grant[]> => ctx.store.transaction((tx) => tx.grants.holdingAccount(account.id));

/**
 * A staged pre-staged account: enabled or in use with no grant holding it, and whether its
 * stored secret still verifies (not for dual-control accounts: their secret is sealed to the
 * custodians). The secret check (`verify`) is a real authentication on the target — one per
 * account per scan, only while no grant holds the account, under the account's lock and only
 * if the secret's version did not move meanwhile, so a rotation in flight is not taken for drift.
 */
export async function scanPrestaged(ctx: ModuleContext, account: AccountRecord, target: TargetRecord): Promise<AccountScan> {
  const checked = new Set<string>();
  const observations: Observation[] = [];
  // Dual control with offline access: the account logs in between grants on purpose (the offline kit).
  const offline = account.quorum?.offlineAccess === true;
  const subject = account.principal;
  try {
    await withConnector(ctx, target, async (connector) => {
      const ops = connector.prestaged;
      // Not staged yet: the login may be someone else's (unadopted); staging reports it, the scan must not touch it.
      if (!ops || account.staging !== 'staged') return;
      const seen = await ops.inspect(account.principal, account.spec);
      // issue 12 (P1): privileges differ from the declared ones, whether or not a case holds the account.
      if (seen.exists && seen.privilegeDifferences !== undefined) {
        checked.add(pairKey('privileges-differ', subject));
        if (seen.privilegeDifferences.length > 0) observations.push({ account: account.name, kind: 'privileges-differ', subject, detail: `${subject} on "${target.name}" differs from its declared privileges: ${seen.privilegeDifferences.join('; ')}` });
      }
      if (!seen.exists || (await holdingNow(ctx, account)).length > 0) return;
      const enabled = seen.canLogin && !offline;
      if (enabled || seen.sessions > 0) {
        const outcome = account.autoRemediate === true && !offline ? await disableOutsideCase(ctx, ops, account) : 'left';
        if (outcome === 'case-started') return;
        const fix = outcome === 'fixed' ? { remediated: { action: 'disabled the login and ended its sessions' } } : {};
        if (enabled) observations.push({ account: account.name, kind: 'enabled-outside-case', subject, detail: `${subject} on "${target.name}" can log in while no case holds the account`, ...fix });
        if (seen.sessions > 0) observations.push({ account: account.name, kind: 'sessions-outside-case', subject, detail: `${subject} on "${target.name}" has ${seen.sessions} live session(s) while no case holds the account`, ...fix });
      }
      checked.add(pairKey('enabled-outside-case', subject)).add(pairKey('sessions-outside-case', subject));
      // A dual-control secret is sealed to the custodians: the server cannot open it to check it.
      if (account.quorum || account.secretSealed === undefined) return;
      const changed = await ctx.accountLocks.run(account.id, async () => {
        const unchanged = async () => (await ctx.store.transaction((tx) => tx.catalog.findAccountById(account.id)))?.secretVersion === account.secretVersion;
        if (!(await unchanged())) return undefined; // rotated meanwhile: the next scan checks the new secret
        const rejected = (await ops.verify({ username: account.principal, password: openAccountSecret(ctx, account) })) === 'rejected';
        // A case or a rotation that started while we checked explains a rejection: no verdict this time.
        return (await holdingNow(ctx, account)).length === 0 && (await unchanged()) ? rejected : undefined;
      });
      if (changed === undefined) return;
      checked.add(pairKey('secret-changed', subject));
      if (changed) observations.push({ account: account.name, kind: 'secret-changed', subject, detail: `the stored secret of ${subject} on "${target.name}" no longer verifies: changed outside Breakglass` });
    });
    return { observations, checked };
  } catch (error) {
    return { observations, checked, error: message(error) };
  }
}

/**
 * autoRemediate: disables the login and ends its sessions, then inspects again. A grant invoked
 * in the milliseconds between the check and the disable must not be cut off: if one uses the
 * account afterwards, its login is enabled again until its expiry, and the case explains what
 * the scan saw (`case-started`: no finding).
 */
async function disableOutsideCase(ctx: ModuleContext, ops: PrestagedOperations, account: AccountRecord): Promise<'fixed' | 'left' | 'case-started'> {
  if ((await holdingNow(ctx, account)).length > 0) return 'case-started';
  await ops.disable(account.principal);
  const arrived = (await holdingNow(ctx, account)).find(usesAccountNow);
  if (arrived) {
    ctx.log.warn({ account: account.name, grant: arrived.id }, 'drift remediation met a new grant: its login is enabled again');
    await ops.enable(account.principal, arrived.expiresAt);
    return 'case-started';
  }
  const after = await ops.inspect(account.principal);
  return !after.canLogin && after.sessions === 0 ? 'fixed' : 'left';
}

/**
 * SSH certificates cannot be deleted, only revoked in the KRL: what "still there" means for
 * them is a certificate still within its validity (the grant's `expiresAt`, set at issue) whose
 * serial the KRL does not list. One that expired is refused by every sshd, KRL or not.
 */
const certificateTypes = new Set(['ssh']);

/** The ephemeral credentials of ended cases of one account: each should be gone from the target (or, for SSH, in the KRL). */
export async function scanLeftovers(ctx: ModuleContext, account: AccountRecord, target: TargetRecord, ended: readonly Grant[]): Promise<AccountScan> {
  const checked = new Set<string>();
  const observations: Observation[] = [];
  const certificates = certificateTypes.has(target.type);
  const kind: DriftKind = certificates ? 'certificate-not-in-krl' : 'ephemeral-leftover';
  const now = ctx.clock.now().getTime();
  try {
    await withConnector(ctx, target, async (connector) => {
      const ops = connector.ephemeral;
      if (!ops) return;
      for (const grant of ended) {
        if (certificates && grant.expiresAt.getTime() <= now) continue;
        const request = { grantId: grant.id, spec: account.spec };
        const seen = await ops.inspectIssued(request);
        checked.add(pairKey(kind, grant.id));
        if (!seen.exists) continue;
        let remediated: Observation['remediated'];
        if (account.autoRemediate === true) {
          await ops.revoke(request);
          if (!(await ops.inspectIssued(request)).exists) remediated = { action: certificates ? 'published the certificate in the KRL' : 'dropped the leftover credential' };
        }
        const detail = certificates
          ? `the certificate of ${grant.id} (case ended) is valid until ${grant.expiresAt.toISOString()} and missing from the KRL of "${target.name}"`
          : `the ephemeral credential of ${grant.id} (case ended) still exists on "${target.name}"${seen.canLogin ? ' and can log in' : ''}`;
        observations.push({ account: account.name, kind, subject: grant.id, detail, ...(remediated ? { remediated } : {}) });
      }
    });
    return { observations, checked };
  } catch (error) {
    return { observations, checked, error: message(error) };
  }
}
