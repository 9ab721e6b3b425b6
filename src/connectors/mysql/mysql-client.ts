/**
 * One short-lived mysql2 connection per connector operation, bounded by a deadline, and the
 * classification of driver failures into AppErrors that cannot carry a secret.
 */
import mysql from 'mysql2/promise';
import { AppError } from '../../errors/index.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** The statements an operation runs; every failure is already an AppError. */
export interface Sql {
  /** A parameterised read, bound server-side (prepared statement): no client-side escaping. */
  rows<T>(sql: string, params: readonly string[]): Promise<T[]>;
  /** A statement without parameters (DDL takes none). `secret` hides the server text on failure. */
  exec(sql: string, options?: { secret?: boolean }): Promise<void>;
}

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
 */
export function toAppError(err: unknown, where: string, secretBearing: boolean): AppError {
  if (err instanceof AppError) return err;
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

/**
 * Opens a connection, runs `work`, closes it; the whole call ends within `timeoutMs`. On the
 * deadline the socket is destroyed, which also ends a connect to a host that never answers.
 * Every failure is an AppError (the server's answer to the login keeps its errno in `cause`).
 */
export async function withConnection<T>(
  endpoint: Endpoint,
  timeoutMs: number,
  where: string,
  work: (conn: mysql.Connection) => Promise<T>,
): Promise<T> {
  let conn: mysql.Connection | undefined;
  let expired = false;
  const task = (async () => {
    conn = await mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      connectTimeout: timeoutMs,
      charset: 'utf8mb4',
      multipleStatements: false,
    });
    // A fatal error after the last command (server gone) would be an unhandled 'error' event.
    conn.on('error', () => undefined);
    if (expired) conn.destroy();
    return work(conn);
  })().catch((err: unknown) => {
    throw toAppError(err, where, false);
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      conn?.destroy();
      reject(new AppError('target_unavailable', `${where}: no answer within ${timeoutMs} ms`, { retryable: true }));
    }, timeoutMs);
  });
  // The loser of the race must not surface as an unhandled rejection.
  task.catch(() => undefined);
  try {
    return await Promise.race([task, deadline]);
  } finally {
    clearTimeout(timer);
    if (conn !== undefined && !expired) await closeQuietly(conn);
  }
}

/** COM_QUIT so the server does not log an aborted connection; destroy if it does not answer. */
async function closeQuietly(conn: mysql.Connection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, 500)));
  await Promise.race([conn.end().catch(() => undefined), giveUp]);
  clearTimeout(timer);
  conn.destroy();
}

/** The statements of one admin connection, each failure classified for `where`. */
export function sqlOn(conn: mysql.Connection, where: string): Sql {
  return {
    async rows<T>(sql: string, params: readonly string[]) {
      try {
        const [rows] = await conn.execute(sql, [...params]);
        return rows as T[];
      } catch (err) {
        throw toAppError(err, where, false);
      }
    },
    async exec(sql, options = {}) {
      try {
        await conn.query(sql);
      } catch (err) {
        throw toAppError(err, where, options.secret ?? false);
      }
    },
  };
}
