import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { hashRaw, type Algorithm } from '@node-rs/argon2';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';
import { assertRootKey, ROOT_KEY_BYTES } from './root-key-check.js';

/*
 * The passphrase seal (DESIGN.md §3): argon2id stretches the passphrase into a key-encryption
 * key (KEK) that wraps the root key with AES-256-GCM. What is stored (KDF parameters, salt,
 * wrapped key) is not secret; the passphrase never is. A wrong passphrase derives another KEK,
 * and GCM refuses to open: one clear answer, with nothing about why.
 */

/** OWASP's argon2id recommendation at the time of writing is m=19 MiB, t=2; we use more. */
export const passphraseKdfMinimum = { m: 65_536, t: 3, p: 1 } as const;
/** Refuse parameters that would exhaust the machine when read from a file (4 GiB, 64 passes). */
const KDF_MAXIMUM = { m: 4_194_304, t: 64, p: 16 } as const;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('breakglass/root-key/passphrase/v1', 'utf8');
// Argon2id is 2 in @node-rs/argon2's const enum; const enums cannot be read under isolatedModules.
const ARGON2ID = 2 as Algorithm;

export interface PassphraseKdf {
  readonly alg: 'argon2id';
  /** Memory in KiB. */
  readonly m: number;
  /** Passes. */
  readonly t: number;
  /** Lanes. */
  readonly p: number;
  /** base64 */
  readonly salt: string;
}

export interface WrappedKey {
  /** base64 */
  readonly iv: string;
  readonly ct: string;
  readonly tag: string;
}

export interface PassphraseSeal {
  readonly kdf: PassphraseKdf;
  readonly wrapped: WrappedKey;
}

async function deriveKek(passphrase: string, kdf: PassphraseKdf, salt: Buffer): Promise<Buffer> {
  const input = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  try {
    return await hashRaw(input, { algorithm: ARGON2ID, memoryCost: kdf.m, timeCost: kdf.t, parallelism: kdf.p, outputLen: 32, salt });
  } finally {
    input.fill(0);
  }
}

/**
 * Wraps `rootKey` under a KEK derived from `passphrase` with argon2id (fresh 16-byte salt).
 * Parameters below {@link passphraseKdfMinimum} are refused.
 *
 * @example
 * const seal = await sealWithPassphrase(rootKey, process.env.BREAKGLASS_PASSPHRASE!);
 */
export async function sealWithPassphrase(
  rootKey: Buffer,
  passphrase: string,
  params: { m: number; t: number; p: number } = passphraseKdfMinimum,
): Promise<PassphraseSeal> {
  assertRootKey(rootKey);
  if (params.m < passphraseKdfMinimum.m || params.t < passphraseKdfMinimum.t || params.p < passphraseKdfMinimum.p) {
    throw new AppError('validation', `argon2id parameters below m=${passphraseKdfMinimum.m} t=${passphraseKdfMinimum.t} p=${passphraseKdfMinimum.p} are not allowed`);
  }
  const salt = randomBytes(SALT_BYTES);
  const kdf: PassphraseKdf = { alg: 'argon2id', m: params.m, t: params.t, p: params.p, salt: salt.toString('base64') };
  const kek = await deriveKek(passphrase, kdf, salt);
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(AAD);
    const ct = Buffer.concat([cipher.update(rootKey), cipher.final()]);
    return { kdf, wrapped: { iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') } };
  } finally {
    kek.fill(0);
  }
}

/**
 * Opens a {@link PassphraseSeal}. A wrong passphrase (or an altered seal) gives
 * `AppError('crypto', …)` saying the passphrase is wrong; the error never says more.
 *
 * @example
 * const rootKey = await openWithPassphrase(descriptor, passphrase);
 */
export async function openWithPassphrase(seal: PassphraseSeal, passphrase: string): Promise<Buffer> {
  const { kdf, wrapped } = seal;
  const salt = decodeBase64Strict(kdf.salt);
  const [iv, ct, tag] = [decodeBase64Strict(wrapped.iv), decodeBase64Strict(wrapped.ct), decodeBase64Strict(wrapped.tag)];
  const sane = (value: number, max: number) => Number.isInteger(value) && value >= 1 && value <= max;
  if (
    kdf.alg !== 'argon2id' ||
    !sane(kdf.m, KDF_MAXIMUM.m) ||
    !sane(kdf.t, KDF_MAXIMUM.t) ||
    !sane(kdf.p, KDF_MAXIMUM.p) ||
    !salt ||
    salt.length < SALT_BYTES ||
    iv?.length !== IV_BYTES ||
    ct?.length !== ROOT_KEY_BYTES ||
    tag?.length !== TAG_BYTES
  ) {
    throw new AppError('crypto', 'the passphrase seal in root-key.json is malformed; restore the file from backup');
  }
  const kek = await deriveKek(passphrase, kdf, salt);
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    const head = decipher.update(ct);
    try {
      return Buffer.concat([head, decipher.final()]);
    } finally {
      head.fill(0);
    }
  } catch {
    throw new AppError('crypto', 'wrong passphrase: the root key stays sealed (check BREAKGLASS_PASSPHRASE)');
  } finally {
    kek.fill(0);
  }
}
