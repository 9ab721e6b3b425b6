import { usesAccountNow, type Grant, type GrantId, type RevocationEvidence } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { SessionsEnded, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { recordAccountSecret } from '../custodians/account-secret.js';
import { releasedPassword } from '../grants/grant-credential.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';
import { ephemeralOps, prestagedOps, withConnector } from '../targets.js';
import { recordOrResync, rotateVerified } from '../secrets/verified-rotation.js';

/**
 * Disables the account (or destroys the ephemeral credential), ends its sessions, and records
 * revocation once the target confirms it. A failed activation is cleaned up the same way, as
 * often as it takes: a late enable after a first cleanup is undone by the next one.
 */
export async function revokeGrant(ctx: ModuleContext, grantId: GrantId): Promise<void> {
  // A revoke job whose work the expiry's own step already did (issue 13) ends here: one read.
  // A read, not a write transaction: it neither waits for the writer nor costs a commit.
  const c = await ctx.store.read(async (tx) => (needsRevocation(await loadGrant(tx, grantId)) ? loadCase(tx, grantId) : undefined));
  if (c === undefined) return;
  const { grant, account, target } = c;
  if (grant.state === 'failed' && grant.mode === 'prestaged' && (await anotherGrantUsesAccount(ctx, grant))) {
    // A newer grant holds the account now; its own revocation disables it, ours must not cut it short.
    return;
  }
  // The connector counts the sessions as it ends them (issue 12, P2): an inspection afterwards
  // can only ever say "none left". The counts are kept before that inspection (issue 12,
  // evidence): a retry after a failed verification finds none left and must not record 0.
  const inspection = await withConnector(ctx, target, async (connector) => {
    if (grant.mode === 'prestaged') {
      const ops = prestagedOps(connector, target);
      await recordSessionsEnded(ctx, grant.id, target.name, await ops.disable(account.principal));
      return ops.inspect(account.principal);
    }
    const ops = ephemeralOps(connector, target);
    await recordSessionsEnded(ctx, grant.id, target.name, await ops.revoke({ grantId: grant.id, spec: account.spec }));
    return ops.inspectIssued({ grantId: grant.id, spec: account.spec });
  });
  // Verified, not assumed: the target itself must say the credential no longer works.
  if ((inspection.exists && inspection.canLogin) || inspection.sessions > 0) {
    throw new AppError('target_unavailable', `the credential of grant ${grant.id} on "${target.name}" is not revoked yet (canLogin=${inspection.canLogin}, sessions=${inspection.sessions})`);
  }
  const retired = grant.state === 'failed' ? await retireReleasedSecret(ctx, c) : {};
  await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, grant.id);
    if (current.state === 'failed') {
      // The account is free again once the cleanup is verified.
      await applyEvent(ctx, tx, current, { type: 'cleanup-verified' }, 'system', { target: target.name, ...retired });
      return;
    }
    if (current.state !== 'revoking') return;
    if (current.mode === 'ephemeral') await tx.grants.setCredential(current.id, undefined);
    const revocation = revocationEvidence(current, inspection.sessions);
    const revoked = await applyEvent(ctx, tx, current, { type: 'revocation-verified', revocation }, 'system', {
      target: target.name,
      canLogin: inspection.canLogin,
      sessions: inspection.sessions,
      ...revocation,
      overdueMs: Math.max(0, ctx.clock.now().getTime() - current.expiresAt.getTime()),
    });
    await nextAfterRevocation(ctx, tx, revoked);
    await withdrawBackstop(tx, current.id);
  });
  ctx.wake();
}

/**
 * The revoke job the expiry left as a backstop has nothing left to do once revocation is
 * verified: withdrawn unless a worker claimed it meanwhile (its fence moved; it then finds the
 * grant revoked and ends with one read). Issue 13: a burst of expiries does not run them all.
 */
async function withdrawBackstop(tx: StoreTx, grantId: GrantId): Promise<void> {
  for (const job of await tx.jobs.findFor(grantId)) {
    if (job.kind === 'revoke' && job.leaseUntil === undefined) await tx.jobs.complete(job);
  }
}

const needsRevocation = (grant: Grant): boolean => grant.state === 'revoking' || grant.state === 'failed';

/**
 * What the revocation did to live sessions, from the connectors' own counts over every attempt
 * (kept by `recordSessionsEnded`; a connector that cannot see sessions reports nothing: 0, as
 * `AccountInspection.sessions` says), and what the verifying inspection still saw.
 */
function revocationEvidence(grant: Grant, sessionsAfter: number): RevocationEvidence {
  return { sessionsBefore: grant.revocation?.sessionsBefore ?? 0, sessionsEnded: grant.revocation?.sessionsEnded ?? 0, sessionsAfter };
}

// issue 12 (evidence): an attempt's counts are kept as soon as the target answered.
/**
 * Adds what this attempt's disable/revoke found and ended to the grant (`sessions-ended`, with
 * its audit event), before the verification that may still fail: the retry it leads to finds
 * the sessions gone. Nothing to add (no count, or none seen) writes nothing; a grant that is not
 * revoking any more (a failed activation's cleanup, or another instance finished) neither.
 */
async function recordSessionsEnded(ctx: ModuleContext, grantId: GrantId, targetName: string, ended: SessionsEnded | void): Promise<void> {
  if (ended === undefined || (ended.sessionsBefore === 0 && ended.sessionsEnded === 0)) return;
  await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, grantId);
    if (current.state !== 'revoking') return;
    const { sessionsBefore, sessionsEnded } = ended;
    await applyEvent(ctx, tx, current, { type: 'sessions-ended', sessionsBefore, sessionsEnded }, 'system', { target: targetName, sessionsBefore, sessionsEnded });
  });
}

async function anotherGrantUsesAccount(ctx: ModuleContext, grant: Grant): Promise<boolean> {
  const holding = await ctx.store.transaction((tx) => tx.grants.holdingAccount(grant.accountId));
  return holding.some((other) => other.id !== grant.id && usesAccountNow(other));
}

/**
 * A dual-control secret released into a grant whose activation then failed: the server holds
 * it under the root key, so it must not survive — rotate it away, as after any use.
 */
async function retireReleasedSecret(ctx: ModuleContext, c: Case): Promise<Record<string, unknown>> {
  if (!c.account.quorum || c.grant.mode !== 'prestaged') return {};
  return ctx.accountLocks.run(c.account.id, async () => {
    const { account, target } = await ctx.store.transaction((tx) => loadCase(tx, c.grant.id));
    const released = await ctx.store.transaction((tx) => releasedPassword(ctx, tx, c.grant.id));
    if (released === undefined) return {};
    const newSecret = await rotateVerified(ctx, account, target, released);
    let version: number | undefined;
    await recordOrResync(
      ctx,
      account.id,
      newSecret,
      () =>
        ctx.store.transaction(async (tx) => {
          version = await recordAccountSecret(ctx, tx, account, newSecret);
          await tx.grants.setCredential(c.grant.id, undefined);
          return true;
        }),
      c.grant.id,
    );
    return { rotatedReleasedSecret: true, ...(version === undefined ? {} : { secretVersion: version }) };
  });
}

async function nextAfterRevocation(ctx: ModuleContext, tx: StoreTx, grant: Grant): Promise<void> {
  if (grant.mode === 'prestaged') {
    await applyEvent(ctx, tx, grant, { type: 'rotation-started' }, 'system');
    await tx.jobs.schedule({ kind: 'rotate', grantId: grant.id, dueAt: ctx.clock.now() });
  } else {
    await applyEvent(ctx, tx, grant, { type: 'certification-requested' }, 'system');
  }
}
