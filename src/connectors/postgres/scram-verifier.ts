/**
 * Builds a PostgreSQL SCRAM-SHA-256 verifier on our side so the plaintext secret never reaches
 * the server: a plaintext `PASSWORD '...'` shows up in pg_stat_activity.query while it runs, in
 * pg_stat_statements, and in the server log whenever the statement fails
 * (log_min_error_statement defaults to `error`) or log_statement covers DDL.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's own default (scram_iterations); clients cap what they accept, so stay modest. */
const ITERATIONS = 4096;
const SALT_BYTES = 16;

// RFC 3454 tables C.1.2 (non-ASCII spaces) and B.1 (mapped to nothing): SASLprep rewrites these.
// eslint-disable-next-line no-misleading-character-class
const SASLPREP_MAPPED = /[\u00A0\u1680\u2000-\u200D\u202F\u205F\u2060\u3000\u00AD\u034F\u1806\u180B-\u180D\uFE00-\uFE0F\uFEFF]/u;

/**
 * The server runs SASLprep over the password and falls back to the raw bytes when SASLprep
 * rejects it. For a password SASLprep leaves alone (all ASCII, and almost every real secret) both
 * paths give the raw string, so a verifier computed over it is exactly what the server would
 * store. For the rest we return undefined and let the server hash, rather than reimplement the
 * full stringprep tables and risk a verifier that no client can match.
 */
export function scramVerifier(password: string): string | undefined {
  if (SASLPREP_MAPPED.test(password) || password.normalize('NFKC') !== password) return undefined;
  const salt = randomBytes(SALT_BYTES);
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
