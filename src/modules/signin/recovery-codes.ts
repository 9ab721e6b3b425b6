import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import type { RandomBytes } from './random-bytes.js';

/*
 * Recovery codes: what a person types when the phone with the authenticator is gone. Each code
 * is 16 symbols of lowercase RFC 4648 base32 in four groups (`abcd-efgh-ijkm-nopq`): 80 random
 * bits, no 0/1/8/9 to confuse with o/l/b/g, one case. A code is good for one sign-in.
 *
 * Stored only as SHA-256 of the normalised code (with a domain prefix). A slow hash is for
 * secrets a person chose; these are drawn uniformly from 2^80, so an attacker holding the table
 * must search the code space itself. Even counting every stored code as a target at once
 * (a table of 100,000 codes, ~2^17), finding any one takes ~2^63 SHA-256 evaluations: about 30
 * years of a GPU doing 10^10 a second. With 60 bits (12 symbols) that multi-target search would
 * take minutes, which is why codes are 16 symbols here; at 80 bits the stored hash needs no salt
 * and no argon2.
 */

export const RECOVERY_CODE_COUNT = 10;
/** 16 symbols x 5 bits = 80 bits. */
export const RECOVERY_CODE_SYMBOLS = 16;
const GROUP = 4;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const DOMAIN = 'breakglass/recovery-code/v1\0';
const HASH_HEX = /^[0-9a-f]{64}$/;

/** A code as typed: case, dashes and spaces do not matter; undefined when it cannot be a code. */
function normalise(input: string): string | undefined {
  if (input.length > 64) return undefined;
  const code = input.toLowerCase().replace(/[\s-]+/g, '');
  return code.length === RECOVERY_CODE_SYMBOLS && /^[a-z2-7]+$/.test(code) ? code : undefined;
}

function digest(normalised: string): Buffer {
  return createHash('sha256').update(DOMAIN + normalised, 'utf8').digest();
}

/**
 * The hash to store for a code (hex SHA-256 of its normalised form). The code itself is never stored.
 *
 * @example
 * const stored = codes.map(hashRecoveryCode);
 */
export function hashRecoveryCode(code: string): string {
  const normalised = normalise(code);
  if (normalised === undefined) throw new AppError('validation', 'not a recovery code');
  return digest(normalised).toString('hex');
}

/**
 * `n` new recovery codes (default 10), shown once at enrolment; store only
 * {@link hashRecoveryCode} of each. Each symbol is a random byte masked to 5 bits: 256 is a
 * multiple of 32, so the draw is exactly uniform.
 *
 * @example
 * const codes = newRecoveryCodes(systemRandomBytes); // ['k2qf-7xam-…', …]
 */
export function newRecoveryCodes(random: RandomBytes, n = RECOVERY_CODE_COUNT): string[] {
  if (!Number.isSafeInteger(n) || n < 1 || n > 100) throw new AppError('validation', 'the number of recovery codes must be 1 to 100');
  const codes: string[] = [];
  while (codes.length < n) {
    const bytes = Buffer.from(random(RECOVERY_CODE_SYMBOLS));
    if (bytes.length !== RECOVERY_CODE_SYMBOLS) throw new AppError('internal', 'the random source returned the wrong number of bytes');
    let code = '';
    bytes.forEach((byte, i) => {
      if (i > 0 && i % GROUP === 0) code += '-';
      code += ALPHABET.charAt(byte & 31);
    });
    bytes.fill(0);
    // A repeat within one set (2^-80) would be one code that works once for two entries: draw again.
    if (!codes.includes(code)) codes.push(code);
  }
  return codes;
}

export type RecoveryResult =
  /** `remaining`: the hashes to store in place of the old list, in the same transaction as the sign-in. */
  | { readonly ok: true; readonly remaining: readonly string[] }
  | { readonly ok: false };

/**
 * Uses one recovery code: if `input` matches a stored hash, returns the list without it (every
 * copy of it), else refuses. Every stored hash is compared, in constant time, whatever matched
 * first. Single use holds only if the caller stores `remaining` atomically with the sign-in
 * (a compare-and-set on the old list, so two concurrent uses of one code cannot both win).
 *
 * @example
 * const r = consumeRecoveryCode(user.recoveryHashes, input);
 * if (r.ok) await tx.users.setRecoveryHashes(user.id, r.remaining, { expected: user.recoveryHashes });
 */
export function consumeRecoveryCode(storedHashes: readonly string[], input: string): RecoveryResult {
  const normalised = normalise(input);
  if (normalised === undefined) return { ok: false };
  const presented = digest(normalised);
  const remaining: string[] = [];
  let matched = false;
  for (const stored of storedHashes) {
    // A malformed entry can match nothing; keep it so the caller's compare-and-set sees the list it read.
    const same = HASH_HEX.test(stored) && timingSafeEqual(Buffer.from(stored, 'hex'), presented);
    if (same) matched = true;
    else remaining.push(stored);
  }
  return matched ? { ok: true, remaining } : { ok: false };
}
