import { generatePassword } from '../../crypto/index.js';
import { asGrantId, type Grant } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, JobRecord, StoreTx, TargetRecord } from '../../ports/index.js';
import { sealAccountSecret } from '../custodians/account-secret.js';
import { restoreStandby } from '../custodians/standby.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from '../grants/grant-store.js';
import { ephemeralOps, loadAccountTarget, openAccountSecret, prestagedOps, withConnector } from '../targets.js';
import { aad } from '../vault/vault.js';

/**
 * The back half of a case, run by the durable scheduler. Each handler is idempotent: it reads
 * the grant's state first and does nothing when the step is already done, so a job repeated
 * after a crash is harmless. A handler that throws is retried with backoff for ever; nothing
 * is recorded as revoked or rotated until the target has confirmed it (invariant I1).
 */

/** TTL reached: start revocation. An interrupted activation is cleaned up the same way. */
export async function expireGrant(ctx: ModuleContext, job: JobRecord): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, asGrantId(job.subject));
    if (grant.state === 'awaiting-quorum') {
      // The custodians did not gather in time: the request expires; nothing was enabled.
      if (ctx.clock.now().getTime() < grant.expiresAt.getTime()) return;
      await applyEvent(ctx, tx, grant, { type: 'quorum-expired' }, 'system', { presented: ctx.quorum.holders(grant.id) });
      ctx.quorum.drop(grant.id);
      return;
    }
    if (grant.state === 'active') {
      // A later expiry job exists when the TTL restarted at the quorum release.
      if (ctx.clock.now().getTime() < grant.expiresAt.getTime()) return;
      await applyEvent(ctx, tx, grant, { type: 'expire' }, 'system');
    } else if (grant.state === 'requested') {
      // The quorum window's job may fire while a released grant is being enabled: its own expiry decides.
      if (ctx.clock.now().getTime() < grant.expiresAt.getTime()) return;
      await applyEvent(ctx, tx, grant, { type: 'activation-failed', reason: 'activation was interrupted' }, 'system');
    } else {
      return;
    }
    await tx.jobs.schedule({ kind: 'revoke', subject: grant.id, dueAt: ctx.clock.now() });
  });
  ctx.wake();
}

/** Disables the account, ends its sessions, and records revocation once the target confirms it. */
export async function revokeGrant(ctx: ModuleContext, job: JobRecord): Promise<void> {
  const { grant, account, target } = await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, asGrantId(job.subject));
    const account = await tx.catalog.findAccountById(grant.accountId);
    if (!account) throw new AppError('not_found', `account of grant ${grant.id}`);
    return { grant, account, target: await loadAccountTarget(tx, account) };
  });
  if (grant.state !== 'revoking' && grant.state !== 'failed') return;
  if (grant.state === 'failed' && grant.mode === 'prestaged' && (await accountHasLiveGrant(ctx, grant))) {
    // A newer grant holds the account now; its own revocation disables it, ours must not cut it short.
    return;
  }
  const inspection = await withConnector(ctx, target, async (connector) => {
    if (grant.mode === 'prestaged') {
      const ops = prestagedOps(connector, target);
      await ops.disable(account.principal);
      return ops.inspect(account.principal);
    }
    const ops = ephemeralOps(connector, target);
    await ops.revoke({ grantId: grant.id, spec: account.spec });
    return ops.inspectIssued({ grantId: grant.id, spec: account.spec });
  });
  // Verified, not assumed: the target itself must say the credential no longer works.
  if ((inspection.exists && inspection.canLogin) || inspection.sessions > 0) {
    throw new AppError('target_unavailable', `the credential of grant ${grant.id} on "${target.name}" is not revoked yet (canLogin=${inspection.canLogin}, sessions=${inspection.sessions})`);
  }
  const retired = grant.state === 'failed' ? await retireReleasedSecret(ctx, grant, account, target) : {};
  await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, grant.id);
    if (current.state === 'failed') {
      // revokedAt on a failed grant: its cleanup is verified, the account is free again.
      await tx.grants.update({ ...current, revokedAt: ctx.clock.now() }, 'failed');
      await ctx.audit.append(tx, { actor: 'system', action: 'grant.cleanup-verified', subject: grant.id, details: { target: target.name, ...retired } });
      return;
    }
    if (current.state !== 'revoking') return;
    if (current.mode === 'ephemeral') await tx.grants.setCredential(current.id, undefined);
    const revoked = await applyEvent(ctx, tx, current, { type: 'revocation-verified' }, 'system', {
      target: target.name,
      canLogin: inspection.canLogin,
      sessions: inspection.sessions,
      overdueMs: Math.max(0, ctx.clock.now().getTime() - current.expiresAt.getTime()),
    });
    await nextAfterRevocation(ctx, tx, revoked);
  });
  ctx.wake();
}

