/**
 * issue 12 (P4): shares encrypted to a custodian's registered key (`users[].recipient`) at the
 * ceremony, `bgshare1e.<holder>.<sealed>`. The README's ceremony hands these to `kit export
 * --shares`, so an envelope may carry one; it opens only with that custodian's key file
 * (`breakglass custodian keygen`), given to `kit open --identity`. Messages name files and
 * custodians, never quote a share or a key.
 */
import { custodianKeyId, custodianPublicKey, openWithPrivateKey, sealedKeyId } from '../../crypto/index.js';
import { CliError, exitCodes } from '../exit-codes.js';

/** Same prefix and associated data as the ceremony (src/modules/custodians/ceremony.ts). */
export const encryptedSharePrefix = 'bgshare1e.';
const shareAad = (account: string, holder: string) => `share:${account}:${holder}`;

export interface EncryptedShare {
  readonly holder: string;
  /** The sealed share (JSON from `sealToPublicKey`). */
  readonly sealed: string;
  /** Key id of the custodian key it was sealed to. */
  readonly kid: string;
}

/** A custodian's key file, read for `kit open --identity`. */
export interface IdentityInput {
  readonly source: string;
  readonly text: string;
}

const usage = (message: string, hint?: string) => new CliError(exitCodes.usage, message, hint === undefined ? {} : { hint });

export const isEncryptedShare = (text: string) => text.replace(/\s+/g, '').startsWith(encryptedSharePrefix);

/**
 * Splits `bgshare1e.<holder>.<sealed>`. The holder may contain dots; the sealed part
 * (base64url) never does. Refused, naming `source`, when it is not well formed.
 */
export function parseEncryptedShare(text: string, source: string): EncryptedShare {
  const rest = text.replace(/\s+/g, '').slice(encryptedSharePrefix.length);
  const cut = rest.lastIndexOf('.');
  const holder = rest.slice(0, Math.max(cut, 0));
  const body = rest.slice(cut + 1);
  const sealed = cut > 0 && /^[A-Za-z0-9_-]+$/.test(body) ? Buffer.from(body, 'base64url').toString('utf8') : '';
  const kid = sealedKeyId(sealed);
  if (holder === '' || kid === undefined) throw usage(`${source}: the encrypted share is damaged (a typo?); it should read bgshare1e.<custodian>.<…>`);
  return { holder, sealed, kid };
}

interface Identity {
  readonly source: string;
  readonly key: Buffer;
  readonly kid: string;
}

/** Reads the key files; the caller wipes them with `wipeIdentities`. */
export function loadIdentities(inputs: readonly IdentityInput[]): Identity[] {
  const identities: Identity[] = [];
  for (const input of inputs) {
    const key = Buffer.from(input.text.trim(), 'base64url');
    let kid: string;
    try {
      kid = custodianKeyId(custodianPublicKey(key));
    } catch {
      key.fill(0);
      wipeIdentities(identities);
      throw usage(`${input.source}: not a custodian key file (the file written by \`breakglass custodian keygen --out\`)`);
    }
    identities.push({ source: input.source, key, kid });
  }
  return identities;
}

export function wipeIdentities(identities: readonly Identity[]): void {
  for (const identity of identities) identity.key.fill(0);
}

/**
 * The plain share inside an encrypted one, opened with the identity it was sealed to (found by
 * key id, so the order of `--identity` does not matter). The account is bound in the seal: a
 * share of another account does not open.
 */
export function openEncryptedShare(share: EncryptedShare, account: string, identities: readonly Identity[], source: string): string {
  const identity = identities.find((i) => i.kid === share.kid);
  if (identity === undefined) {
    throw usage(
      `${source}: the share of ${share.holder} is encrypted to ${share.holder}'s key; give ${share.holder}'s key file with --identity`,
      `${share.holder} passes \`--identity FILE\` (from \`breakglass custodian keygen\`), or decrypts it first with \`breakglass custodian decrypt\``,
    );
  }
  try {
    return openWithPrivateKey(identity.key, share.sealed, shareAad(account, share.holder)).toString('utf8');
  } catch {
    throw usage(`${source}: cannot decrypt the share of ${share.holder} with ${identity.source} (a share of another account or custodian, or damaged)`);
  }
}
