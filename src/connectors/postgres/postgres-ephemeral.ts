/**
 * Ephemeral PostgreSQL credentials: one role per grant, created with LOGIN, a random password
 * (sent only as a SCRAM verifier), a native VALID UNTIL and the catalog's granted roles; at the
 * end NOLOGIN, sessions terminated, its objects reassigned and/or dropped, and the role dropped.
 */
import pg from 'pg';
import type { AccountInspection, EphemeralOperations, IssueRequest, RevealedCredential, SessionsEnded } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { newSecret } from '../lib/passwords.js';
import { passwordClause, type PgAdmin, type Sql } from './postgres-admin.js';
import { checkGrantable, issuedRole, parseEphemeralSpec, type EphemeralSpec } from './postgres-granted-roles.js';
import { sqlStateOf } from './postgres-errors.js';
import { checkDate } from './postgres-names.js';

const { escapeIdentifier, escapeLiteral } = pg;

/** Explicit although they are the defaults: the role must never be more than a login. */
const PLAIN_ROLE = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';

export function postgresEphemeral(admin: PgAdmin): EphemeralOperations {
  const adminUser = admin.settings.user;

  return {
    async issue(request: IssueRequest): Promise<RevealedCredential> {
      const role = issuedRole(request.grantId, adminUser);
      const spec = parseEphemeralSpec(request.spec, role, adminUser);
      const until = checkDate(request.validUntil, 'validUntil');
      await checkGrantable(admin, role, spec.grantedRoles);
      // ASCII (lib/passwords.ts), so the SCRAM verifier is always built locally.
      const password = newSecret();
      const outcome = await createOrReplace(admin, role, password, until, spec.grantedRoles);
      // A retried issue replaces a credential that was never revealed: whoever holds a session
      // under it did not get it from Breakglass.
      if (outcome === 'replaced') await admin.terminateSessions('issue', role);
      return { username: role, password };
    },

    async revoke(request): Promise<SessionsEnded> {
      const role = issuedRole(request.grantId, adminUser);
      const exists = await admin.roleExists('revoke', role);
      let ended: SessionsEnded = { sessionsBefore: 0, sessionsEnded: 0 };
      // Access first, spec second: a bad spec must never keep a credential able to log in.
      if (exists) {
        try {
          await admin.run('revoke', role, `ALTER ROLE ${escapeIdentifier(role)} NOLOGIN PASSWORD NULL`);
        } catch (err) {
          if (sqlStateOf(err) !== '42704') throw err;
        }
        ended = await admin.terminateSessions('revoke', role);
      }
      const spec = parseEphemeralSpec(request.spec, role, adminUser);
      if (exists) await dropIssuedRole(admin, role, spec);
      return ended;
    },

    async inspectIssued(request): Promise<AccountInspection> {
      return await admin.inspectRole('inspectIssued', issuedRole(request.grantId, adminUser));
    },

    // issue 11 (H2): an extension moves the role's native expiry.
    async extendIssued(request): Promise<void> {
      const role = issuedRole(request.grantId, adminUser);
      const until = escapeLiteral(checkDate(request.validUntil, 'validUntil').toISOString());
      await admin.run('extendIssued', role, `ALTER ROLE ${escapeIdentifier(role)} VALID UNTIL ${until}`);
    },
  };
}

/**
 * One transaction, retried once when a concurrent issue created the role first (42710, or 23505
 * from the catalog's unique index when both CREATEs raced past the existence check).
 */
async function createOrReplace(
  admin: PgAdmin,
  role: string,
  password: string,
  until: Date,
  granted: readonly string[],
): Promise<'created' | 'replaced'> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.transaction('issue', role, (sql) => upsertRole(sql, role, password, until, granted));
    } catch (err) {
      const state = sqlStateOf(err);
      if (attempt >= 2 || (state !== '42710' && state !== '23505')) throw err;
    }
  }
}

