import { createHash, randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';
import { assertRootKey, ROOT_KEY_BYTES, rootKeyCheckMatches } from './root-key-check.js';

/*
 * Operator unseal shares (DESIGN.md §3): the root key split k-of-n with the audited
 * `shamir-secret-sharing` library. Nothing of a share is stored; the server keeps the key check
 * value and a one-way fingerprint of each share, so a share that is not one of the current set
 * is refused on its own, before it counts, instead of spoiling the combination at the end.
 *
 * Text form, short enough to copy from paper: `bgunseal1.<base64url>.<checksum>` where the
 * payload is [threshold, total, index, set id (8 bytes), share (33 bytes)] and the checksum
 * (6 characters of SHA-256 over the payload text) catches a typo. The set id names the split:
 * shares of an older set (before a rekey or rotation) are refused by name.
 */

const PREFIX = 'bgunseal1';
const SET_ID_BYTES = 8;
const SHARE_BYTES = ROOT_KEY_BYTES + 1;
const HEADER_BYTES = 3 + SET_ID_BYTES;

export interface UnsealShareSet {
  /** base64url id of this split; every share of it carries it. */
  readonly setId: string;
  readonly threshold: number;
  readonly total: number;
  /** Text form, one per operator; shown once and never stored. */
  readonly shares: readonly string[];
  /** {@link unsealShareFingerprint} of each share, in the same order: what the server keeps. */
  readonly fingerprints: readonly string[];
}

export interface UnsealShare {
  readonly setId: string;
  readonly threshold: number;
  readonly total: number;
  /** 1-based position in the set, for people ("share 2 of 5"). */
  readonly index: number;
  /** The raw Shamir share; the caller zeroes it after use. */
  readonly share: Buffer;
}

function checksum(payload: string): string {
  return createHash('sha256').update(payload, 'utf8').digest('base64url').slice(0, 6);
}

/** A one-way fingerprint of a raw share (a share has 256 random bits: nothing to guess). */
export function unsealShareFingerprint(share: Buffer): string {
  return createHash('sha256').update('breakglass/unseal-share/v1\0').update(share).digest('base64url');
}

export function checkShareCounts(total: number, threshold: number): void {
  if (!Number.isInteger(threshold) || !Number.isInteger(total) || threshold < 2 || threshold > total || total > 255) {
    throw new AppError('validation', `unseal shares need 2 ≤ threshold ≤ shares ≤ 255 (got threshold ${threshold} of ${total})`, {
      path: 'unsealThreshold',
    });
  }
}

/**
 * Splits the root key into `total` shares, any `threshold` of which rebuild it.
 *
 * @example
 * const { shares, fingerprints, setId } = await splitRootKey(rootKey, 5, 3);
 */
export async function splitRootKey(rootKey: Buffer, total: number, threshold: number): Promise<UnsealShareSet> {
  assertRootKey(rootKey);
  checkShareCounts(total, threshold);
  const setId = randomBytes(SET_ID_BYTES);
  const raw = (await split(new Uint8Array(rootKey), total, threshold)).map((share) => Buffer.from(share));
  try {
    const shares = raw.map((share, i) => {
      const bytes = Buffer.concat([Buffer.from([threshold, total, i + 1]), setId, share]);
      const payload = bytes.toString('base64url');
      bytes.fill(0);
      return `${PREFIX}.${payload}.${checksum(payload)}`;
    });
    return { setId: setId.toString('base64url'), threshold, total, shares, fingerprints: raw.map(unsealShareFingerprint) };
  } finally {
    for (const share of raw) share.fill(0);
  }
}

/**
 * Parses the text form of an unseal share. Whitespace (line breaks of a paper copy) is ignored;
 * anything else wrong is an `AppError('validation')` that says what to check.
 */
export function decodeUnsealShare(text: string): UnsealShare {
  const compact = text.replace(/\s+/g, '');
  const parts = compact.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) {
    throw new AppError('validation', `this is not a Breakglass unseal share (it should start with "${PREFIX}.")`, { path: 'share' });
  }
  const [, payload, sum] = parts as [string, string, string];
  if (checksum(payload) !== sum) {
    throw new AppError('validation', 'the unseal share is damaged: its checksum does not match (check for a typo)', { path: 'share' });
  }
  const bytes = decodeBase64Strict(payload, 'base64url');
  if (bytes?.length !== HEADER_BYTES + SHARE_BYTES) {
    throw new AppError('validation', 'the unseal share is damaged: it has the wrong length', { path: 'share' });
  }
  const [threshold, total, index] = [bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0];
  if (threshold < 2 || threshold > total || index < 1 || index > total) {
    throw new AppError('validation', 'the unseal share is damaged: its header is inconsistent', { path: 'share' });
  }
  const share = Buffer.from(bytes.subarray(HEADER_BYTES));
  const setId = bytes.subarray(3, HEADER_BYTES).toString('base64url');
  bytes.fill(0);
  return { setId, threshold, total, index, share };
}

/**
 * Rebuilds the root key from raw shares and proves it with the key check value. Too few shares,
 * or shares of different sets, give one clear refusal.
 */
export async function combineUnsealShares(shares: readonly Buffer[], check: string): Promise<Buffer> {
  let key: Buffer;
  try {
    key = Buffer.from(await combine(shares.map((share) => new Uint8Array(share))));
  } catch {
    throw new AppError('crypto', 'the unseal shares do not rebuild the root key');
  }
  if (key.length !== ROOT_KEY_BYTES || !rootKeyCheckMatches(key, check)) {
    key.fill(0);
    throw new AppError('crypto', 'the unseal shares do not rebuild the root key (too few, or from different sets)');
  }
  return key;
}
