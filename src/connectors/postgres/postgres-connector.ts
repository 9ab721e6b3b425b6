/**
 * Pre-staged PostgreSQL accounts: a standing role kept NOLOGIN with a sealed secret, given LOGIN
 * with a native VALID UNTIL for the grant, then NOLOGIN + sessions terminated + rotated.
 * Invariants and import rules: ./README.md.
 */
import pg from 'pg';
import { z } from 'zod';
import type {
  AccountInspection,
  ConnectorCapabilities,
  Credential,
  Connector,
  ConnectorDriver,
  PrestagedOperations,
  TargetConnection,
  VerifyResult,
} from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { scramVerifier } from './scram-verifier.js';

const { Client, DatabaseError, Pool, escapeIdentifier, escapeLiteral } = pg;

const DEFAULT_TIMEOUT_MS = 5000;
/** How long disable waits for terminated backends to leave pg_stat_activity. */
const SESSION_DRAIN_MS = 2000;
const SESSION_POLL_MS = 50;
/** NAMEDATALEN - 1: PostgreSQL silently truncates longer identifiers, which could alias roles. */
const MAX_ROLE_BYTES = 63;

const settingsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  database: z.string().min(1),
  user: z.string().min(1),
});

type Settings = z.infer<typeof settingsSchema>;

const capabilities: ConnectorCapabilities = Object.freeze({
  supportsSessionKill: true,
  supportsNativeExpiry: true,
  supportsPrestaged: true,
  supportsEphemeral: false,
});

/**
 * Creates the connector for one PostgreSQL target. Nothing connects until the first call.
 *
 * @example
 *   const pgTarget = createPostgresConnector({
 *     type: 'postgres',
 *     settings: { host: 'db.internal', port: 5432, database: 'postgres', user: 'breakglass_admin' },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await pgTarget.prestaged?.enable('bg_oncall_dba', new Date(Date.now() + 3_600_000));
 */
