import { combineCustodianShares, decodeShare, openWithPrivateKey, shareFingerprint, type ShareEnvelope } from '../../crypto/index.js';
import { asGrantId, type Actor, type Grant } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { AccountRecord, CustodianKeyRecord, TargetRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadGrant } from '../grants/grant-store.js';
import { activateGrant } from '../grants/invoke.js';
import { loadAccountTarget } from '../targets.js';
import { custodianSecretAad } from './account-secret.js';
import { aad } from '../vault/vault.js';

export interface ShareReceipt {
  readonly grant: Grant;
  readonly presented: number;
  readonly threshold: number;
}

interface Context {
  secretAad: string;
  grant: Grant;
  account: AccountRecord;
  key: CustodianKeyRecord;
  target: TargetRecord;
}

/**
 * One custodian presents their share for a grant waiting for its quorum. A share that is not
 * theirs, not of this ceremony, corrupt, or presented twice is refused (and audited) and counts
 * for nothing. At the k-th share the account key is rebuilt in memory, opens the sealed secret,
 * and is wiped; the grant is then enabled like any other. The chain records who contributed,
 * never a share.
 */
export async function submitShare(ctx: ModuleContext, actor: Actor, id: string, shareText: string): Promise<ShareReceipt> {
  const grantId = asGrantId(id);
  const c = await ctx.store.transaction(async (tx): Promise<Context> => {
    const grant = await loadGrant(tx, grantId);
    const account = await tx.catalog.findAccountById(grant.accountId);
    const key = account ? await tx.catalog.getCustodianKey(account.id) : undefined;
    if (!account || !account.quorum || !key) throw new AppError('invalid_transition', `grant ${grantId} does not wait for custodians`);
    return { grant, account, key, target: await loadAccountTarget(tx, account), secretAad: await custodianSecretAad(tx, account, account.secretVersion) };
  });
  let envelope: ShareEnvelope;
  try {
    envelope = checkShare(ctx, actor, c, shareText);
  } catch (error) {
    if (error instanceof AppError) {
      await ctx.store.transaction((tx) => ctx.audit.append(tx, { actor: actor.name, action: 'grant.share-refused', subject: grantId, details: { code: error.code, reason: error.message } }));
    }
    throw error;
  }
  // Audited first: a share whose audit event cannot be written does not count (I2).
  const presented = ctx.quorum.holders(grantId).length + 1;
  try {
    await ctx.store.transaction((tx) =>
      ctx.audit.append(tx, { actor: actor.name, action: 'grant.share-presented', subject: grantId, details: { custodian: actor.name, presented, threshold: c.key.threshold } }),
    );
    ctx.quorum.add(grantId, actor.name, envelope.share);
  } finally {
    envelope.share.fill(0);
  }
  if (presented < c.key.threshold) return { grant: c.grant, presented, threshold: c.key.threshold };
  return { grant: await release(ctx, c), presented, threshold: c.key.threshold };
}

function checkShare(ctx: ModuleContext, actor: Actor, c: Context, shareText: string): ShareEnvelope {
  const { grant, account, key } = c;
  if (grant.state !== 'awaiting-quorum' || ctx.clock.now().getTime() >= grant.expiresAt.getTime()) {
    throw new AppError('invalid_transition', `grant ${grant.id} is ${grant.state}; it no longer takes shares`);
  }
  if (!actor.roles.includes('custodian') || !account.quorum?.custodians.includes(actor.name)) throw new AppError('forbidden', `${actor.name} is not a custodian of account "${account.name}"`);
  const envelope = decodeShare(shareText);
  if (envelope.account !== account.name) throw new AppError('validation', `this share is for account "${envelope.account}", not "${account.name}"`, { path: 'share' });
  if (envelope.kid !== key.kid) throw new AppError('validation', `this share is from another key ceremony (${envelope.kid}); account "${account.name}" now uses ${key.kid}`, { path: 'share' });
  if (envelope.holder !== actor.name) throw new AppError('forbidden', `this share was issued to ${envelope.holder}; each custodian presents their own`);
  const issued = key.shares.find((s) => s.holder === actor.name);
  if (!issued || issued.fingerprint !== shareFingerprint(envelope.share)) {
    throw new AppError('validation', 'this share does not match the one issued to you at the ceremony (damaged or altered)', { path: 'share' });
  }
  if (ctx.quorum.has(grant.id, actor.name)) throw new AppError('conflict', `${actor.name} already presented a share for grant ${grant.id}`);
  return envelope;
}

async function release(ctx: ModuleContext, c: Context): Promise<Grant> {
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
  const sealed = ctx.vault.seal(JSON.stringify({ username: c.account.principal, password }), aad.grantCredential(c.grant.id));
  const requested = await ctx.store.transaction(async (tx) => {
    const current = await loadGrant(tx, c.grant.id);
    const next = await applyEvent(ctx, tx, current, { type: 'quorum-reached' }, 'system', { custodians: holders, threshold: c.key.threshold, kid: c.key.kid });
    await tx.grants.setCredential(next.id, sealed);
    await tx.jobs.schedule({ kind: 'expire', subject: next.id, dueAt: next.expiresAt });
    return next;
  });
  return activateGrant(ctx, requested, c.account, c.target);
}
