import { combineCustodianShares, decodeShare, openWithPrivateKey, shareFingerprint, type ShareEnvelope } from '../../crypto/index.js';
import { asGrantId, authorize, tokenUsed, type Actor, type Grant } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { CustodianKeyRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from '../grants/activate-grant.js';
import { sealGrantCredential } from '../grants/grant-credential.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';
import { custodianSecretAad } from './account-secret.js';

export interface ShareReceipt {
  readonly grant: Grant;
  readonly presented: number;
  readonly threshold: number;
}

interface ShareContext extends Case {
  readonly key: CustodianKeyRecord;
  readonly secretAad: string;
}

/**
 * One custodian presents their share for a grant waiting for its quorum. A share that is not
 * theirs, not of this ceremony, corrupt, or presented twice is refused (and audited) and counts
 * for nothing. At the k-th share the account key is rebuilt in memory, opens the sealed secret,
 * and is wiped; the grant is then enabled like any other. The chain records who contributed,
 * never a share.
 *
 * Shares arriving together: each is held first, counted only after its audit event commits,
 * and only the call whose count reaches the threshold releases (the pool's counts are taken in
 * one synchronous step each, so exactly one call sees the threshold).
 */
export async function submitShare(ctx: ModuleContext, actor: Actor, id: string, shareText: string): Promise<ShareReceipt> {
  const grantId = asGrantId(id);
  let exists = false;
  let c: ShareContext;
  let envelope: ShareEnvelope;
  let held: number;
  try {
    c = await ctx.store.transaction(async (tx): Promise<ShareContext> => {
      const found = await loadCase(tx, grantId);
      exists = true;
      // Before anything tells what the case is: someone who may not see it learns nothing, not even its state.
      authorize(actor, 'custodian.share', { grant: found.grant, account: { name: found.account.name, custodians: found.account.quorum?.custodians ?? [] } });
      const key = found.account.quorum ? await tx.catalog.getCustodianKey(found.account.id) : undefined;
      if (!key) throw new AppError('invalid_transition', `grant ${grantId} does not wait for custodians`);
      return { ...found, key, secretAad: await custodianSecretAad(tx, found.account, found.account.secretVersion) };
    });
    envelope = checkShare(ctx, c, actor, shareText);
    try {
      held = ctx.quorum.add(grantId, actor.name, envelope.share);
    } finally {
      envelope.share.fill(0);
    }
  } catch (error) {
    // A try on a case that is there is recorded (even when the actor was told "not found"); one on no case at all is not.
    if (error instanceof AppError && (exists || error.code !== 'not_found')) {
      await ctx.store.transaction((tx) => ctx.audit.append(tx, { actor: actor.name, action: 'grant.share-refused', subject: grantId, details: { code: error.code, reason: error.message, ...tokenUsed(actor) } }));
    }
    throw error;
  }
  const threshold = c.key.threshold;
  try {
    // Audited first: a share whose audit event cannot be written does not count (I2).
    await ctx.store.transaction((tx) =>
      ctx.audit.append(tx, { actor: actor.name, action: 'grant.share-presented', subject: grantId, details: { custodian: actor.name, presented: held, threshold, ...tokenUsed(actor) } }),
    );
  } catch (error) {
    ctx.quorum.remove(grantId, actor.name);
    throw error;
  }
  const presented = ctx.quorum.confirm(grantId, actor.name);
  if (presented !== threshold) return { grant: c.grant, presented, threshold };
  return { grant: await release(ctx, c), presented, threshold };
}

/** The share itself, from an actor already authorized for the case. */
function checkShare(ctx: ModuleContext, c: ShareContext, actor: Actor, shareText: string): ShareEnvelope {
  const { grant, account, key } = c;
  if (grant.state !== 'awaiting-quorum' || ctx.clock.now().getTime() >= grant.expiresAt.getTime()) {
    throw new AppError('invalid_transition', `grant ${grant.id} is ${grant.state}; it no longer takes shares`);
  }
  const envelope = decodeShare(shareText);
  if (envelope.account !== account.name) throw new AppError('validation', `this share is for account "${envelope.account}", not "${account.name}"`, { path: 'share' });
  if (envelope.kid !== key.kid) throw new AppError('validation', `this share is from another key ceremony (${envelope.kid}); account "${account.name}" now uses ${key.kid}`, { path: 'share' });
  if (envelope.holder !== actor.name) throw new AppError('forbidden', `this share was issued to ${envelope.holder}; each custodian presents their own`);
  const issued = key.shares.find((s) => s.holder === actor.name);
  if (!issued || issued.fingerprint !== shareFingerprint(envelope.share)) {
    throw new AppError('validation', 'this share does not match the one issued to you at the ceremony (damaged or altered)', { path: 'share' });
  }
  return envelope;
}

async function release(ctx: ModuleContext, c: ShareContext): Promise<Grant> {
  const holders = ctx.quorum.holders(c.grant.id);
  const shares = ctx.quorum.take(c.grant.id);
  let password: string;
  try {
    const privateKey = await combineCustodianShares(shares, c.key.publicKey);
    try {
      if (c.account.secretSealed === undefined) throw appError.conflict(`account "${c.account.name}" has no staged secret`);
      password = openWithPrivateKey(privateKey, c.account.secretSealed, c.secretAad).toString('utf8');
    } finally {
      privateKey.fill(0);
    }
  } finally {
    for (const share of shares) share.fill(0);
  }
  // Held under the root key until the rotation has proved the old secret dead, then wiped.
  const sealed = sealGrantCredential(ctx, c.grant.id, { username: c.account.principal, password });
  const requested = await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, c.grant.id);
    const next = await applyEvent(ctx, tx, current, { type: 'quorum-reached' }, 'system', { custodians: holders, threshold: c.key.threshold, kid: c.key.kid });
    await tx.grants.setCredential(next.id, sealed);
    await tx.jobs.schedule({ kind: 'expire', grantId: next.id, dueAt: next.expiresAt });
    return next;
  });
  return activateGrant(ctx, { ...c, grant: requested });
}
