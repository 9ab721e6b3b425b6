/**
 * What the exec connector refuses before a script ever runs: input no script can handle safely.
 * Names the target itself cannot hold are the script's to refuse (`"invalid": true`).
 */
import { AppError } from '../../errors/index.js';

/** Generous for any real account name; the script refuses what its target cannot hold. */
const MAX_PRINCIPAL_BYTES = 512;
const MAX_GRANT_ID_CHARS = 128;
const MAX_SECRET_BYTES = 64 * 1024;
const MAX_SPEC_BYTES = 64 * 1024;

const invalid = (message: string, path: string) => new AppError('validation', `exec ${message}`, { path });

/**
 * The connector cannot know the target's naming rules (the script refuses what its target
 * cannot hold, with `invalid: true`); it refuses what no script can handle safely: control
 * characters (a shell script reading lines would split on them), lone surrogates (not
 * representable in the UTF-8 of the request), and absurd lengths.
 */
export function checkPrincipal(principal: unknown): string {
  if (typeof principal !== 'string' || principal === '') throw invalid('principal is empty', 'principal');
  if (/\p{Cc}/u.test(principal)) throw invalid('principal contains a control character', 'principal');
  if (/\p{Cs}/u.test(principal)) throw invalid('principal is not well-formed Unicode', 'principal');
  if (Buffer.byteLength(principal, 'utf8') > MAX_PRINCIPAL_BYTES) throw invalid(`principal is longer than ${MAX_PRINCIPAL_BYTES} bytes`, 'principal');
  return principal;
}

export function checkSecret(secret: unknown, path: string): string {
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0') || /\p{Cs}/u.test(secret)) {
    throw invalid(`${path} must be a non-empty, well-formed string without NUL`, path);
  }
  if (Buffer.byteLength(secret, 'utf8') > MAX_SECRET_BYTES) throw invalid(`${path} is longer than ${MAX_SECRET_BYTES} bytes`, path);
  return secret;
}

export function checkGrantId(grantId: unknown): string {
  if (typeof grantId !== 'string' || grantId === '' || grantId.length > MAX_GRANT_ID_CHARS || /[\p{Cc}\p{Cs}]/u.test(grantId)) {
    throw invalid('grant id is malformed', 'grantId');
  }
  return grantId;
}

export function checkDate(date: unknown): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw invalid('validUntil must be a valid date', 'validUntil');
  return date.toISOString();
}

/** The spec travels as JSON, byte-exact: it must be plain data of a bounded size. */
export function checkSpec(spec: unknown): Readonly<Record<string, unknown>> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalid('spec must be an object', 'spec');
  let json: string;
  try {
    json = JSON.stringify(spec);
  } catch {
    throw invalid('spec is not JSON-serialisable', 'spec');
  }
  if (Buffer.byteLength(json, 'utf8') > MAX_SPEC_BYTES) throw invalid(`spec is larger than ${MAX_SPEC_BYTES} bytes`, 'spec');
  return JSON.parse(json) as Record<string, unknown>;
}
