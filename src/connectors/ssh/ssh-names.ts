/**
 * What an SSH certificate is issued for, checked before anything reaches ssh-keygen: the
 * principals of the account spec, the grant id (the certificate's key id) and the serial derived
 * from it. Validation is an allow-list, because ssh-keygen gives several characters meaning:
 * `-n` splits principals on commas, and a KRL specification is line-based (`id: <key id>`).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import type { AccountSpec } from '../../ports/index.js';

/** POSIX portable user names, as useradd accepts them by default (NAME_REGEX). */
const PRINCIPAL = /^[a-z_][a-z0-9_-]{0,31}$/;
const MAX_PRINCIPALS = 16;
/** Grant ids are `gr_` + base32 (src/crypto/tokens.ts); anything else never reaches a KRL line. */
const GRANT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const SERIAL_MASK = (1n << 63n) - 1n;

export interface SshSpec {
  readonly principals: readonly string[];
}

function invalid(message: string, path: string): AppError {
  return new AppError('validation', `ssh ${message}`, { path });
}

/** Checks `{principals: string[]}` and nothing else; the message never repeats a hostile value. */
function parse(spec: AccountSpec): SshSpec {
  if (typeof spec !== 'object' || spec === null) throw invalid('account spec must be an object', 'spec');
  const unknown = Object.keys(spec).filter((key) => key !== 'principals');
  if (unknown.length > 0) throw invalid(`account spec has unknown field(s): ${unknown.map((k) => JSON.stringify(k)).join(', ')}`, 'spec');
  const principals = spec['principals'];
  if (!Array.isArray(principals)) throw invalid('account spec needs principals: a list of user names', 'spec.principals');
  if (principals.length === 0 || principals.length > MAX_PRINCIPALS) {
    throw invalid(`account spec needs 1 to ${MAX_PRINCIPALS} principals`, 'spec.principals');
  }
  const seen = new Set<string>();
  principals.forEach((value: unknown, i) => {
    const path = `spec.principals[${i}]`;
    if (typeof value !== 'string' || !PRINCIPAL.test(value)) {
      throw invalid(`principal #${i + 1} must be a POSIX user name: a-z or _, then up to 31 of a-z, 0-9, _ and -`, path);
    }
    if (seen.has(value)) throw invalid(`principal #${i + 1} is listed twice`, path);
    seen.add(value);
  });
  return { principals: principals as string[] };
}

function checkGrantId(grantId: string): string {
  if (typeof grantId !== 'string' || !GRANT_ID.test(grantId)) {
    throw invalid('grant id must be 1 to 128 letters, digits, "_" or "-"', 'grantId');
  }
  return grantId;
}

/**
 * The certificate serial of a grant: the first 63 bits of SHA-256(grant id), never 0 (a KRL
 * cannot revoke serial 0). Deterministic, so revoke needs no record of what issue handed out, and
 * every re-issue for the same grant is revoked by the same KRL entry.
 */
function serialOf(grantId: string): bigint {
  const serial = createHash('sha256').update(grantId, 'utf8').digest().readBigUInt64BE(0) & SERIAL_MASK;
  return serial === 0n ? 1n : serial;
}

export const sshNames = { parse, checkGrantId, serialOf } as const;
