import { hash, parseOptions, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { z } from 'zod';

/*
 * Local passwords (issue 14): argon2id, stored as the PHC string the library writes
 * (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so the parameters travel with each hash and can be
 * raised later: `needsRehash` says when a successful sign-in should store a fresh hash.
 * Nothing here logs, and no error carries the password or the stored hash.
 */

/** OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB (19456 KiB), t = 2, p = 1. */
export const PASSWORD_MEMORY_KIB = 19_456;
export const PASSWORD_TIME_COST = 2;
export const PASSWORD_PARALLELISM = 1;

/*
 * Length in Unicode code points after NFC, as NIST SP 800-63B-4 §3.1.1.2 counts it. At least 15:
 * that is NIST's minimum for a password used as the only factor, and a second factor is mandatory
 * only for some roles (issue 14, point 1), so a viewer may sign in with the password alone. At most
 * 1024: long enough for any passphrase or manager-generated password, short enough that a request
 * cannot make the server hash megabytes (argon2 pre-hashes its input, but the body is still read,
 * normalised and copied). No composition rules and no truncation (NIST: SHALL NOT).
 */
export const PASSWORD_MIN_CHARS = 15;
export const PASSWORD_MAX_CHARS = 1024;

// Argon2id is 2 and v=19 is 1 in @node-rs/argon2's const enums; const enums cannot be read under isolatedModules.
const ARGON2ID = 2 as Algorithm;
const VERSION_0X13 = 1 as NonNullable<Options['version']>;

const CURRENT: Options = {
  algorithm: ARGON2ID,
  version: VERSION_0X13,
  memoryCost: PASSWORD_MEMORY_KIB,
  timeCost: PASSWORD_TIME_COST,
  parallelism: PASSWORD_PARALLELISM,
  outputLen: 32,
};

const codePoints = (s: string): number => [...s].length;

/**
 * A password as a person typed it, checked at the edge and NFC-normalised, so the same password
 * typed on two keyboards (precomposed `é` or `e` + combining accent) hashes the same.
 * The error messages name the rule, never the value.
 *
 * @example
 * const password = passwordSchema.parse(body.password);
 */
export const passwordSchema = z
  .string()
  .transform((s) => s.normalize('NFC'))
  .refine((s) => codePoints(s) >= PASSWORD_MIN_CHARS, `a password has at least ${PASSWORD_MIN_CHARS} characters`)
  .refine((s) => codePoints(s) <= PASSWORD_MAX_CHARS, `a password has at most ${PASSWORD_MAX_CHARS} characters`);

/**
 * The argon2id hash (PHC string, fresh 16-byte salt) of a password at the current parameters.
 * The password must come through {@link passwordSchema} (normalised, length checked); it is
 * normalised again here, which is idempotent, so a caller cannot forget it.
 *
 * @example
 * const stored = await hashPassword(passwordSchema.parse(input));
 */
export async function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFC'), CURRENT);
}

/**
 * Does `password` match `storedHash`? Never throws: a malformed, truncated or non-argon2id
 * stored hash answers false (fail closed), like a wrong password.
 *
 * @example
 * if (!(await verifyPassword(user.passwordHash, password))) throw signInFailed();
 */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  // Only argon2id: a stored argon2i/argon2d hash is not one we wrote, so refuse it rather than
  // let the library verify it with a weaker variant.
  if (!storedHash.startsWith('$argon2id$')) return false;
  try {
    return await verify(storedHash, password.normalize('NFC'));
  } catch {
    return false;
  }
}

/**
 * Should a hash that just verified be replaced by a fresh {@link hashPassword}? True when any
 * parameter is below the current ones, the variant or version differs, or the hash cannot be read.
 *
 * @example
 * if (ok && needsRehash(user.passwordHash)) await tx.users.setPasswordHash(id, await hashPassword(password));
 */
export function needsRehash(storedHash: string): boolean {
  if (!storedHash.startsWith('$argon2id$')) return true;
  try {
    const p = parseOptions(storedHash);
    return (
      p.algorithm !== ARGON2ID ||
      p.version !== VERSION_0X13 ||
      p.memoryCost < PASSWORD_MEMORY_KIB ||
      p.timeCost < PASSWORD_TIME_COST ||
      p.parallelism < PASSWORD_PARALLELISM ||
      p.outputLen < 32 ||
      p.saltLen < 16
    );
  } catch {
    return true;
  }
}

/*
 * The hash of 32 random bytes that were thrown away when it was made, at the current parameters,
 * so a sign-in for an unknown user costs one argon2id verification, the same as for a known one
 * (issue 14, point 8: similar timing whether or not a user exists). A constant rather than a hash
 * made at first use, so the first unknown name does not cost two hashes. Not a secret: nobody
 * knows an input that verifies against it. When the parameters above change, make a new one
 * (`hash(randomBytes(32), CURRENT)`); a test fails until its parameters match.
 */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$dLPLMcz4rQpTB9k4641Apg$/J6Ik/F5VcwQDgvDkbpUvn26pD1SK6sKCM6aDm1IwRU';

/**
 * Spends one password verification at the current parameters and answers false. Call it when
 * the user does not exist (or has no password), so that the answer takes as long as a wrong
 * password for a real user.
 *
 * @example
 * const ok = user?.passwordHash === undefined ? await dummyVerify(password) : await verifyPassword(user.passwordHash, password);
 */
export async function dummyVerify(password: string): Promise<false> {
  await verifyPassword(DUMMY_HASH, password);
  return false;
}

/** The parameters of the hash {@link dummyVerify} verifies against (for the test of equal work). */
export function dummyVerifyParameters(): { memoryCost: number; timeCost: number; parallelism: number; outputLen: number } {
  const { memoryCost, timeCost, parallelism, outputLen } = parseOptions(DUMMY_HASH);
  return { memoryCost, timeCost, parallelism, outputLen };
}
