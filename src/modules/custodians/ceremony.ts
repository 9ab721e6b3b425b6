import { custodianKeyId, encodeShare, generateCustodianKeyPair, sealToPublicKey, shareFingerprint, splitCustodianKey } from '../../crypto/index.js';
import { AppError, appError } from '../../errors/index.js';
import { authorize, type Actor } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';

export interface CeremonyResult {
  readonly account: string;
  readonly kid: string;
  readonly threshold: number;
  /** Each custodian's share, in text form, or encrypted to the custodian's recipient key. */
  readonly shares: Readonly<Record<string, string>>;
  /** Custodians whose share is handed to the admin in plain text (no recipient registered). */
  readonly plaintextFor: string[];
}

/** A share encrypted to a custodian's recipient key: `bgshare1e.<holder>.<sealed>` (opened by `share submit --identity`). */
export const encryptedSharePrefix = 'bgshare1e.';
export const shareRecipientAad = (account: string, holder: string) => `share:${account}:${holder}`;

/**
 * The key ceremony of a dual-control account: a fresh X25519 key pair, the private key split
 * into one Shamir share per custodian, handed out once and wiped. The store keeps the public
 * key and a fingerprint per share — never a share, never the private key. A new ceremony makes
 * the old shares useless, and the account is staged again with a secret sealed to the new key.
 */
export async function runCeremony(ctx: ModuleContext, actor: Actor, accountName: string): Promise<CeremonyResult> {
  authorize(actor, 'custodian.ceremony');
  const { account, recipients } = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(accountName);
    if (!account) throw appError.notFound(`account "${accountName}"`);
    if (!account.quorum) throw new AppError('validation', `account "${accountName}" has no custodian quorum; add approval: { mode: custodians, threshold: k } and custodians`);
    const [live] = await tx.grants.holdingAccount(account.id);
    if (live) throw appError.conflict(`account "${accountName}" is held by grant ${live.id} (${live.state}); hold the ceremony after it is closed`);
    const recipients = new Map<string, string | undefined>();
    for (const name of account.quorum.custodians) recipients.set(name, (await tx.users.findByName(name))?.recipient);
    return { account, recipients };
  });
  const quorum = account.quorum!;
  const pair = generateCustodianKeyPair();
  const kid = custodianKeyId(pair.publicKey);
  let raw: Buffer[];
  try {
    raw = await splitCustodianKey(pair.privateKey, quorum.custodians.length, quorum.threshold);
  } finally {
    pair.privateKey.fill(0);
  }
  const shares: Record<string, string> = {};
  const plaintextFor: string[] = [];
  quorum.custodians.forEach((holder, i) => {
    const text = encodeShare({ kid, account: account.name, holder, threshold: quorum.threshold, total: quorum.custodians.length, share: raw[i]! });
    const recipient = recipients.get(holder);
    if (recipient) {
      const sealed = Buffer.from(sealToPublicKey(recipient, text, shareRecipientAad(account.name, holder))).toString('base64url');
      shares[holder] = `${encryptedSharePrefix}${holder}.${sealed}`;
    }
    else {
      shares[holder] = text;
      plaintextFor.push(holder);
    }
  });
  const fingerprints = quorum.custodians.map((holder, i) => ({ holder, fingerprint: shareFingerprint(raw[i]!) }));
  for (const share of raw) share.fill(0);
  await ctx.store.transaction(async (tx) => {
    await tx.catalog.lockAccount(account.id);
    const [live] = await tx.grants.holdingAccount(account.id);
    if (live) throw appError.conflict(`account "${account.name}" got a live grant ${live.id} during the ceremony; hold it again after the grant is closed`);
    const previous = await tx.catalog.getCustodianKey(account.id);
    await tx.catalog.setCustodianKey({
      accountId: account.id,
      kid,
      publicKey: pair.publicKey,
      threshold: quorum.threshold,
      shares: fingerprints,
      generation: (previous?.generation ?? 0) + 1,
      createdAt: ctx.clock.now(),
    });
    // The secret sealed to the old key cannot be opened with the new shares: stage afresh.
    await tx.catalog.resetStaging(account.id);
    await tx.jobs.schedule({ kind: 'stage', accountId: account.id, dueAt: ctx.clock.now() });
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'custodian.ceremony-held',
      subject: account.name,
      details: {
        kid,
        threshold: quorum.threshold,
        custodians: quorum.custodians,
        generation: (previous?.generation ?? 0) + 1,
        plaintextFor,
        // Which key each share was encrypted to: a recipient swapped by an insider shows here.
        recipients: Object.fromEntries([...recipients].map(([holder, recipient]) => [holder, recipient ?? null])),
        previousKid: previous?.kid,
      },
    });
  });
  ctx.wake();
  return { account: account.name, kid, threshold: quorum.threshold, shares, plaintextFor };
}
