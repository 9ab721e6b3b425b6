/**
 * Turns ldapts failures into AppErrors. LDAP result codes are the stable part (RFC 4511 §4.1.9);
 * server diagnostic text is kept only for operations that carried no secret material, and the
 * `cause` is always a bare `{code}` so no request, socket or buffer can ride along into a log.
 */
import { ResultCodeError } from 'ldapts';
import { AppError } from '../../errors/index.js';
import { certificateProblem } from '../lib/transport.js';

export const LDAP_NO_SUCH_OBJECT = 32;
export const LDAP_INVALID_CREDENTIALS = 49;
export const LDAP_ALREADY_EXISTS = 68;
// issue 12 (LDAP group memberships)
export const LDAP_NO_SUCH_ATTRIBUTE = 16;
export const LDAP_VALUE_EXISTS = 20;
export const LDAP_OBJECT_CLASS_VIOLATION = 65;
export const LDAP_INSUFFICIENT_ACCESS = 50;

/** Server-side conditions that may clear by themselves: try again later. */
const RETRYABLE_RESULTS = new Set([3 /* timeLimitExceeded */, 51 /* busy */, 52 /* unavailable */]);
const RETRYABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const RESULT_NAMES: Record<number, string> = {
  2: 'protocolError',
  3: 'timeLimitExceeded',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  64: 'namingViolation',
  65: 'objectClassViolation',
  68: 'entryAlreadyExists',
  80: 'other',
};

/** `result 49 (invalidCredentials)`: a result code as messages show it. */
export function resultText(code: number): string {
  const name = RESULT_NAMES[code];
  return `result ${code}${name === undefined ? '' : ` (${name})`}`;
}

/** The LDAP result code of a failure, if the server sent one. */
export function resultCodeOf(err: unknown): number | undefined {
  if (err instanceof ResultCodeError) return err.code;
  if (err instanceof AppError) {
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

/** What failed, in words that name no secret: `ldap stage of "cn=x,…"`, plus a phase. */
export interface Failure {
  readonly op: string;
  readonly dn: string;
  /** Set when the admin's own bind failed, which is a configuration problem, not the account's. */
  readonly adminBind?: string;
  /** The request carried secret material (a password hash, the admin secret). */
  readonly secretBearing: boolean;
  /** The connector's type as messages name it; `ldap` unless said (issue 12: `ad` shares this code). */
  readonly system?: string;
}

/**
 * Classifies a driver failure: `target_unavailable` (retryable) for the network, timeouts and
 * busy/unavailable servers; `target_error` for everything the server refused on purpose.
 */
export function toAppError(err: unknown, failure: Failure): AppError {
  if (err instanceof AppError) return err;
  const system = failure.system ?? 'ldap';
  const where = failure.adminBind === undefined
    ? `${system} ${failure.op} of ${JSON.stringify(failure.dn)} failed`
    : `${system} ${failure.op} of ${JSON.stringify(failure.dn)}: the admin bind as ${JSON.stringify(failure.adminBind)} failed`;
  if (err instanceof ResultCodeError) {
    const retryable = RETRYABLE_RESULTS.has(err.code);
    // ldapts puts the server's diagnostic text first; a server may echo what it was sent.
    const detail = failure.secretBearing ? '' : `: ${err.message}`;
    return new AppError(retryable ? 'target_unavailable' : 'target_error', `${where}: ${resultText(err.code)}${detail}`, {
      cause: { code: err.code },
      retryable,
    });
  }
  // Socket errors, connect and operation timeouts, a connection closed mid-request.
  const netCode = (err as { code?: unknown } | null)?.code;
  const certificate = certificateProblem(err);
  if (certificate !== undefined) {
    // Waiting will not make the certificate verify: the catalog or the server must change.
    // Named apart from the admin bind: the connection failed before any password was sent.
    return new AppError('target_error', `${system} ${failure.op} of ${JSON.stringify(failure.dn)}: ${certificate}`, { cause: { code: netCode }, retryable: false });
  }
  const label = typeof netCode === 'string' ? netCode : err instanceof Error ? err.message.split('\n')[0] ?? 'unknown error' : 'unknown error';
  const retryable = typeof netCode !== 'string' || RETRYABLE_NET.has(netCode);
  return new AppError(retryable ? 'target_unavailable' : 'target_error', `${where}: ${label}`, {
    cause: { code: typeof netCode === 'string' ? netCode : 'network' },
    retryable,
  });
}
