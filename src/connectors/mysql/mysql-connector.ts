/**
 * MariaDB accounts `'<user>'@'%'`, pre-staged (kept ACCOUNT LOCK with a sealed secret, unlocked
 * for a grant, then locked + connections killed + rotated) and ephemeral (a user per grant with
 * the catalog's GRANTs, dropped at the end). Invariants and import rules: ./README.md.
 */
import { z } from 'zod';
import type {
  AccountInspection,
  AccountSpec,
  Connector,
  ConnectorCapabilities,
  ConnectorDriver,
  Credential,
  EphemeralOperations,
  PrestagedOperations,
  TargetConnection,
  VerifyResult,
} from '../../ports/index.js';
import { ephemeralPrincipal } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { ER, errnoOf, sqlOn, withConnection, type Endpoint, type Sql } from './mysql-client.js';
import { checkSecret, checkUser, generatePassword, identifiedClause, nativeHashMatches, quoteAccount } from './mysql-names.js';
import { parsePrivileges, type GrantClause } from './mysql-privileges.js';

const DEFAULT_TIMEOUT_MS = 5000;
/** How long disable/revoke wait for killed connections to leave the processlist. */
const SESSION_DRAIN_MS = 2000;
const SESSION_POLL_MS = 50;

const settingsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(128),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  supportsSessionKill: true,
  // MariaDB has no per-account expiry by time; the engine's revocation job is the bound.
  supportsNativeExpiry: false,
  supportsPrestaged: true,
  supportsEphemeral: true,
});

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

interface AccountRow {
  present: number | null;
  locked: string | null;
  plugin: string | null;
  auth: string | null;
  sessions: number | string;
}

/**
 * Creates the connector for one MariaDB (≥ 10.4) target. Nothing connects until the first call;
 * each operation uses its own short connection, bounded by `timeoutMs`.
 *
 * @example
 *   const db = createMysqlConnector({
 *     type: 'mysql',
 *     settings: { host: 'db.internal', port: 3306, user: 'breakglass_admin' },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await db.prestaged?.enable('bg_oncall_dba', grantEnd);
 *   const { username, password } = await db.ephemeral!.issue({ grantId, spec: { privileges: ['SELECT ON app.*'] }, validUntil });
 */
export function createMysqlConnector(target: TargetConnection): Connector {
  const parsed = settingsSchema.safeParse(target.settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('validation', `mysql target settings are invalid: ${issue?.message ?? 'unknown'}`, {
      path: `settings.${issue?.path.join('.') ?? ''}`,
    });
  }
  const settings = parsed.data;
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new AppError('validation', 'mysql target timeoutMs must be a positive integer', { path: 'timeoutMs' });
  }
  // The admin password may be empty (a local root without one); the server decides.
  const admin: Endpoint = { host: settings.host, port: settings.port, user: settings.user, password: target.adminSecret ?? '' };
  const ctx = targetContext(admin, timeoutMs);
  return {
    capabilities,
    prestaged: prestagedOperations(ctx),
    ephemeral: ephemeralOperations(ctx),
    // Every operation closes its own connection; there is no pool to release.
    close: () => Promise.resolve(),
  };
}

export const mysqlDriver: ConnectorDriver = { create: createMysqlConnector };

/** What the operations of both modes share: the admin connection and the login as an account. */
interface TargetContext {
  readonly adminUser: string;
  readonly timeoutMs: number;
  readonly asAdmin: <T>(op: string, user: string, work: (sql: Sql) => Promise<T>) => Promise<T>;
  readonly loginVerdict: (user: string, password: string, remainingMs: number) => Promise<VerifyResult>;
}

