/**
 * How PostgreSQL failures become AppErrors, and how a failed login becomes a verify verdict.
 * Messages name operation, role and SQLSTATE only; see toAppError for when server text is kept.
 */
import pg from 'pg';
import type { VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { certificateRefused } from '../lib/transport.js';

const { DatabaseError } = pg;

const RETRYABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const RETRYABLE_SQLSTATE = new Set(['57P01', '57P02', '57P03', '57014', '53300', '40001', '40P01', '55P03']);
const SQLSTATE_NAMES: Record<string, string> = {
  '23505': 'unique_violation',
  '28P01': 'invalid_password',
  '28000': 'invalid_authorization_specification',
  '2BP01': 'dependent_objects_still_exist',
  '3D000': 'invalid_catalog_name',
  '42501': 'insufficient_privilege',
  '42704': 'undefined_object',
  '42710': 'duplicate_object',
  '42939': 'reserved_name',
  '53300': 'too_many_connections',
  '55P03': 'lock_not_available',
  '57014': 'query_canceled',
  '57P01': 'admin_shutdown',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now',
};

/**
 * PostgreSQL authenticates before it looks at LOGIN, so "not permitted to log in" means the
 * password was right. 28000 is shared with pg_hba rejections, hence the look at where it was
 * raised (the `routine` field is not translated by lc_messages, the message is).
 */
export function verdictOf(err: unknown): VerifyResult | undefined {
  if (!(err instanceof DatabaseError)) return undefined;
  if (err.code === '28P01') return 'rejected';
  if (err.code === '28000' && (err.routine === 'InitializeSessionUserId' || /not permitted to log in/.test(err.message))) {
    return 'accepted';
  }
  // Authenticated, but the role may not CONNECT to this database: the secret itself was right.
  if (err.code === '42501') return 'accepted';
  return undefined;
}

/** The SQLSTATE behind an AppError made by toAppError, whichever form its cause took. */
export function sqlStateOf(err: unknown): string | undefined {
  if (!(err instanceof AppError)) throw err;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies a driver failure. The message names operation, role and SQLSTATE only. Server text
 * and the driver error (as `cause`) are kept only when the statement carried no secret material,
 * because a server message can quote the statement it failed on.
 */
export function toAppError(err: unknown, op: string, role: string, secretBearing: boolean): AppError {
  if (err instanceof AppError) return err;
  const certificate = certificateRefused('postgres', err);
  if (certificate) return certificate;
  if (err instanceof Error && err.message === 'The server does not support SSL connections') {
    return new AppError('target_error', 'postgres target does not offer TLS, and the target asks for it (tls); enable ssl on the server or remove tls from the target', { retryable: false });
  }
  const where = `postgres ${op} of role ${JSON.stringify(role)} failed`;
  if (err instanceof DatabaseError) {
    const state = err.code ?? 'unknown';
    const retryable = RETRYABLE_SQLSTATE.has(state) || state.startsWith('08') || state.startsWith('53');
    const name = SQLSTATE_NAMES[state];
    const detail = secretBearing ? '' : `: ${err.message}`;
    const message = `${where}: SQLSTATE ${state}${name === undefined ? '' : ` (${name})`}${detail}`;
    // The SQLSTATE survives as a bare cause so callers can still tell e.g. 42710 apart.
    const cause = secretBearing ? { code: state } : err;
    return new AppError(retryable ? 'target_unavailable' : 'target_error', message, { cause, retryable });
  }
  // Everything else comes from the socket or the driver itself (connect/query timeouts,
  // "Connection terminated unexpectedly"): the target is unreachable or slow, so try again later.
  const netCode = (err as { code?: unknown } | null)?.code;
  const label = typeof netCode === 'string' ? netCode : err instanceof Error ? err.message : 'unknown error';
  const retryable = typeof netCode !== 'string' || RETRYABLE_NET.has(netCode);
  return new AppError(retryable ? 'target_unavailable' : 'target_error', `${where}: ${label}`, {
    cause: err,
    retryable,
  });
}
