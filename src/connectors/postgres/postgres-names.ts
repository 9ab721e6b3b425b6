/**
 * Role names and secrets that quoting cannot make safe. Everything that passes is quoted with the
 * driver's escapeIdentifier / escapeLiteral before it reaches SQL (DDL takes no bind parameters).
 */
import { AppError } from '../../errors/index.js';

/** NAMEDATALEN - 1: PostgreSQL silently truncates longer identifiers, which could alias roles. */
export const MAX_ROLE_BYTES = 63;

/**
 * Returns the role name if it is safe to quote. `adminUser` is refused where the caller would
 * disable, drop or hand out the role Breakglass itself logs in with.
 */
export function checkRole(principal: string, adminUser: string | undefined, path = 'principal'): string {
  const bad = (why: string) => new AppError('validation', `postgres role name ${why}`, { path });
  if (typeof principal !== 'string' || principal === '') throw bad('is empty');
  if (principal.includes('\0')) throw bad('contains a NUL character');
  if (/\p{Cs}/u.test(principal)) throw bad('is not well-formed Unicode');
  if (Buffer.byteLength(principal, 'utf8') > MAX_ROLE_BYTES) throw bad(`is longer than ${MAX_ROLE_BYTES} bytes`);
  // Disabling the role Breakglass itself logs in with would lock it out of the target.
  if (principal === adminUser) throw bad('is the connector admin role');
  return principal;
}

export function checkSecret(secret: string): void {
  // An empty PASSWORD clears the password on the server instead of setting one.
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0')) {
    throw new AppError('validation', 'postgres secret must be a non-empty string without NUL', { path: 'secret' });
  }
}

export function checkDate(value: Date, path: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new AppError('validation', `postgres ${path} must be a valid date`, { path });
  }
  return value;
}
