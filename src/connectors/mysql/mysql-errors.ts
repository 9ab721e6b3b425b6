/**
 * How MariaDB failures become AppErrors. Messages name the operation, the user and the error
 * number; the cause is `{errno, sqlState}` or `{code}`, never the driver error (it holds the SQL).
 */
import type { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { transportError } from './mysql-transport.js';

/** Server errors by number (MariaDB's numbers; mysql2's `code` names follow MySQL's and disagree). */
export const ER = {
  ACCESS_DENIED: 1045,
  ACCESS_DENIED_NO_PASSWORD: 1698,
  CANNOT_USER: 1396,
  NO_SUCH_THREAD: 1094,
  HOST_NOT_PRIVILEGED: 1130,
  ACCOUNT_LOCKED: 4151,
} as const;

const RETRYABLE_ERRNO = new Set([
  1040, // too many connections
  1053, // server shutdown in progress
  1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, 1161, // network read/write errors
  1203, // max_user_connections
  1205, // lock wait timeout
  1213, // deadlock
  1317, // query interrupted
  1927, // connection killed
  1969, // max_statement_time exceeded
  4031, // idle client disconnected
]);
const FATAL_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

interface ServerError {
  readonly errno: number;
  readonly sqlState: string;
  readonly sqlMessage?: string;
}

/** A failure the server reported (it has a number and a SQLSTATE), as opposed to the network. */
function serverError(err: unknown): ServerError | undefined {
  const e = err as Partial<ServerError> | null;
  return typeof e?.errno === 'number' && e.errno > 0 && typeof e.sqlState === 'string' ? (e as ServerError) : undefined;
}

/** The server errno behind an AppError made by toAppError. */
export function errnoOf(err: unknown): number | undefined {
  if (!(err instanceof AppError)) return undefined;
  const errno = (err.cause as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/**
 * Classifies a driver failure. The message names the operation, the user and the error number;
 * the server text is kept only when the statement carried no password material (a syntax error
 * quotes the statement). The cause is `{errno, sqlState}` or `{code}`, never the driver error.
 * TLS and cleartext refusals say what to change (mysql-transport.ts).
 */
export function toAppError(err: unknown, where: string, secretBearing: boolean): AppError {
  if (err instanceof AppError) return err;
  const transport = transportError(err, where);
  if (transport) return transport;
  const server = serverError(err);
  if (server) {
    const retryable = RETRYABLE_ERRNO.has(server.errno);
    const detail = secretBearing || server.sqlMessage === undefined ? '' : `: ${server.sqlMessage}`;
    // Never the driver error itself: it carries the statement text in `sql`.
    const cause = { errno: server.errno, sqlState: server.sqlState };
    return new AppError(retryable ? 'target_unavailable' : 'target_error', `${where}: error ${server.errno} (${server.sqlState})${detail}`, {
      cause,
      retryable,
    });
  }
  // Socket and driver failures (refused, reset, timeouts, "connection lost"): try again later.
  const code = (err as { code?: unknown } | null)?.code;
  const label = typeof code === 'string' ? code : err instanceof Error ? err.message : 'unknown error';
  const retryable = typeof code !== 'string' || FATAL_NET.has(code) || code.startsWith('PROTOCOL_');
  const cause = typeof code === 'string' ? { code } : undefined;
  return new AppError(retryable ? 'target_unavailable' : 'target_error', `${where}: ${label}`, {
    ...(cause === undefined ? {} : { cause }),
    retryable,
  });
}

/** An account spec the connector cannot use, named by its first problem. */
export function specError(error: z.ZodError): AppError {
  const issue = error.issues[0];
  return new AppError('validation', `mysql account spec is invalid: ${issue?.message ?? 'unknown'}`, {
    path: `spec.${issue?.path.join('.') ?? ''}`,
  });
}