export function createPostgresConnector(target: TargetConnection): Connector {
  const parsed = settingsSchema.safeParse(target.settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('validation', `postgres target settings are invalid: ${issue?.message ?? 'unknown'}`, {
      path: `settings.${issue?.path.join('.') ?? ''}`,
    });
  }
  const settings: Settings = parsed.data;
  if (target.adminSecret === undefined || target.adminSecret === '') {
    throw new AppError('validation', 'postgres target has no admin secret', { path: 'adminSecret' });
  }
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new AppError('validation', 'postgres target timeoutMs must be a positive integer', { path: 'timeoutMs' });
  }

  const timeouts = {
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    lock_timeout: timeoutMs,
  };
  const pool = new Pool({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: target.adminSecret,
    max: 2,
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
    application_name: 'breakglass',
    ...timeouts,
  });
  // An idle pooled client that loses its server (restart, admin shutdown) emits 'error' on the
  // pool; unhandled, that would crash the whole process. The next query reconnects.
  pool.on('error', () => undefined);

  /** Runs admin SQL, turning any failure into an AppError that cannot carry the SQL text. */
  async function run(op: string, role: string, sql: string, params: unknown[] = [], secretBearing = false) {
    try {
      return await pool.query(sql, params);
    } catch (err) {
      throw toAppError(err, op, role, secretBearing);
    }
  }

  async function roleExists(op: string, role: string): Promise<boolean> {
    const res = await run(op, role, 'select 1 from pg_roles where rolname = $1', [role]);
    return res.rowCount === 1;
  }

  /** Terminates every backend of the role until none is left, or gives up retryably. */
  async function terminateSessions(op: string, role: string): Promise<void> {
    const deadline = Date.now() + SESSION_DRAIN_MS;
    for (;;) {
      // pg_terminate_backend only signals; the backend leaves pg_stat_activity when it exits.
      const res = await run(
        op,
        role,
        `select count(*)::int as live
           from (select pg_terminate_backend(pid) from pg_stat_activity
                  where usename = $1 and pid <> pg_backend_pid()) signalled`,
        [role],
      );
      const live = (res.rows[0] as { live: number } | undefined)?.live ?? 0;
      if (live === 0) return;
      if (Date.now() >= deadline) {
        throw new AppError(
          'target_unavailable',
          `postgres ${op} of role ${JSON.stringify(role)}: ${live} session(s) still alive after termination`,
          { retryable: true },
        );
      }
      await sleep(SESSION_POLL_MS);
    }
  }

  /** `PASSWORD '<verifier>'`: the server stores a pre-hashed verifier as is (see scram-verifier.ts). */
  function passwordClause(secret: string): string {
    return `PASSWORD ${escapeLiteral(scramVerifier(secret) ?? secret)}`;
  }

  const prestaged: PrestagedOperations = {
    async stage(principal, secret) {
      const role = checkRole(principal, settings.user);
      checkSecret(secret);
      const ident = escapeIdentifier(role);
      // VALID UNTIL 'infinity': an expired VALID UNTIL makes the server reject even the right
      // password, and a staged secret must be verifiable while the role is disabled.
      const attrs = `NOLOGIN ${passwordClause(secret)} VALID UNTIL 'infinity'`;
      const alter = () => run('stage', role, `ALTER ROLE ${ident} ${attrs}`, [], true);
      if (await roleExists('stage', role)) {
        await alter();
      } else {
        try {
          await run('stage', role, `CREATE ROLE ${ident} ${attrs}`, [], true);
        } catch (err) {
          // A concurrent stage created it between our check and CREATE: converge on ALTER.
          if (sqlStateOf(err) !== '42710') throw err;
          await alter();
        }
      }
      await terminateSessions('stage', role);
    },

    async enable(principal, validUntil) {
      const role = checkRole(principal, settings.user);
      if (!(validUntil instanceof Date) || Number.isNaN(validUntil.getTime())) {
        throw new AppError('validation', 'postgres enable needs a valid validUntil date', { path: 'validUntil' });
      }
      const until = escapeLiteral(validUntil.toISOString());
      await run('enable', role, `ALTER ROLE ${escapeIdentifier(role)} LOGIN VALID UNTIL ${until}`);
    },

    async disable(principal) {
      const role = checkRole(principal, settings.user);
      try {
        await run('disable', role, `ALTER ROLE ${escapeIdentifier(role)} NOLOGIN`);
      } catch (err) {
        // Revocation must converge: a role that no longer exists cannot log in either.
        if (sqlStateOf(err) !== '42704') throw err;
      }
      // NOLOGIN is only checked at connection start; sessions already open keep working.
      await terminateSessions('disable', role);
    },

    async rotate(principal, newSecret) {
      const role = checkRole(principal, settings.user);
      checkSecret(newSecret);
      // NOLOGIN again on purpose: with VALID UNTIL 'infinity' a rotate on a role that was somehow
      // still enabled would otherwise hand out a login that never expires.
      const sql = `ALTER ROLE ${escapeIdentifier(role)} NOLOGIN ${passwordClause(newSecret)} VALID UNTIL 'infinity'`;
      await run('rotate', role, sql, [], true);
    },

    async verify(credential: Credential): Promise<VerifyResult> {
      const role = checkRole(credential.username, undefined);
      // The driver refuses an empty password before the server is asked; the server never
      // stores one either, so no empty secret can be right.
      if (credential.password === '') return 'rejected';
      const client = new Client({
        host: settings.host,
        port: settings.port,
        database: settings.database,
        user: role,
        password: credential.password,
        application_name: 'breakglass-verify',
        ...timeouts,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (err) {
        const verdict = verdictOf(err);
        if (verdict !== undefined) return verdict;
        throw toAppError(err, 'verify', role, true);
      } finally {
        await client.end().catch(() => undefined);
      }
      return 'accepted';
    },

    async inspect(principal): Promise<AccountInspection> {
      const role = checkRole(principal, undefined);
      const res = await run(
        'inspect',
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
  };

  return {
    capabilities,
    prestaged,
    async close() {
      await pool.end();
    },
  };
}

export const postgresDriver: ConnectorDriver = { create: createPostgresConnector };

/**
 * PostgreSQL authenticates before it looks at LOGIN, so "not permitted to log in" means the
 * password was right. 28000 is shared with pg_hba rejections, hence the look at where it was
 * raised (the `routine` field is not translated by lc_messages, the message is).
 */
function verdictOf(err: unknown): VerifyResult | undefined {
  if (!(err instanceof DatabaseError)) return undefined;
  if (err.code === '28P01') return 'rejected';
  if (err.code === '28000' && (err.routine === 'InitializeSessionUserId' || /not permitted to log in/.test(err.message))) {
    return 'accepted';
  }
  // Authenticated, but the role may not CONNECT to this database: the secret itself was right.
  if (err.code === '42501') return 'accepted';
  return undefined;
}

/** Role names are quoted by the driver; these are the inputs quoting cannot make safe. */
function checkRole(principal: string, adminUser: string | undefined): string {
  const bad = (why: string) => new AppError('validation', `postgres role name ${why}`, { path: 'principal' });
  if (typeof principal !== 'string' || principal === '') throw bad('is empty');
  if (principal.includes('\0')) throw bad('contains a NUL character');
  if (/\p{Cs}/u.test(principal)) throw bad('is not well-formed Unicode');
  if (Buffer.byteLength(principal, 'utf8') > MAX_ROLE_BYTES) throw bad(`is longer than ${MAX_ROLE_BYTES} bytes`);
  // Disabling the role Breakglass itself logs in with would lock it out of the target.
  if (principal === adminUser) throw bad('is the connector admin role');
  return principal;
}

function checkSecret(secret: string): void {
  // An empty PASSWORD clears the password on the server instead of setting one.
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0')) {
    throw new AppError('validation', 'postgres secret must be a non-empty string without NUL', { path: 'secret' });
  }
}

const RETRYABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const RETRYABLE_SQLSTATE = new Set(['57P01', '57P02', '57P03', '57014', '53300', '40001', '40P01', '55P03']);
const SQLSTATE_NAMES: Record<string, string> = {
  '28P01': 'invalid_password',
  '28000': 'invalid_authorization_specification',
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

/** The SQLSTATE behind an AppError made by toAppError, whichever form its cause took. */
function sqlStateOf(err: unknown): string | undefined {
  if (!(err instanceof AppError)) throw err;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies a driver failure. The message names operation, role and SQLSTATE only. Server text
 * and the driver error (as `cause`) are kept only when the statement carried no secret material,
 * because a server message can quote the statement it failed on.
 */
function toAppError(err: unknown, op: string, role: string, secretBearing: boolean): AppError {
  if (err instanceof AppError) return err;
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
