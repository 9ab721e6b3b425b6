/**
 * Opening a kit offline (DESIGN.md §3): no server, no database. Each share file is checked
 * against the kit before it counts (account, ceremony, custodian fingerprint, duplicates), so a
 * wrong share gets a clear refusal naming its file instead of a vague "cannot open". Then k
 * shares rebuild the account key, the key opens the sealed credential and is wiped.
 */
import { combineCustodianShares, decodeShare, kitBinding, openWithPrivateKey, shareFingerprint, type ShareEnvelope } from '../../crypto/index.js';
import { isAppError } from '../../errors/index.js';
import type { KitDocument } from '../../api/index.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { isEncryptedShare, loadIdentities, openEncryptedShare, parseEncryptedShare, wipeIdentities, type IdentityInput } from './kit-encrypted-share.js';

/** A share as read from one file; `source` names it in messages (never the share itself). */
export interface ShareInput {
  readonly source: string;
  readonly text: string;
}

export interface KitCredential {
  readonly username: string;
  readonly password: string;
}

const usage = (message: string, hint?: string) => new CliError(exitCodes.usage, message, hint === undefined ? {} : { hint });

/** One share per file: a file holding JSON (the ceremony output) or several shares is refused. */
export function parseShareFile(input: ShareInput): ShareEnvelope {
  const compact = input.text.replace(/\s+/g, '');
  if (compact === '') throw usage(`${input.source}: the file is empty; it should hold one share (bgshare1.…)`);
  if (compact.startsWith('{') || compact.startsWith('[')) {
    throw usage(`${input.source}: holds JSON (the ceremony output?), not a share; put one custodian's share (the bgshare1.… text) in each file`);
  }
  const count = compact.split('bgshare1.').length - 1;
  if (count > 1) throw usage(`${input.source}: holds ${count} shares; put one share per file`);
  try {
    return decodeShare(compact);
  } catch (error) {
    if (isAppError(error)) throw usage(`${input.source}: ${error.message}`);
    throw error;
  }
}

/** Refuses a share that does not belong to this kit, with the reason a custodian can act on. */
export function checkShareForKit(kit: KitDocument, share: ShareEnvelope, source: string): void {
  const who = `${source}: share of ${share.holder}`;
  if (share.account !== kit.account) throw usage(`${who} is for account ${share.account}, this kit is for ${kit.account}`);
  if (share.kid !== kit.kid) {
    throw usage(
      `${who} is from an older ceremony (kid ${share.kid}), this kit needs kid ${kit.kid}`,
      'use the share handed out at the ceremony this kit was exported after, or a sealed.json exported after your ceremony',
    );
  }
  const custodian = kit.custodians.find((c) => c.name === share.holder);
  if (custodian === undefined) {
    throw usage(`${who}, who is not a custodian of this kit (custodians: ${kit.custodians.map((c) => c.name).join(', ')})`);
  }
  if (shareFingerprint(share.share) !== custodian.fingerprint) {
    throw usage(`${who} does not match ${share.holder}'s fingerprint in the kit; it is not the share handed out at this ceremony`);
  }
}

/** Decodes and checks every share, refusing the same custodian twice; at least the threshold must remain. */
export function collectShares(kit: KitDocument, inputs: readonly ShareInput[]): ShareEnvelope[] {
  const byHolder = new Map<string, { share: ShareEnvelope; source: string }>();
  for (const input of inputs) {
    const share = parseShareFile(input);
    checkShareForKit(kit, share, input.source);
    const seen = byHolder.get(share.holder);
    if (seen !== undefined) {
      throw usage(`the share of ${share.holder} is given twice (${seen.source} and ${input.source}); this kit needs ${kit.threshold} different custodians`);
    }
    byHolder.set(share.holder, { share, source: input.source });
  }
  if (byHolder.size < kit.threshold) {
    throw usage(`this kit needs ${kit.threshold} shares, got ${byHolder.size}`, `${kit.threshold} of the custodians (${kit.custodians.map((c) => c.name).join(', ')}) each give their share, one --share-file each`);
  }
  return [...byHolder.values()].map((entry) => entry.share);
}

/**
 * issue 12 (P4): shares encrypted to their custodian at the ceremony (an envelope exported from
 * the README's ceremony carries them) are opened with the custodians' key files first; plain
 * shares pass through. The keys are wiped whatever happens.
 */
function decryptShares(kit: KitDocument, inputs: readonly ShareInput[], identityInputs: readonly IdentityInput[]): ShareInput[] {
  if (!inputs.some((input) => isEncryptedShare(input.text))) return [...inputs];
  const identities = loadIdentities(identityInputs);
  try {
    return inputs.map((input) => {
      if (!isEncryptedShare(input.text)) return input;
      const share = parseEncryptedShare(input.text, input.source);
      return { source: input.source, text: openEncryptedShare(share, kit.account, identities, input.source) };
    });
  } finally {
    wipeIdentities(identities);
  }
}

/**
 * Opens the kit's sealed credential with the shares. The rebuilt key and every share buffer are
 * zeroed whatever happens; the password is a string and lives until the process ends.
 * @example const { username, password } = await openKit(kit, [{ source: 'carol.txt', text }, …])
 */
export async function openKit(kit: KitDocument, inputs: readonly ShareInput[], identityInputs: readonly IdentityInput[] = []): Promise<KitCredential> {
  const shares = collectShares(kit, decryptShares(kit, inputs, identityInputs));
  let key: Buffer;
  try {
    key = await combineCustodianShares(
      shares.map((s) => s.share),
      kit.publicKey,
    );
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new CliError(exitCodes.error, `${error.message}: the kit file may have been altered`);
  } finally {
    for (const share of shares) share.share.fill(0);
  }
  // The displayed account, login and target are bound into the seal: an altered one does not open.
  if (!kit.aad.endsWith(kitBinding({ account: kit.account, username: kit.username, target: kit.target }))) {
    key.fill(0);
    throw new CliError(exitCodes.error, "the kit's account, login or target does not match its seal: the kit file was altered; do not use it");
  }
  let plaintext: Buffer;
  try {
    plaintext = openWithPrivateKey(key, kit.sealed, kit.aad);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new CliError(exitCodes.error, 'cannot open the sealed credential: the kit file is damaged or was altered');
  } finally {
    key.fill(0);
  }
  const password = plaintext.toString('utf8');
  plaintext.fill(0);
  return { username: kit.username, password };
}
