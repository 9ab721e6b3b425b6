/**
 * The admin side of one MariaDB target: a small pool of admin connections (lib/connection-pool.ts),
 * each operation bounded by a deadline; the login as an account (for verify) on a connection of
 * its own; the account row and the session kill.
 * Shared by the pre-staged and the ephemeral operations.
 */
import mysql from 'mysql2/promise';
import type { AccountInspection, DetailedVerify, SessionsEnded, VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { createConnectionPool, DEFAULT_POOL_IDLE_MS, DEFAULT_POOL_MAX, type PoolStats } from '../lib/connection-pool.js';
import { endLiveSessions } from '../lib/end-sessions.js';
import { ER, errnoOf, toAppError } from './mysql-errors.js';
import type { MysqlTransport } from './mysql-transport.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** TLS and the cleartext rule (mysql-transport.ts), the same for every connection. */
  readonly transport: MysqlTransport;
}

/** The statements an operation runs; every failure is already an AppError. */
export interface Sql {
  /** A parameterised read, bound server-side (prepared statement): no client-side escaping. */
  rows<T>(sql: string, params: readonly string[]): Promise<T[]>;
  /** A statement without parameters (DDL takes none). `secret` hides the server text on failure. */
  exec(sql: string, options?: { secret?: boolean }): Promise<void>;
}

/** Opens one connection as `endpoint.user` with the target's transport; failures are the driver's. */
async function openConnection(endpoint: Endpoint, timeoutMs: number): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    connectTimeout: timeoutMs,
    charset: 'utf8mb4',
    multipleStatements: false,
    ...endpoint.transport,
  });
  // A fatal error after the last command (server gone) would be an unhandled 'error' event.
  conn.on('error', () => undefined);
  return conn;
}

/**
 * Runs `task` and fails it after `timeoutMs`. On the deadline the hook the task registered with
 * `abandon` runs (it destroys the socket, which also ends a connect to a host that never answers).
 */
