/**
 * `{SSHA}` password values, built and checked locally. Building the value here means the
 * plaintext never crosses the wire in a modify (the Password Modify extended operation would
 * send it, in the clear on ldap://). Checking here is how `verify` works while the account is
 * locked: the server answers invalidCredentials (49) to a locked account whatever the password,
 * so the stored value is read as admin and checked the way slapd checks it at bind.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const SHA1_BYTES = 20;
const SALT_BYTES = 8;

/** How one stored `userPassword` value relates to a candidate secret. */
export type PasswordCheck = 'match' | 'mismatch' | 'unsupported';

/**
 * The `{SSHA}` value slapd stores for `secret`: base64(SHA-1(secret ‖ salt) ‖ salt).
 *
 * @example
 *   sshaHash('correct horse') // → '{SSHA}k1Q…' (a fresh salt every call)
 */
export function sshaHash(secret: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const digest = createHash('sha1').update(Buffer.from(secret, 'utf8')).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** Constant-time equality of two byte strings of any length (hashed to one length first). */
function sameBytes(a: Buffer, b: Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Checks `candidate` against one stored value as slapd would: `{SSHA}` and `{SHA}` are
 * recomputed, a value without a `{scheme}` prefix is cleartext, any other scheme (`{CRYPT}`,
 * `{ARGON2}`, …) is `unsupported` — the caller must not guess.
 */
export function checkPassword(stored: Buffer, candidate: string): PasswordCheck {
  const text = stored.toString('utf8');
  const secret = Buffer.from(candidate, 'utf8');
  const scheme = /^\{([^}]*)\}/.exec(text);
  if (scheme === null) return sameBytes(stored, secret) ? 'match' : 'mismatch';
  const name = (scheme[1] ?? '').toUpperCase();
  if (name !== 'SSHA' && name !== 'SHA') return 'unsupported';
  const encoded = text.slice(scheme[0].length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return 'mismatch';
  const raw = Buffer.from(encoded, 'base64');
  // slapd refuses an {SSHA} value without salt and a {SHA} value of the wrong length.
  if (name === 'SSHA' ? raw.length <= SHA1_BYTES : raw.length !== SHA1_BYTES) return 'mismatch';
  const digest = raw.subarray(0, SHA1_BYTES);
  const salt = raw.subarray(SHA1_BYTES);
  const computed = createHash('sha1').update(secret).update(salt).digest();
  return timingSafeEqual(digest, computed) ? 'match' : 'mismatch';
}
