import { combineCustodianShares, decodeShare, openWithPrivateKey, shareFingerprint, type ShareEnvelope } from '../../crypto/index.js';
import { asGrantId, authorize, tokenUsed, type Actor, type Grant, type GrantId } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { CustodianKeyRecord, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from '../grants/activate-grant.js';
import { sealGrantCredential } from '../grants/grant-credential.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';
import { aad } from '../vault/vault.js';
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
 * Shares are held in the store, sealed under the root key, so a share presented to one instance
 * counts wherever the next one arrives. One transaction holds the share, writes its audit event
 * and, when it is the k-th, releases: a share counts only if its audit event commits, and with
 * the grant row locked while it is counted, exactly one presentation sees the threshold.
 */
export async function submitShare(ctx: ModuleContext, actor: Actor, id: string, shareText: string): Promise<ShareReceipt> {
  const grantId = asGrantId(id);
  let exists = false;
  let c: ShareContext;
  let envelope: ShareEnvelope;
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
  } catch (error) {
    // A try on a case that is there is recorded (even when the actor was told "not found"); one on no case at all is not.
    if (error instanceof AppError && (exists || error.code !== 'not_found')) await refused(ctx, actor, grantId, error);
    throw error;
  }
  const threshold = c.key.threshold;
  let counted: { grant: Grant; presented: number; released: boolean };
  try {
    counted = await ctx.store.transaction(async (tx) => {
      const presented = await holdShare(ctx, tx, c, actor, envelope.share);
      await ctx.audit.append(tx, { actor: actor.name, action: 'grant.share-presented', subject: grantId, details: { custodian: actor.name, presented, threshold, ...tokenUsed(actor) } });
      if (presented < threshold) return { grant: c.grant, presented, released: false };
      return { grant: await release(ctx, tx, c), presented, released: true };
    });
  } catch (error) {
    // Nothing of this presentation stays: the share is not held. A refusal is on the record (an audit failure cannot be).
    if (error instanceof AppError && error.code !== 'audit_failed') await refused(ctx, actor, grantId, error);
    throw error;
  } finally {
    envelope.share.fill(0);
  }
  const { presented } = counted;
  if (!counted.released) return { grant: counted.grant, presented, threshold };
  return { grant: await activateGrant(ctx, { ...c, grant: counted.grant }), presented, threshold };
}

async function refused(ctx: ModuleContext, actor: Actor, grantId: GrantId, error: AppError): Promise<void> {
  await ctx.store.transaction((tx) => ctx.audit.append(tx, { actor: actor.name, action: 'grant.share-refused', subject: grantId, details: { code: error.code, reason: error.message, ...tokenUsed(actor) } }));
}

/**
 * Holds the share, sealed, once the grant is locked and seen still waiting (another instance
 * may have released, cancelled or expired it since it was read); returns how many are held.
 */
async function holdShare(ctx: ModuleContext, tx: StoreTx, c: ShareContext, actor: Actor, share: Buffer): Promise<number> {
  const { grant, key } = c;
  const held = await tx.pendingShares.hold({
    grantId: grant.id,
    holder: actor.name,
    sealed: ctx.vault.seal(share.toString('base64'), aad.pendingShare(grant.id, actor.name, key.generation)),
    presentedAt: ctx.clock.now(),
  });
  checkWaiting(ctx, await loadGrant(tx, grant.id));
  if (held === undefined) throw new AppError('conflict', `${actor.name} already presented a share for grant ${grant.id}`);
  return held;
}

function checkWaiting(ctx: ModuleContext, grant: Grant): void {
  if (grant.state !== 'awaiting-quorum' || ctx.clock.now().getTime() >= grant.expiresAt.getTime()) {
    throw new AppError('invalid_transition', `grant ${grant.id} is ${grant.state}; it no longer takes shares`);
  }
}

/** The share itself, from an actor already authorized for the case. */
function checkShare(ctx: ModuleContext, c: ShareContext, actor: Actor, shareText: string): ShareEnvelope {
  const { grant, account, key } = c;
  checkWaiting(ctx, grant);
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

/**
 * The k-th share: the account key is rebuilt from the held shares, opens the secret and is
 * wiped; the shares are deleted in the same transaction that records the release.
 */
async function release(ctx: ModuleContext, tx: StoreTx, c: ShareContext): Promise<Grant> {
  const held = await tx.pendingShares.list(c.grant.id);
  const shares: Buffer[] = [];
  let password: string;
  try {
    for (const share of held) shares.push(Buffer.from(ctx.vault.open(share.sealed, aad.pendingShare(c.grant.id, share.holder, c.key.generation)), 'base64'));
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
  const holders = await tx.pendingShares.drop(c.grant.id);
  const current = await loadGrant(tx, c.grant.id);
  const next = await applyEvent(ctx, tx, current, { type: 'quorum-reached' }, 'system', { custodians: holders, threshold: c.key.threshold, kid: c.key.kid });
  await tx.grants.setCredential(next.id, sealed);
  await tx.jobs.schedule({ kind: 'expire', grantId: next.id, dueAt: next.expiresAt });
  return next;
}