function targetContext(admin: Endpoint, timeoutMs: number): TargetContext {
  const where = (op: string, user: string) => `mysql ${op} of user ${JSON.stringify(user)} failed`;
  return {
    adminUser: admin.user,
    timeoutMs,
    /** Runs `work` on an admin connection whose DDL lock waits end before our deadline. */
    asAdmin(op, user, work) {
      const label = where(op, user);
      return withConnection(admin, timeoutMs, label, async (conn) => {
        const sql = sqlOn(conn, label);
        await sql.exec(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.floor(timeoutMs / 1000))}`);
        return work(sql);
      });
    },
    /** Logs in as the account: MariaDB authenticates first and only then looks at the lock. */
    async loginVerdict(user, password, remainingMs) {
      try {
        await withConnection({ ...admin, user, password }, remainingMs, where('verify', user), () => Promise.resolve());
        return 'accepted';
      } catch (err) {
        const errno = errnoOf(err);
        if (errno === ER.ACCOUNT_LOCKED) return 'accepted';
        if (errno === ER.ACCESS_DENIED || errno === ER.ACCESS_DENIED_NO_PASSWORD || errno === ER.HOST_NOT_PRIVILEGED) return 'rejected';
        throw err;
      }
    },
  };
}

function prestagedOperations({ adminUser, timeoutMs, asAdmin, loginVerdict }: TargetContext): PrestagedOperations {
  const check = (principal: unknown) => checkUser(principal, adminUser);
  return {
    async stage(principal, secret, spec) {
      const user = check(principal);
      const grants = prestagedGrants(spec, user);
      const auth = identifiedClause(checkSecret(secret));
      await asAdmin('stage', user, async (sql) => {
        const account = quoteAccount(user);
        // CREATE … IF NOT EXISTS leaves an existing account as it was: the ALTER converges it.
        await sql.exec(`CREATE USER IF NOT EXISTS ${account} ${auth} PASSWORD EXPIRE NEVER ACCOUNT LOCK`, { secret: true });
        await sql.exec(`ALTER USER ${account} ${auth} PASSWORD EXPIRE NEVER ACCOUNT LOCK`, { secret: true });
        for (const grant of grants) await sql.exec(`GRANT ${grant.clause} TO ${account}`);
        await endSessions(sql, user);
      });
    },

    async enable(principal, validUntil) {
      const user = check(principal);
      if (!(validUntil instanceof Date) || Number.isNaN(validUntil.getTime())) {
        throw new AppError('validation', 'mysql enable needs a valid validUntil date', { path: 'validUntil' });
      }
      await asAdmin('enable', user, (sql) => sql.exec(`ALTER USER ${quoteAccount(user)} ACCOUNT UNLOCK`));
    },

    async disable(principal) {
      const user = check(principal);
      await asAdmin('disable', user, async (sql) => {
        try {
          await sql.exec(`ALTER USER ${quoteAccount(user)} ACCOUNT LOCK`);
        } catch (err) {
          // Revocation converges: an account that does not exist cannot log in either.
          if (errnoOf(err) !== ER.CANNOT_USER) throw err;
        }
        // ACCOUNT LOCK is checked at login only: connections already open keep working.
        await endSessions(sql, user);
      });
    },

    async rotate(principal, newSecret) {
      const user = check(principal);
      const auth = identifiedClause(checkSecret(newSecret));
      await asAdmin('rotate', user, async (sql) => {
        // LOCK again on purpose: a rotate must never leave a login open with the new secret.
        await sql.exec(`ALTER USER ${quoteAccount(user)} ${auth} PASSWORD EXPIRE NEVER ACCOUNT LOCK`, { secret: true });
        await endSessions(sql, user);
      });
    },

    async verify(credential: Credential): Promise<VerifyResult> {
      const started = Date.now();
      const user = checkUser(credential.username, undefined);
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      const row = await asAdmin('verify', user, (sql) => readAccount(sql, user));
      if (row?.present !== 1) return 'rejected';
      // A wrong native secret is settled from the stored hash, so it never counts towards
      // max_password_errors (which would block the account) nor shows as a failed login.
      if (row.plugin === 'mysql_native_password' && row.auth !== null && !nativeHashMatches(row.auth, credential.password)) {
        return 'rejected';
      }
      // One deadline for both connections: what the admin read left over bounds the login.
      return loginVerdict(user, credential.password, Math.max(1, timeoutMs - (Date.now() - started)));
    },

    async inspect(principal): Promise<AccountInspection> {
      const user = checkUser(principal, undefined);
      const row = await asAdmin('inspect', user, (sql) => readAccount(sql, user));
      return inspection(row);
    },
  };
}

function ephemeralOperations({ asAdmin }: TargetContext): EphemeralOperations {
  const userOf = (grantId: string) => {
    const user = ephemeralPrincipal(grantId);
    // 'bg_' alone: a grant id without letters or digits would share its account with others.
    if (user === 'bg_') throw new AppError('validation', 'mysql: the grant id has no letters or digits', { path: 'grantId' });
    return user;
  };
  return {
    async issue(request) {
      const user = userOf(request.grantId);
      const grants = ephemeralGrants(request.spec);
      const password = generatePassword();
      await asAdmin('issue', user, async (sql) => {
        const account = quoteAccount(user);
        // A retry replaces a half-made credential; whoever held the old one is cut off.
        await sql.exec(`DROP USER IF EXISTS ${account}`);
        await endSessions(sql, user);
        try {
          await sql.exec(`CREATE USER ${account} ${identifiedClause(password)} PASSWORD EXPIRE NEVER`, { secret: true });
          for (const grant of grants) await sql.exec(`GRANT ${grant.clause} TO ${account}`);
        } catch (err) {
          await sql.exec(`DROP USER IF EXISTS ${account}`).catch(() => undefined);
          throw err;
        }
      });
      return { username: user, password };
    },

    async revoke(request) {
      const user = userOf(request.grantId);
      await asAdmin('revoke', user, async (sql) => {
        // Drop first: from then on no new login can succeed, so the kill loop converges.
        await sql.exec(`DROP USER IF EXISTS ${quoteAccount(user)}`);
        await endSessions(sql, user);
      });
    },

    async inspectIssued(request) {
      const user = userOf(request.grantId);
      return inspection(await asAdmin('inspect', user, (sql) => readAccount(sql, user)));
    },
  };
}

async function readAccount(sql: Sql, user: string): Promise<AccountRow | undefined> {
  const rows = await sql.rows<AccountRow>(INSPECT_SQL, [user, user]);
  return rows[0];
}

function inspection(row: AccountRow | undefined): AccountInspection {
  const exists = row?.present === 1;
  const locked = row?.locked === '1' || row?.locked === 'true';
  return { exists, canLogin: exists && !locked, validUntil: undefined, sessions: Number(row?.sessions ?? 0) };
}

/**
 * Kills every connection logged in under the user name until none is left, or gives up
 * retryably. BINARY: PROCESSLIST.USER compares case-insensitively, which would also hit `ADMIN`.
 */
async function endSessions(sql: Sql, user: string): Promise<void> {
  const deadline = Date.now() + SESSION_DRAIN_MS;
  for (;;) {
    const rows = await sql.rows<{ ID: number }>(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE BINARY USER = ? AND ID <> CONNECTION_ID()',
      [user],
    );
    if (rows.length === 0) return;
    if (Date.now() >= deadline) {
      throw new AppError('target_unavailable', `mysql: ${rows.length} connection(s) of user ${JSON.stringify(user)} still alive after KILL`, {
        retryable: true,
      });
    }
    for (const { ID } of rows) {
      if (!Number.isSafeInteger(Number(ID))) continue;
      try {
        await sql.exec(`KILL CONNECTION ${Number(ID)}`);
      } catch (err) {
        // Gone between the SELECT and the KILL: that is what we wanted.
        if (errnoOf(err) !== ER.NO_SUCH_THREAD) throw err;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SESSION_POLL_MS));
  }
}

const prestagedSpec = z.strictObject({ user: z.string().optional(), privileges: z.unknown().optional() });
const ephemeralSpec = z.strictObject({ privileges: z.unknown() });

/** Pre-staged spec `{user?, privileges?}`: `user` must name the principal it is staged as. */
function prestagedGrants(spec: AccountSpec | undefined, user: string): GrantClause[] {
  const parsed = prestagedSpec.safeParse(spec ?? {});
  if (!parsed.success) throw specError(parsed.error);
  if (parsed.data.user !== undefined && parsed.data.user !== user) {
    throw new AppError('validation', 'mysql spec.user differs from the principal being staged', { path: 'spec.user' });
  }
  return parsed.data.privileges === undefined ? [] : parsePrivileges(parsed.data.privileges, 'spec.privileges');
}

/** Ephemeral spec `{privileges}`: at least one grant, or the credential could do nothing. */
function ephemeralGrants(spec: AccountSpec): GrantClause[] {
  const parsed = ephemeralSpec.safeParse(spec);
  if (!parsed.success) throw specError(parsed.error);
  return parsePrivileges(parsed.data.privileges, 'spec.privileges');
}

function specError(error: z.ZodError): AppError {
  const issue = error.issues[0];
  return new AppError('validation', `mysql account spec is invalid: ${issue?.message ?? 'unknown'}`, {
    path: `spec.${issue?.path.join('.') ?? ''}`,
  });
}