async function upsertRole(sql: Sql, role: string, password: string, until: Date, granted: readonly string[]) {
  const ident = escapeIdentifier(role);
  const login = `LOGIN ${passwordClause(password)} VALID UNTIL ${escapeLiteral(until.toISOString())}`;
  const found = await sql(
    `select rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls as privileged
       from pg_roles where rolname = $1`,
    [role],
  );
  const existing = found.rows[0] as { privileged: boolean } | undefined;
  if (existing === undefined) {
    const inRole = granted.length === 0 ? '' : ` IN ROLE ${granted.map(escapeIdentifier).join(', ')}`;
    await sql(`CREATE ROLE ${ident} WITH ${PLAIN_ROLE} ${login}${inRole}`, [], true);
    return 'created' as const;
  }
  // Names are derived from grant ids, so this is a collision with a role Breakglass did not make.
  if (existing.privileged) {
    throw new AppError('target_error', `postgres issue of role ${JSON.stringify(role)} failed: it exists with privileged attributes`);
  }
  await sql(`ALTER ROLE ${ident} WITH ${login}`, [], true);
  await syncMemberships(sql, role, granted);
  return 'replaced' as const;
}

/** Makes the role a member of exactly the granted roles (a retry may come with a new spec). */
async function syncMemberships(sql: Sql, role: string, granted: readonly string[]): Promise<void> {
  const res = await sql(
    `select g.rolname from pg_auth_members m
       join pg_roles g on g.oid = m.roleid
       join pg_roles r on r.oid = m.member
      where r.rolname = $1`,
    [role],
  );
  const current = new Set((res.rows as { rolname: string }[]).map((row) => row.rolname));
  const missing = granted.filter((name) => !current.has(name));
  const extra = [...current].filter((name) => !granted.includes(name));
  const ident = escapeIdentifier(role);
  if (missing.length > 0) await sql(`GRANT ${missing.map(escapeIdentifier).join(', ')} TO ${ident}`);
  if (extra.length > 0) await sql(`REVOKE ${extra.map(escapeIdentifier).join(', ')} FROM ${ident}`);
}

/**
 * REASSIGN OWNED / DROP OWNED only act on the database they run in (plus shared objects), so
 * they run in every other database the role has a footprint in, then here with DROP ROLE in the
 * same transaction.
 */
async function dropIssuedRole(admin: PgAdmin, role: string, spec: EphemeralSpec): Promise<void> {
  const ident = escapeIdentifier(role);
  const cleanup = async (sql: Sql) => {
    if (spec.reassignOwnedTo !== undefined) await sql(`REASSIGN OWNED BY ${ident} TO ${escapeIdentifier(spec.reassignOwnedTo)}`);
    if (spec.dropOwned) await sql(`DROP OWNED BY ${ident}`);
  };
  if (spec.reassignOwnedTo !== undefined || spec.dropOwned) {
    for (const database of await otherDatabases(admin, role)) await admin.onDatabase(database, 'revoke', role, cleanup);
  }
  try {
    await admin.transaction('revoke', role, async (sql) => {
      await cleanup(sql);
      await sql(`DROP ROLE IF EXISTS ${ident}`);
    });
  } catch (err) {
    if (sqlStateOf(err) !== '2BP01') throw err;
    throw new AppError(
      'target_error',
      `postgres revoke of role ${JSON.stringify(role)}: it can no longer log in and has no sessions, but it still owns ` +
        'objects or holds privileges, so it was not dropped (set dropOwned or reassignOwnedTo, or clean up by hand)',
      { cause: err, retryable: false },
    );
  }
}

/** Databases other than ours holding objects or privileges of the role (pg_shdepend). */
async function otherDatabases(admin: PgAdmin, role: string): Promise<string[]> {
  const res = await admin.run(
    'revoke',
    role,
    `select distinct d.datname from pg_shdepend s
       join pg_database d on d.oid = s.dbid
      where s.refclassid = 'pg_authid'::regclass
        and s.refobjid = (select oid from pg_roles where rolname = $1)
        and d.datname <> current_database() and d.datallowconn
      order by 1`,
    [role],
  );
  return (res.rows as { datname: string }[]).map((row) => row.datname);
}
