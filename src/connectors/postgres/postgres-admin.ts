/**
 * The admin side of one PostgreSQL target: a small pool (lib/connection-pool.ts) logged in as the connector's admin role,
 * every statement bounded by the target's timeout and every failure turned into an AppError.
 * Shared by the pre-staged and the ephemeral operations.
 */
import pg from 'pg';
import type { AccountInspection, SessionsEnded } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { createConnectionPool, DEFAULT_POOL_IDLE_MS, DEFAULT_POOL_MAX, type PoolStats } from '../lib/connection-pool.js';
import { endLiveSessions } from '../lib/end-sessions.js';
import { guardedClient, type PgTransport } from './postgres-client.js';
import { toAppError } from './postgres-errors.js';
import { scramVerifier } from './scram-verifier.js';

const { escapeLiteral } = pg;

export interface PgSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Client-side and server-side bounds for every connection the connector opens. */
export interface PgTimeouts {
  readonly connectionTimeoutMillis: number;
  readonly query_timeout: number;
  readonly statement_timeout: number;
  readonly lock_timeout: number;
}

/** Runs one statement; `secretBearing` keeps server text and driver error out of the AppError. */
export type Sql = (sql: string, params?: unknown[], secretBearing?: boolean) => Promise<pg.QueryResult>;

