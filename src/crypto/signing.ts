import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { canonicalJson } from './canonical-json.js';
import { decodeBase64Strict } from './lib/base64.js';

/*
 * Ed25519 signatures over canonical JSON (audit checkpoints, DESIGN.md §4). Signing over the
 * RFC 8785 form means the signature covers the value, not one particular spelling of it.
 */

const SIGNATURE_BYTES = 64;

export interface SigningKeyPair {
  /** SPKI PEM; safe to publish (audit bundles carry it). */
  readonly publicKeyPem: string;
  /** PKCS#8 PEM; a secret. */
  readonly privateKeyPem: string;
}

/**
 * Generates an Ed25519 key pair as PEM strings.
 *
 * @example
 * const { publicKeyPem, privateKeyPem } = generateSigningKeyPair();
 */
export function generateSigningKeyPair(): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

function ed25519PrivateKey(privateKeyPem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    // No cause: the underlying error may quote parts of the key.
    throw new AppError('crypto', 'invalid signing key: expected an Ed25519 PKCS#8 PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AppError('crypto', 'invalid signing key: expected an Ed25519 PKCS#8 PEM private key');
  }
  return key;
}

function ed25519PublicKey(publicKeyPem: string): KeyObject | undefined {
  try {
    const key = createPublicKey(publicKeyPem);
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Signs `canonicalJson(value)` with an Ed25519 private key; returns the base64 signature.
 * Throws `AppError('crypto')` for a key that is not an Ed25519 private key.
 *
 * @example
 * const signature = signCanonical(privateKeyPem, { seq: 42, hash, at: '2025-01-01T00:00:00.000Z' });
 */
export function signCanonical(privateKeyPem: string, value: unknown): string {
  const key = ed25519PrivateKey(privateKeyPem);
  return sign(null, Buffer.from(canonicalJson(value), 'utf8'), key).toString('base64');
}

/**
 * Checks a signature made by {@link signCanonical}. Never throws: a malformed signature, a
 * malformed or non-Ed25519 public key, or a value that cannot be canonicalized all give `false`.
 *
 * @example
 * if (!verifyCanonical(publicKeyPem, { seq, hash, at }, signature)) reject();
 */
export function verifyCanonical(publicKeyPem: string, value: unknown, signature: string): boolean {
  try {
    const key = ed25519PublicKey(publicKeyPem);
    const bytes = decodeBase64Strict(signature);
    if (key === undefined || bytes === undefined || bytes.length !== SIGNATURE_BYTES) return false;
    return verify(null, Buffer.from(canonicalJson(value), 'utf8'), key, bytes);
  } catch {
    return false;
  }
}

// issue 13 (audit)
/**
 * {@link verifyCanonical} with the public key parsed once: for checking many signatures (a
 * chain's checkpoints) by the same key. Never throws; an unusable key makes every check false.
 *
 * @example
 * const valid = canonicalVerifier(publicKeyPem);
 * for (const { seq, hash, at, signature } of checkpoints) if (!valid({ seq, hash, at }, signature)) reject(seq);
 */
export function canonicalVerifier(publicKeyPem: string): (value: unknown, signature: string) => boolean {
  const key = ed25519PublicKey(publicKeyPem);
  return (value, signature) => {
    if (key === undefined) return false;
    try {
      const bytes = decodeBase64Strict(signature);
      if (bytes === undefined || bytes.length !== SIGNATURE_BYTES) return false;
      return verify(null, Buffer.from(canonicalJson(value), 'utf8'), key, bytes);
    } catch {
      return false;
    }
  };
}

/**
 * SHA-256 (hex) of the public key's DER SPKI encoding: a short, spelling-independent name for a
 * key that people can compare out of band (an audit bundle is only as trustworthy as its key).
 * Throws `AppError('crypto')` if `publicKeyPem` is not an Ed25519 public key.
 *
 * @example
 * console.log(`signed by ${publicKeyFingerprint(header.publicKey)}`);
 */
export function publicKeyFingerprint(publicKeyPem: string): string {
  const key = ed25519PublicKey(publicKeyPem);
  if (key === undefined) throw new AppError('crypto', 'invalid public key: expected an Ed25519 SPKI PEM public key');
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The public half of an Ed25519 private key, as SPKI PEM: proves a stored public key is ours. */
export function publicKeyFromPrivate(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}
