/**
 * User names, secrets and dates that Redis cannot hold safely, and the SHA-256 form in which a
 * secret travels to the server. Names that pass are sent as separate protocol arguments (never
 * concatenated into a command), so quoting characters need no escaping.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import { reservedLogin } from '../lib/adopt.js';
import { reservedUser } from './redis-spec.js';

/** Longer names are refused: Redis has no limit, but the catalog caps names at 128 characters. */
export const MAX_USER_LENGTH = 128;

/**
 * Returns the name if Redis can hold it without ambiguity. Redis itself refuses spaces and NUL;
 * control characters, other whitespace and invisible formatting characters are refused too
 * because `CLIENT LIST` (how sessions are counted) is space-separated text and such names read
 * like other names in an audit trail.
 */
export function checkUser(name: unknown, path = 'principal'): string {
  const bad = (why: string) => new AppError('validation', `redis user name ${why}`, { path });
  if (typeof name !== 'string' || name === '') throw bad('is empty');
  if (name.includes('\0')) throw bad('contains a NUL character');
  if (/[\s\p{Cc}\p{Cf}]/u.test(name)) throw bad('contains whitespace, control or formatting characters');
  if (/\p{Cs}/u.test(name)) throw bad('is not well-formed Unicode');
  if (name.length > MAX_USER_LENGTH) throw bad(`is longer than ${MAX_USER_LENGTH} characters`);
  return name;
}

/**
 * A user a mutation may touch: a valid name that is neither `default` nor the admin. Disabling
 * either would lock every plain client, or Breakglass itself, out; the catalog refuses them too.
 */
export function checkMutableUser(name: unknown, adminUser: string, path = 'principal'): string {
  const user = checkUser(name, path);
  const why = reservedUser(user, adminUser);
  if (why !== undefined) throw reservedLogin('redis user', user, why);
  return user;
}

export function checkSecret(secret: unknown, path = 'secret'): string {
  if (typeof secret !== 'string' || secret === '') {
    throw new AppError('validation', 'redis secret must be a non-empty string', { path });
  }
  return secret;
}

export function checkDate(value: unknown, path: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new AppError('validation', `redis ${path} must be a valid date`, { path });
  }
  return value;
}

/** What Redis stores for a password: the lowercase hex SHA-256 of its UTF-8 bytes. */
export function passwordHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** `#<hash>`: Redis stores the hash as is, so the plaintext never crosses the wire. */
export function hashedPasswordRule(secret: string): string {
  return `#${passwordHash(secret)}`;
}

/**
 * Does any stored hash match the candidate? The same comparison AUTH makes (Redis hashes the
 * candidate and compares it with each stored hash), in constant time per hash.
 */
export function matchesStoredHash(candidate: string, storedHashes: readonly string[]): boolean {
  const mine = Buffer.from(passwordHash(candidate), 'hex');
  let found = false;
  for (const stored of storedHashes) {
    if (!/^[0-9a-f]{64}$/.test(stored)) continue;
    // No early exit: the time taken does not tell which hash matched.
    if (timingSafeEqual(mine, Buffer.from(stored, 'hex'))) found = true;
  }
  return found;
}