export interface PgAdmin {
  readonly settings: PgSettings;
  readonly timeouts: PgTimeouts;
  /** The Client class for any other connection to the target: its TLS, no weak password methods. */
  readonly Client: typeof pg.Client;
  /** A plain function (not a method) so callers may destructure it. */
  readonly run: (op: string, role: string, sql: string, params?: unknown[], secretBearing?: boolean) => Promise<pg.QueryResult>;
  /** Runs `fn` in one transaction on one pooled connection; any failure discards the connection. */
  transaction<T>(op: string, role: string, fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Runs `fn` in one transaction on a short-lived admin connection to another database. */
  onDatabase<T>(database: string, op: string, role: string, fn: (sql: Sql) => Promise<T>): Promise<T>;
  roleExists(op: string, role: string): Promise<boolean>;
  /**
   * What an existing role can do on its own — `LOGIN`, `SUPERUSER`, `CREATEROLE`, `REPLICATION`,
   * `BYPASSRLS`, `n member(s)` — or `undefined` when there is no such role.
   */
  rolePowers(op: string, role: string): Promise<string[] | undefined>;
  /** Terminates every backend of the role until none is left, or gives up retryably. */
  terminateSessions(op: string, role: string): Promise<SessionsEnded>;
  inspectRole(op: string, role: string): Promise<AccountInspection>;
  close(): Promise<void>;
  /** issue 13 (pool): the admin connections open, idle and waited for. */
  poolStats(): PoolStats;
}

/** `PASSWORD '<verifier>'`: the server stores a pre-hashed verifier as is (see scram-verifier.ts). */
export function passwordClause(secret: string): string {
  return `PASSWORD ${escapeLiteral(scramVerifier(secret) ?? secret)}`;
}

const boundSql = (query: (sql: string, params: unknown[]) => Promise<pg.QueryResult>, op: string, role: string): Sql =>
  async (sql, params = [], secretBearing = false) => {
    try {
      return await query(sql, params);
    } catch (err) {
      throw toAppError(err, op, role, secretBearing);
    }
  };

/** BEGIN, fn, COMMIT; on failure the connection is dropped, which rolls back without a round trip. */
async function inTransaction<T>(sql: Sql, fn: (sql: Sql) => Promise<T>): Promise<{ result: T } | { failed: unknown }> {
  try {
    await sql('BEGIN');
    const result = await fn(sql);
    await sql('COMMIT');
    return { result };
  } catch (failed) {
    return { failed };
  }
}

/** SQLSTATEs of a backend that was terminated or shut down under us: the connection is gone. */
const CONNECTION_GONE = new Set(['57P01', '57P02']);

export function createPgAdmin(settings: PgSettings, adminSecret: string, timeoutMs: number, transport: PgTransport, poolMax = DEFAULT_POOL_MAX): PgAdmin {
  const Client = guardedClient(transport);
  const timeouts: PgTimeouts = {
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    lock_timeout: timeoutMs,
  };
  // issue 13 (pool): the connector's admin connections, reused across operations; `ended`
  // marks one the driver saw close or fail, so it is not handed out again.
  const ended = new WeakSet<pg.Client>();
  const pool = createConnectionPool<pg.Client>({
    max: poolMax,
    idleMs: DEFAULT_POOL_IDLE_MS,
    async open() {
      const client = new Client({ ...settings, password: adminSecret, application_name: 'breakglass', ...timeouts });
      // A client that loses its server emits 'error' (idle or busy); unhandled, that would crash
      // the whole process. The failing query reports it; the pool replaces the connection.
      client.on('error', () => ended.add(client));
      client.on('end', () => ended.add(client));
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      return client;
    },
    close: (client) => endQuietly(client),
    alive: (client) => !ended.has(client),
    lost(err, client) {
      if (!(err instanceof AppError) || !err.retryable) return false;
      const code = (err.cause as { code?: unknown } | undefined)?.code;
      return ended.has(client) || (typeof code === 'string' && CONNECTION_GONE.has(code));
    },
    busy: (waited) => new AppError('target_unavailable', `postgres target: all ${poolMax} admin connections stayed busy for ${waited} ms`, { retryable: true }),
    closed: () => new AppError('target_unavailable', 'postgres target: the connector was closed (its settings changed, or the server is stopping)', { retryable: true }),
  });

  const usePooled = async <T>(op: string, role: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
    try {
      return await pool.use(work, timeoutMs);
    } catch (err) {
      throw toAppError(err, op, role, false);
    }
  };

  const run: PgAdmin['run'] = (op, role, sql, params = [], secretBearing = false) =>
    usePooled(op, role, (client) => boundSql((text, values) => client.query(text, values), op, role)(sql, params, secretBearing));

  const admin: PgAdmin = {
    settings,
    timeouts,
    Client,
    run,

    async transaction(op, role, fn) {
      return usePooled(op, role, async (client) => {
        // A failure throws out of the pool's work, which discards the connection: that rolls back.
        const outcome = await inTransaction(boundSql((text, values) => client.query(text, values), op, role), fn);
        if ('failed' in outcome) throw outcome.failed;
        return outcome.result;
      });
    },

    async onDatabase(database, op, role, fn) {
      const client = new Client({ ...settings, database, password: adminSecret, application_name: 'breakglass', ...timeouts });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const outcome = await inTransaction(boundSql((text, values) => client.query(text, values), op, role), fn);
        if ('failed' in outcome) throw outcome.failed;
        return outcome.result;
      } catch (err) {
        throw toAppError(err, `${op} (database ${JSON.stringify(database)})`, role, false);
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    async roleExists(op, role) {
      const res = await run(op, role, 'select 1 from pg_roles where rolname = $1', [role]);
      return res.rowCount === 1;
    },

    async rolePowers(op, role) {
      const res = await run(
        op,
        role,
        `select r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
                (select count(*)::int from pg_auth_members m where m.roleid = r.oid) as members
           from pg_roles r where r.rolname = $1`,
        [role],
      );
      const row = res.rows[0] as Record<'rolcanlogin' | 'rolsuper' | 'rolcreaterole' | 'rolreplication' | 'rolbypassrls', boolean> & { members: number } | undefined;
      if (row === undefined) return undefined;
      const flags = [
        [row.rolcanlogin, 'LOGIN'],
        [row.rolsuper, 'SUPERUSER'],
        [row.rolcreaterole, 'CREATEROLE'],
        [row.rolreplication, 'REPLICATION'],
        [row.rolbypassrls, 'BYPASSRLS'],
      ] as const;
      const powers: string[] = flags.filter(([held]) => held).map(([, name]) => name);
      if (row.members > 0) powers.push(`${row.members} member${row.members === 1 ? '' : 's'}`);
      return powers;
    },

    async terminateSessions(op, role) {
      return await endLiveSessions({
        // pg_terminate_backend only signals; the backend leaves pg_stat_activity when it exits.
        // The pids, so a backend still exiting at the next round is counted once (issue 12, P2).
        round: async () => {
          const res = await run(
            op,
            role,
            `select pid::text as pid, pg_terminate_backend(pid) as signalled from pg_stat_activity
              where usename = $1 and pid <> pg_backend_pid()`,
            [role],
          );
          return (res.rows as { pid: string }[]).map((row) => row.pid);
        },
        stillAlive: (live) => `postgres ${op} of role ${JSON.stringify(role)}: ${live} session(s) still alive after termination`,
      });
    },

    async inspectRole(op, role) {
      const res = await run(
        op,
        role,
        `select r.rolname is not null as role_exists,
                coalesce(r.rolcanlogin, false) as can_login,
                case when isfinite(r.rolvaliduntil) then (extract(epoch from r.rolvaliduntil) * 1000)::float8 end as valid_until_ms,
                (select count(*)::int from pg_stat_activity a where a.usename = $1) as sessions
           from (select 1) one left join pg_roles r on r.rolname = $1`,
        [role],
      );
      const row = res.rows[0] as
        | { role_exists: boolean; can_login: boolean; valid_until_ms: number | null; sessions: number }
        | undefined;
      return {
        exists: row?.role_exists === true,
        canLogin: row?.can_login === true,
        validUntil: row?.valid_until_ms == null ? undefined : new Date(row.valid_until_ms),
        sessions: row?.sessions ?? 0,
      };
    },

    async close() {
      await pool.close();
    },

    poolStats: () => pool.stats(),
  };
  return admin;
}

/** `end()` unless the server does not answer within half a second; then the socket is dropped. */
async function endQuietly(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, 500)));
  await Promise.race([client.end().catch(() => undefined), giveUp]);
  clearTimeout(timer);
}
