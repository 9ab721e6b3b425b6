import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors/index.js';

/*
 * Tokens, passwords and ids. All randomness is node:crypto's CSPRNG. Alphabets of 32 and 64
 * symbols are chosen so that masking a random byte (`& 31`, `& 63`) is exactly uniform: 256 is a
 * multiple of both, so there is no modulo bias and no rejection loop per character.
 */

const API_TOKEN_PREFIX = 'bg_';
const API_TOKEN_BYTES = 32;

/** 64 URL-safe symbols that PostgreSQL, MySQL and Redis accept in a password without quoting. */
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const PASSWORD_MIN = 16;
const PASSWORD_MAX = 1024;

/** RFC 4648 base32 symbols, lowercase: case-insensitive stores and URLs cannot confuse two ids. */
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 26 symbols x 5 bits = 130 random bits. */
const ID_SYMBOLS = 26;
const ID_PREFIX = /^[a-z][a-z0-9]{0,15}_$/;

function randomString(alphabet: string, mask: number, length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet.charAt(byte & mask);
  bytes.fill(0);
  return out;
}

/**
 * A new bearer token for the API: `bg_` + 32 random bytes in base64url (256 bits). Store only
 * {@link hashToken} of it.
 *
 * @example
 * const token = generateApiToken(); // 'bg_Xq3…' (46 characters)
 */
export function generateApiToken(): string {
  const bytes = randomBytes(API_TOKEN_BYTES);
  const token = API_TOKEN_PREFIX + bytes.toString('base64url');
  bytes.fill(0);
  return token;
}

/**
 * A one-time enrolment code (`bge_` + 32 random bytes, base64url): an admin hands it to a user,
 * who redeems it for a token of their own. Store only {@link hashToken} of it.
 */
export function generateEnrolmentCode(): string {
  const bytes = randomBytes(API_TOKEN_BYTES);
  const code = 'bge_' + bytes.toString('base64url');
  bytes.fill(0);
  return code;
}

/**
 * SHA-256 (hex) of a token, for storage and lookup. A fast hash is right here: tokens carry 256
 * random bits, so there is nothing to brute-force (unlike a human password, which needs argon2id).
 *
 * @example
 * await tx.tokens.insert({ id, userId, tokenHash: hashToken(token), … });
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Compares two strings in time that does not depend on where they differ. Both sides are hashed
 * first so the compared buffers always have equal length and the length of a secret does not
 * leak either.
 *
 * @example
 * if (!constantTimeEqual(hashToken(presented), stored)) throw appError.forbidden('bad token');
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a, 'utf8').digest();
  const digestB = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB);
}

/*
 * Some servers enforce a password policy (MySQL validate_password MEDIUM wants a lowercase and an
 * uppercase letter, a digit and a special character), and a leading '-' reads as an option to
 * command-line clients. Whole passwords that miss these are drawn again, which keeps the result
 * uniform over the passwords that pass; at length 16 that is about two draws on average.
 */
function isAcceptedEverywhere(password: string): boolean {
  return /^[A-Za-z0-9]/.test(password) && /[a-z]/.test(password) && /[A-Z]/.test(password) &&
    /[0-9]/.test(password) && /[-_]/.test(password);
}

/**
 * A random password of `length` characters (16–1024, default 32, 6 bits each) from
 * `A–Z a–z 0–9 - _`, accepted by PostgreSQL, MySQL (including validate_password MEDIUM) and Redis.
 * It starts with a letter or digit and holds at least one lowercase letter, uppercase letter,
 * digit and one of `-_`.
 *
 * @example
 * const secret = generatePassword(); // e.g. 'q7H-Jx0_…'
 */
export function generatePassword(length = 32): string {
  if (!Number.isSafeInteger(length) || length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw new AppError('validation', `password length must be an integer from ${PASSWORD_MIN} to ${PASSWORD_MAX}`);
  }
  for (;;) {
    const password = randomString(PASSWORD_ALPHABET, 63, length);
    if (isAcceptedEverywhere(password)) return password;
  }
}

/**
 * A new random id: `prefix` + 26 lowercase base32 symbols (130 random bits). Safe in URLs,
 * file names and case-insensitive comparisons. The prefix says what the id names: 1–16 lowercase
 * letters or digits starting with a letter, then the `_` separator.
 *
 * @example
 * const grantId = asGrantId(newId('gr_')); // 'gr_k3q…'
 */
export function newId(prefix: string): string {
  if (!ID_PREFIX.test(prefix)) {
    throw new AppError('validation', 'id prefix must be 1-16 lowercase letters or digits, starting with a letter, then "_"');
  }
  return prefix + randomString(ID_ALPHABET, 31, ID_SYMBOLS);
}