async function withDeadline<T>(timeoutMs: number, where: string, task: (abandon: (hook: () => void) => void) => Promise<T>): Promise<T> {
  let expired = false;
  let onExpiry: (() => void) | undefined;
  const running = task((hook) => {
    onExpiry = hook;
    if (expired) hook();
  });
  // The loser of the race must not surface as an unhandled rejection.
  running.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      onExpiry?.();
      reject(new AppError('target_unavailable', `${where}: no answer within ${timeoutMs} ms`, { retryable: true }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a connection of its own, runs `work`, closes it; the whole call ends within `timeoutMs`.
 * Every failure is an AppError (the server's answer to the login keeps its errno in `cause`).
 * For logins as an account: never a pooled admin connection.
 */
export async function withConnection<T>(
  endpoint: Endpoint,
  timeoutMs: number,
  where: string,
  work: (conn: mysql.Connection) => Promise<T>,
): Promise<T> {
  let conn: mysql.Connection | undefined;
  let expired = false;
  try {
    return await withDeadline(timeoutMs, where, async (abandon) => {
      abandon(() => {
        expired = true;
        conn?.destroy();
      });
      conn = await openConnection(endpoint, timeoutMs);
      if (expired) conn.destroy();
      return work(conn);
    });
  } catch (err) {
    throw toAppError(err, where, false);
  } finally {
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

/** The server killed the connection (KILL CONNECTION, or a restart on its way). */
const ER_CONNECTION_KILLED = 1927;

/** What the operations of both modes share: the admin connection and the login as an account. */
export interface MysqlAdmin {
  readonly adminUser: string;
  readonly timeoutMs: number;
  /** Runs `work` on an admin connection whose DDL lock waits end before our deadline. */
  readonly asAdmin: <T>(op: string, user: string, work: (sql: Sql) => Promise<T>) => Promise<T>;
  /**
   * Logs in as the account: MariaDB authenticates first and only then looks at the lock. For
   * `verify` a locked account with the right secret is accepted; for a real `login` it is not.
   */
  readonly loginVerdict: (user: string, password: string, remainingMs: number, op?: 'verify' | 'login') => Promise<VerifyResult>;
  /** issue 12 (P2): `loginVerdict` with the server's error number (1045, 4151 …) or `ok`. */
  readonly loginAnswer: (user: string, password: string, remainingMs: number, op?: 'verify' | 'login') => Promise<DetailedVerify>;
  /** issue 13 (pool): closes the pooled admin connections. */
  readonly close: () => Promise<void>;
  /** issue 13 (pool): the admin connections open, idle and waited for. */
  readonly poolStats: () => PoolStats;
}

export function createMysqlAdmin(admin: Endpoint, timeoutMs: number, poolMax = DEFAULT_POOL_MAX): MysqlAdmin {
  const where = (op: string, user: string) => `mysql ${op} of user ${JSON.stringify(user)} failed`;
  // issue 13 (pool): the admin connections, reused across operations; `ended` marks one the
  // driver saw close or fail (the server killed it, or went away), so it is not handed out again.
  const ended = new WeakSet<mysql.Connection>();
  const pool = createConnectionPool<mysql.Connection>({
    max: poolMax,
    idleMs: DEFAULT_POOL_IDLE_MS,
    async open() {
      const conn = await openConnection(admin, timeoutMs);
      conn.on('error', () => ended.add(conn));
      conn.on('end', () => ended.add(conn));
      try {
        // DDL lock waits end before our deadline, for every operation on this connection.
        await conn.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.floor(timeoutMs / 1000))}`);
      } catch (err) {
        conn.destroy();
        throw err;
      }
      return conn;
    },
    close: (conn) => closeQuietly(conn),
    alive: (conn) => !ended.has(conn),
    lost: (err, conn) => err instanceof AppError && err.retryable && (ended.has(conn) || errnoOf(err) === ER_CONNECTION_KILLED),
    busy: (waited) => new AppError('target_unavailable', `mysql target: all ${poolMax} admin connections stayed busy for ${waited} ms`, { retryable: true }),
    closed: () => new AppError('target_unavailable', 'mysql target: the connector was closed (its settings changed, or the server is stopping)', { retryable: true }),
  });
  return {
    adminUser: admin.user,
    timeoutMs,
    async asAdmin(op, user, work) {
      const label = where(op, user);
      try {
        // The whole operation, waiting for a connection included, ends within the timeout.
        return await withDeadline(timeoutMs, label, (abandon) =>
          pool.use((conn) => {
            abandon(() => conn.destroy());
            return work(sqlOn(conn, label));
          }, timeoutMs),
        );
      } catch (err) {
        throw toAppError(err, label, false);
      }
    },
    async loginVerdict(user, password, remainingMs, op = 'verify') {
      return (await loginAnswer(user, password, remainingMs, op)).verdict;
    },
    loginAnswer,
    close: () => pool.close(),
    poolStats: () => pool.stats(),
  };

  async function loginAnswer(user: string, password: string, remainingMs: number, op: 'verify' | 'login' = 'verify'): Promise<DetailedVerify> {
    try {
      await withConnection({ ...admin, user, password }, remainingMs, where(op, user), () => Promise.resolve());
      return { verdict: 'accepted', code: 'ok' };
    } catch (err) {
      const errno = errnoOf(err);
      const code = errno === undefined ? undefined : String(errno);
      if (errno === ER.ACCOUNT_LOCKED) return { verdict: op === 'verify' ? 'accepted' : 'rejected', code };
      if (errno === ER.ACCESS_DENIED || errno === ER.ACCESS_DENIED_NO_PASSWORD || errno === ER.HOST_NOT_PRIVILEGED) return { verdict: 'rejected', code };
      throw err;
    }
  }
}

/** The account row of `'<user>'@'%'` and its live connections, in one round trip. */
const INSPECT_SQL = `
  SELECT g.present,
         JSON_VALUE(g.Priv, '$.account_locked') AS locked,
         JSON_VALUE(g.Priv, '$.plugin') AS plugin,
         JSON_VALUE(g.Priv, '$.authentication_string') AS auth,
         (SELECT COUNT(*) FROM information_schema.PROCESSLIST p
           WHERE BINARY p.USER = ? AND p.ID <> CONNECTION_ID()) AS sessions
    FROM (SELECT 1 AS one) o
    LEFT JOIN (SELECT 1 AS present, Priv FROM mysql.global_priv WHERE User = ? AND Host = '%') g ON 1 = 1`;

export interface AccountRow {
  present: number | null;
  locked: string | null;
  plugin: string | null;
  auth: string | null;
  sessions: number | string;
}

export async function readAccount(sql: Sql, user: string): Promise<AccountRow | undefined> {
  const rows = await sql.rows<AccountRow>(INSPECT_SQL, [user, user]);
  return rows[0];
}

export function inspection(row: AccountRow | undefined): AccountInspection {
  const exists = row?.present === 1;
  const locked = row?.locked === '1' || row?.locked === 'true';
  return { exists, canLogin: exists && !locked, validUntil: undefined, sessions: Number(row?.sessions ?? 0) };
}

/**
 * Kills every connection logged in under the user name until none is left, or gives up
 * retryably. BINARY: PROCESSLIST.USER compares case-insensitively, which would also hit `ADMIN`.
 */
export async function endSessions(sql: Sql, user: string): Promise<SessionsEnded> {
  return await endLiveSessions({
    round: async () => {
      const rows = await sql.rows<{ ID: number }>(
        'SELECT ID FROM information_schema.PROCESSLIST WHERE BINARY USER = ? AND ID <> CONNECTION_ID()',
        [user],
      );
      for (const { ID } of rows) {
        if (!Number.isSafeInteger(Number(ID))) continue;
        try {
          await sql.exec(`KILL CONNECTION ${Number(ID)}`);
        } catch (err) {
          // Gone between the SELECT and the KILL: that is what we wanted.
          if (errnoOf(err) !== ER.NO_SUCH_THREAD) throw err;
        }
      }
      // The ids, so a connection still exiting is counted once in the evidence (issue 12, P2).
      return rows.map(({ ID }) => String(ID));
    },
    stillAlive: (live) => `mysql: ${live} connection(s) of user ${JSON.stringify(user)} still alive after KILL`,
  });
}
