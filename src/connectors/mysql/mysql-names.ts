/**
 * Account names, quoting and password material for MariaDB. Every account Breakglass manages is
 * `'<user>'@'%'`; user names are quoted as backtick identifiers (a doubled backtick is the only
 * escape, so the result does not depend on `sql_mode` such as NO_BACKSLASH_ESCAPES or ANSI_QUOTES).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import { reservedLogin } from '../lib/adopt.js';
import { reservedMysqlUser } from './mysql-spec.js';

/** MariaDB ≥ 10.6 stores user names in CHAR(128) utf8mb3; the server refuses longer ones. */
export const MAX_USER_CHARS = 128;

/**
 * Checks a user name: the inputs backtick quoting cannot make safe, that the server would
 * silently alias to another account, or that MariaDB reserves are refused with `validation`.
 */
export function checkUser(principal: unknown, adminUser: string | undefined): string {
  const bad = (why: string) => new AppError('validation', `mysql user name ${why}`, { path: 'principal' });
  if (typeof principal !== 'string' || principal === '') throw bad('is empty');
  if (principal.includes('\0')) throw bad('contains a NUL character');
  if (/\p{Cc}/u.test(principal)) throw bad('contains a control character');
  if (/\p{Cs}/u.test(principal)) throw bad('is not well-formed Unicode');
  // utf8mb3 cannot hold 4-byte characters (the server answers 1300 "Invalid utf8mb4 character").
  if (/[\u{10000}-\u{10FFFF}]/u.test(principal)) throw bad('contains a character outside the Basic Multilingual Plane');
  // A login name longer than the column is truncated at handshake: it would reach a shorter account.
  if ([...principal].length > MAX_USER_CHARS) throw bad(`is longer than ${MAX_USER_CHARS} characters`);
  // CHAR columns drop trailing spaces and compare PAD SPACE: 'bob ' and 'bob' would be one account.
  if (/\s$/u.test(principal)) throw bad('ends with white space');
  // Again here, not only at the catalog's apply: the admin and system accounts are never touched.
  const reserved = reservedMysqlUser(principal, adminUser);
  if (reserved !== undefined) throw reservedLogin('mysql user', principal, reserved);
  return principal;
}

/** A backtick-quoted identifier: the backtick is doubled, nothing else is special inside. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** The account `'<user>'@'%'` in SQL. */
export function quoteAccount(user: string): string {
  return `${quoteIdent(user)}@${quoteIdent('%')}`;
}

/** A secret the account will log in with. An empty one would mean "no password". */
export function checkSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0')) {
    throw new AppError('validation', 'mysql secret must be a non-empty string without NUL', { path: 'secret' });
  }
  return secret;
}

/**
 * The mysql_native_password hash `*HEX(SHA1(SHA1(secret)))` of the UTF-8 bytes (what mysql2
 * hashes at login). Built here so the plaintext never travels in SQL: it cannot show up in
 * PROCESSLIST.INFO, the general or slow log, or an error that quotes the statement.
 */
export function nativePasswordHash(secret: string): string {
  const stage1 = createHash('sha1').update(secret, 'utf8').digest();
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`;
}

/** `IDENTIFIED WITH … AS '<hash>'`: the hash is 41 characters of `*0-9A-F`, safe as a literal. */
export function identifiedClause(secret: string): string {
  return `IDENTIFIED WITH mysql_native_password AS '${nativePasswordHash(secret)}'`;
}

/** Does the stored native hash belong to this secret? Constant time over equal-length hashes. */
export function nativeHashMatches(stored: string, secret: string): boolean {
  const a = Buffer.from(stored.toUpperCase(), 'utf8');
  const b = Buffer.from(nativePasswordHash(secret), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
