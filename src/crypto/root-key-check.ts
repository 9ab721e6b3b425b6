import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';

/*
 * The root key itself (DESIGN.md §3) and its key check value. The check value is an HMAC of a
 * fixed label under the key: it proves that a rebuilt or unwrapped key is the right one without
 * revealing anything about it (finding a key from its check value means breaking HMAC-SHA256).
 * It sits in root-key.json and in the store, so a data directory and its store can be matched.
 */

export const ROOT_KEY_BYTES = 32;
const CHECK_LABEL = 'breakglass/root-key-check';

/** 32 bytes from the CSPRNG. The caller zeroes the buffer when done. */
export function generateRootKey(): Buffer {
  return randomBytes(ROOT_KEY_BYTES);
}

export function assertRootKey(rootKey: Buffer): void {
  if (!Buffer.isBuffer(rootKey) || rootKey.length !== ROOT_KEY_BYTES) {
    throw new AppError('crypto', `root key must be ${ROOT_KEY_BYTES} bytes`);
  }
}

/**
 * HMAC-SHA256(rootKey, 'breakglass/root-key-check'), base64url.
 *
 * @example
 * if (!rootKeyCheckMatches(key, descriptor.check)) throw new AppError('crypto', 'wrong root key');
 */
export function rootKeyCheck(rootKey: Buffer): string {
  assertRootKey(rootKey);
  return createHmac('sha256', rootKey).update(CHECK_LABEL, 'utf8').digest('base64url');
}

/** Constant-time comparison of a key's check value with a stored one. */
export function rootKeyCheckMatches(rootKey: Buffer, check: string): boolean {
  const expected = decodeBase64Strict(check, 'base64url');
  const actual = Buffer.from(rootKeyCheck(rootKey), 'base64url');
  return expected !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
}
