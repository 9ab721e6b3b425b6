import { createHash } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { AppError } from '../errors/index.js';
import { custodianPublicKey } from './custodian-seal.js';
import { decodeBase64Strict } from './lib/base64.js';

/*
 * Shamir shares of a dual-control account's private key (the audited `shamir-secret-sharing`
 * library does the arithmetic). A share travels as text — on paper, in a file, in a QR code —
 * so its text form names what it belongs to and carries a checksum: a typo, a share of another
 * account or of an older ceremony is refused with a clear message before it counts.
 */

const PREFIX = 'bgshare1';

export interface ShareEnvelope {
  /** Key id of the ceremony (custodianKeyId of the account public key). */
  readonly kid: string;
  readonly account: string;
  readonly holder: string;
  readonly threshold: number;
  readonly total: number;
  readonly share: Buffer;
}

export async function splitCustodianKey(privateKey: Buffer, total: number, threshold: number): Promise<Buffer[]> {
  if (!Number.isInteger(threshold) || !Number.isInteger(total) || threshold < 2 || threshold > total || total > 255) {
    throw new AppError('validation', `a quorum needs 2 ≤ threshold ≤ custodians ≤ 255 (got ${threshold} of ${total})`, { path: 'threshold' });
  }
  return (await split(new Uint8Array(privateKey), total, threshold)).map((share) => Buffer.from(share));
}

/** The fingerprint the server keeps of each share instead of the share. */
export function shareFingerprint(share: Buffer): string {
  return createHash('sha256').update('breakglass/share-fingerprint/v1\0').update(share).digest('base64url');
}

export function encodeShare(envelope: ShareEnvelope): string {
  const payload = Buffer.from(
    JSON.stringify({ v: 1, kid: envelope.kid, account: envelope.account, holder: envelope.holder, k: envelope.threshold, n: envelope.total, s: envelope.share.toString('base64url') }),
  ).toString('base64url');
  return `${PREFIX}.${payload}.${checksum(payload)}`;
}

/** Parses the text form of a share (whitespace and line breaks from paper copies are ignored). */
export function decodeShare(text: string): ShareEnvelope {
  const compact = text.replace(/\s+/g, '');
  const parts = compact.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) throw new AppError('validation', 'this is not a Breakglass share (it should start with "bgshare1.")', { path: 'share' });
  const [, payload, sum] = parts as [string, string, string];
  if (checksum(payload) !== sum) throw new AppError('validation', 'the share is damaged: its checksum does not match (check for a typo)', { path: 'share' });
  const bytes = decodeBase64Strict(payload, 'base64url');
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(bytes?.toString('utf8') ?? '') as Record<string, unknown>;
  } catch {
    throw new AppError('validation', 'the share is damaged: it does not decode', { path: 'share' });
  }
  const share = typeof data['s'] === 'string' ? decodeBase64Strict(data['s'], 'base64url') : undefined;
  const str = (key: string) => (typeof data[key] === 'string' ? data[key] : undefined);
  const int = (key: string) => (Number.isInteger(data[key]) ? (data[key] as number) : undefined);
  const [kid, account, holder, threshold, total] = [str('kid'), str('account'), str('holder'), int('k'), int('n')];
  if (data['v'] !== 1 || !share || share.length < 2 || !kid || !account || !holder || !threshold || !total) {
    throw new AppError('validation', 'the share is damaged: a field is missing', { path: 'share' });
  }
  return { kid, account, holder, threshold, total, share };
}

/**
 * Rebuilds the account private key from shares and proves it is the right one: its public key
 * must be the account's. Fewer than the threshold, or a wrong share, gives one clear refusal.
 */
export async function combineCustodianShares(shares: readonly Buffer[], expectedPublicKey: string): Promise<Buffer> {
  let key: Buffer;
  try {
    key = Buffer.from(await combine(shares.map((share) => new Uint8Array(share))));
  } catch {
    throw new AppError('crypto', 'the shares do not rebuild the account key');
  }
  if (key.length !== 32 || custodianPublicKey(key) !== expectedPublicKey) {
    key.fill(0);
    throw new AppError('crypto', 'the shares do not rebuild the account key (too few, or from different ceremonies)');
  }
  return key;
}

function checksum(payload: string): string {
  return createHash('sha256').update(payload).digest('base64url').slice(0, 8);
}