async function accountHasLiveGrant(ctx: ModuleContext, grant: Grant): Promise<boolean> {
  const live = await ctx.store.transaction((tx) =>
    tx.grants.list({ accountId: grant.accountId, states: ['requested', 'active', 'revoking', 'revoked', 'rotating'], limit: 1 }),
  );
  return live.length > 0;
}

/**
 * Rotates on the target and proves it: the old secret rejected, the new one accepted. Only a
 * verified new secret goes back on standby for the offline kit. Returns the new secret.
 */
async function rotateVerified(ctx: ModuleContext, account: AccountRecord, target: TargetRecord, oldSecret: string): Promise<string> {
  const newSecret = generatePassword();
  await withConnector(ctx, target, async (connector) => {
    const ops = prestagedOps(connector, target);
    await ops.rotate(account.principal, newSecret);
    const oldVerdict = await ops.verify({ username: account.principal, password: oldSecret });
    const newVerdict = await ops.verify({ username: account.principal, password: newSecret });
    if (oldVerdict !== 'rejected' || newVerdict !== 'accepted') {
      throw new AppError('target_unavailable', `rotation of "${account.principal}" on "${target.name}" not verified (old ${oldVerdict}, new ${newVerdict})`);
    }
    await restoreStandby(ops, account);
  });
  return newSecret;
}

/**
 * A dual-control secret released into a grant whose activation then failed: the server holds
 * it under the root key, so it must not survive — rotate it away, as after any use.
 */
async function retireReleasedSecret(ctx: ModuleContext, grant: Grant, account: AccountRecord, target: TargetRecord): Promise<Record<string, unknown>> {
  if (!account.quorum || grant.mode !== 'prestaged') return {};
  const sealed = await ctx.store.transaction((tx) => tx.grants.getCredential(grant.id));
  if (sealed === undefined) return {};
  const released = (JSON.parse(ctx.vault.open(sealed, aad.grantCredential(grant.id))) as { password: string }).password;
  const newSecret = await rotateVerified(ctx, account, target, released);
  const version = account.secretVersion + 1;
  await ctx.store.transaction(async (tx) => {
    await tx.catalog.setAccountSecret(account.id, await sealAccountSecret(ctx, tx, account, newSecret, version), version);
    await tx.grants.setCredential(grant.id, undefined);
  });
  return { rotatedReleasedSecret: true, secretVersion: version };
}

/**
 * The secret in use before rotation, to prove it is rejected afterwards. A dual-control secret
 * cannot be opened by the server; it was released into the grant at the quorum.
 */
async function previousSecret(ctx: ModuleContext, grant: Grant, account: AccountRecord): Promise<string> {
  if (!account.quorum) return openAccountSecret(ctx, account);
  const sealed = await ctx.store.transaction((tx) => tx.grants.getCredential(grant.id));
  if (sealed === undefined) throw new AppError('integrity', `grant ${grant.id} lost its released secret; rotation cannot prove the old one dead`);
  return (JSON.parse(ctx.vault.open(sealed, aad.grantCredential(grant.id))) as { password: string }).password;
}

async function nextAfterRevocation(ctx: ModuleContext, tx: StoreTx, grant: Grant): Promise<void> {
  if (grant.mode === 'prestaged') {
    await applyEvent(ctx, tx, grant, { type: 'rotation-started' }, 'system');
    await tx.jobs.schedule({ kind: 'rotate', subject: grant.id, dueAt: ctx.clock.now() });
  } else {
    await applyEvent(ctx, tx, grant, { type: 'certification-requested' }, 'system');
  }
}

/**
 * Rotates the pre-staged secret after use and proves it: the old secret is rejected and the
 * new one accepted by the target before the new one is sealed and the grant moves on.
 */
export async function rotateGrant(ctx: ModuleContext, job: JobRecord): Promise<void> {
  const { grant, account, target } = await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, asGrantId(job.subject));
    const account = await tx.catalog.findAccountById(grant.accountId);
    if (!account) throw new AppError('not_found', `account of grant ${grant.id}`);
    return { grant, account, target: await loadAccountTarget(tx, account) };
  });
  if (grant.state !== 'rotating') return;
  const newSecret = await rotateVerified(ctx, account, target, await previousSecret(ctx, grant, account));
  const version = account.secretVersion + 1;
  await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, grant.id);
    if (current.state !== 'rotating') return;
    await tx.catalog.setAccountSecret(account.id, await sealAccountSecret(ctx, tx, account, newSecret, version), version);
    // The released dual-control secret is dead now: wipe it.
    await tx.grants.setCredential(current.id, undefined);
    await applyEvent(ctx, tx, current, { type: 'rotation-verified' }, 'system', {
      target: target.name,
      secretVersion: version,
      oldSecret: 'rejected',
      newSecret: 'accepted',
      standby: account.quorum?.offlineAccess === true,
    });
  });
}
