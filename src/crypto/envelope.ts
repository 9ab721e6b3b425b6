import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';

/*
 * Envelope encryption (DESIGN.md §3). Each record gets a fresh 32-byte data key that encrypts
 * the plaintext with AES-256-GCM; the data key is itself encrypted ("wrapped") with AES-256-GCM
 * under the root key. Rotating the root key then rewraps 32 bytes per record instead of
 * re-encrypting every secret. Both GCM operations authenticate the caller's associated data
 * (e.g. `account:<id>:secret:v3`), so a ciphertext copied into another row does not open there.
 */

const KEY_BYTES = 32;
const IV_BYTES = 12; // the GCM nonce size with no extra hashing step
const TAG_BYTES = 16; // full tag; shorter tags are refused when opening

interface Sealed {
  v: 1;
  alg: 'A256GCM';
  wk: string;
  wiv: string;
  wtag: string;
  iv: string;
  ct: string;
  tag: string;
}

interface Parsed {
  wk: Buffer;
  wiv: Buffer;
  wtag: Buffer;
  iv: Buffer;
  ct: Buffer;
  tag: Buffer;
}

const FIELDS = ['v', 'alg', 'wk', 'wiv', 'wtag', 'iv', 'ct', 'tag'] as const;

/** One answer for every failure, so the error says nothing about which check failed. */
const cannotOpen = () => new AppError('crypto', 'cannot open sealed value');

function checkRootKey(rootKey: Buffer): void {
  // A wrong-length key is a configuration mistake, not an attack, so it may say what is wrong.
  if (!Buffer.isBuffer(rootKey) || rootKey.length !== KEY_BYTES) {
    throw new AppError('crypto', `root key must be ${KEY_BYTES} bytes`);
  }
}

function encrypt(key: Buffer, plaintext: Buffer, aad: string): { iv: Buffer; ct: Buffer; tag: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ct, tag: cipher.getAuthTag() };
}

/** Throws whatever node:crypto throws; callers turn it into the one vague error. */
function decrypt(key: Buffer, iv: Buffer, ct: Buffer, tag: Buffer, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  const head = decipher.update(ct);
  try {
    return Buffer.concat([head, decipher.final()]);
  } finally {
    head.fill(0);
  }
}

function parse(sealed: string): Parsed | undefined {
  let value: unknown;
  try {
    value = JSON.parse(sealed);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length !== FIELDS.length || !FIELDS.every((field) => keys.includes(field))) return undefined;
  if (record['v'] !== 1 || record['alg'] !== 'A256GCM') return undefined;
  const bytes = (field: string, length?: number): Buffer | undefined => {
    const text = record[field];
    if (typeof text !== 'string') return undefined;
    const decoded = decodeBase64Strict(text);
    return decoded !== undefined && (length === undefined || decoded.length === length) ? decoded : undefined;
  };
  const [wk, wiv, wtag, iv, ct, tag] = [
    bytes('wk', KEY_BYTES),
    bytes('wiv', IV_BYTES),
    bytes('wtag', TAG_BYTES),
    bytes('iv', IV_BYTES),
    bytes('ct'),
    bytes('tag', TAG_BYTES),
  ];
  if (!wk || !wiv || !wtag || !iv || !ct || !tag) return undefined;
  return { wk, wiv, wtag, iv, ct, tag };
}

function format(wrapped: { iv: Buffer; ct: Buffer; tag: Buffer }, data: { iv: Buffer; ct: Buffer; tag: Buffer }): string {
  const sealed: Sealed = {
    v: 1,
    alg: 'A256GCM',
    wk: wrapped.ct.toString('base64'),
    wiv: wrapped.iv.toString('base64'),
    wtag: wrapped.tag.toString('base64'),
    iv: data.iv.toString('base64'),
    ct: data.ct.toString('base64'),
    tag: data.tag.toString('base64'),
  };
  return JSON.stringify(sealed);
}

/** Parses and unwraps the data key; the caller must zero it. Throws the vague error. */
function openDataKey(rootKey: Buffer, sealed: string, aad: string): { parsed: Parsed; dataKey: Buffer } {
  checkRootKey(rootKey);
  const parsed = parse(sealed);
  if (parsed === undefined) throw cannotOpen();
  try {
    const dataKey = decrypt(rootKey, parsed.wiv, parsed.wk, parsed.wtag, aad);
    return { parsed, dataKey };
  } catch {
    throw cannotOpen();
  }
}

/**
 * Encrypts `plaintext` under a fresh data key wrapped by `rootKey`, bound to `aad`.
 * Returns compact JSON `{"v":1,"alg":"A256GCM","wk","wiv","wtag","iv","ct","tag"}` (base64 fields).
 *
 * @example
 * const sealed = sealWithRootKey(rootKey, 'S3cret!', `account:${id}:secret:v3`);
 */
export function sealWithRootKey(rootKey: Buffer, plaintext: string | Buffer, aad: string): string {
  checkRootKey(rootKey);
  const dataKey = randomBytes(KEY_BYTES);
  const input = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  try {
    const data = encrypt(dataKey, input, aad);
    const wrapped = encrypt(rootKey, dataKey, aad);
    return format(wrapped, data);
  } finally {
    dataKey.fill(0);
    // Our own copy of a string plaintext can be wiped; a caller's Buffer is theirs to wipe.
    if (typeof plaintext === 'string') input.fill(0);
  }
}

/**
 * Opens a value sealed by {@link sealWithRootKey} with the same root key and associated data.
 * Every failure (wrong key, wrong aad, tampering, bad format) throws the same
 * `AppError('crypto', 'cannot open sealed value')`. The caller should zero the result after use.
 *
 * @example
 * const secret = openWithRootKey(rootKey, account.secretSealed, `account:${id}:secret:v3`);
 */
export function openWithRootKey(rootKey: Buffer, sealed: string, aad: string): Buffer {
  const { parsed, dataKey } = openDataKey(rootKey, sealed, aad);
  try {
    return decrypt(dataKey, parsed.iv, parsed.ct, parsed.tag, aad);
  } catch {
    throw cannotOpen();
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Re-encrypts the data key of `sealed` from `oldRoot` to `newRoot` (root-key rotation); the data
 * ciphertext is kept as it is. The whole value is authenticated first, so a tampered record is
 * refused rather than blessed with the new key. Throws the same vague error as opening.
 *
 * @example
 * const resealed = rewrapDataKey(oldRoot, newRoot, row.secretSealed, `account:${id}:secret:v3`);
 */
export function rewrapDataKey(oldRoot: Buffer, newRoot: Buffer, sealed: string, aad: string): string {
  checkRootKey(newRoot);
  const { parsed, dataKey } = openDataKey(oldRoot, sealed, aad);
  try {
    try {
      decrypt(dataKey, parsed.iv, parsed.ct, parsed.tag, aad).fill(0);
    } catch {
      throw cannotOpen();
    }
    const wrapped = encrypt(newRoot, dataKey, aad);
    return format(wrapped, { iv: parsed.iv, ct: parsed.ct, tag: parsed.tag });
  } finally {
    dataKey.fill(0);
  }
}
