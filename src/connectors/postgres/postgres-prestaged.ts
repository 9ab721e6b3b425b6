/**
 * Pre-staged PostgreSQL accounts: a standing role kept NOLOGIN with a sealed secret, given LOGIN
 * with a native VALID UNTIL for the grant, then NOLOGIN + sessions terminated + rotated.
 */
import pg from 'pg';
import type { AccountInspection, AccountSpec, Credential, DetailedVerify, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import { passwordClause, type PgAdmin } from './postgres-admin.js';
import { sqlStateOf, toAppError, verdictOf } from './postgres-errors.js';
import { checkDate, checkRole, checkSecret } from './postgres-names.js';
import { postgresSpec } from './postgres-spec.js';
import { reservedLogin, unadoptedLogin } from '../lib/adopt.js';
import { attributeClause, grantDeclaredRoles, parseDeclaredPrivileges, privilegeDifferences } from './postgres-privileges.js';

const { escapeIdentifier, escapeLiteral } = pg;

export function postgresPrestaged(admin: PgAdmin): PrestagedOperations {
  const { settings, run } = admin;

  return {
    async stage(principal, secret, spec, options) {
      const role = checkRole(principal, settings.user);
      const reserved = postgresSpec.reservedPrincipal?.(role, { ...settings });
      if (reserved !== undefined) throw reservedLogin('postgres role', role, reserved);
      checkSecret(secret);
      const declared = parseDeclaredPrivileges(spec, role, settings.user);
      const ident = escapeIdentifier(role);
      // VALID UNTIL 'infinity': an expired VALID UNTIL makes the server reject even the right
      // password, and a staged secret must be verifiable while the role is disabled.
      // Issue 12 (P1): the declared attributes, every other power off.
      const attrs = `NOLOGIN ${passwordClause(secret)} VALID UNTIL 'infinity' ${attributeClause(declared)}`;
      const alter = () => run('stage', role, `ALTER ROLE ${ident} ${attrs}`, [], true);
      const powers = await admin.rolePowers('stage', role);
      if (powers !== undefined) {
        if (powers.length > 0 && !options?.adopt) throw unadoptedLogin('postgres role', role, powers);
        await alter();
      } else {
        try {
          await run('stage', role, `CREATE ROLE ${ident} ${attrs}`, [], true);
        } catch (err) {
          // A concurrent stage created it between our check and CREATE: converge on ALTER. It
          // fails 42710 when the other CREATE had committed, 23505 (pg_authid's unique index)
          // when both were in flight at once.
          const state = sqlStateOf(err);
          if (state !== '42710' && state !== '23505') throw err;
          await alter();
        }
      }
      await grantDeclaredRoles(admin, 'stage', role, declared);
      await admin.terminateSessions('stage', role);
    },

    async enable(principal, validUntil) {
      const role = checkRole(principal, settings.user);
      const until = escapeLiteral(checkDate(validUntil, 'validUntil').toISOString());
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
      return await admin.terminateSessions('disable', role);
    },

    async rotate(principal, newSecret) {
      const role = checkRole(principal, settings.user);
      checkSecret(newSecret);
      // NOLOGIN again on purpose: with VALID UNTIL 'infinity' a rotate on a role that was somehow
      // still enabled would otherwise hand out a login that never expires.
      const sql = `ALTER ROLE ${escapeIdentifier(role)} NOLOGIN ${passwordClause(newSecret)} VALID UNTIL 'infinity'`;
      await run('rotate', role, sql, [], true);
    },

    verify: async (credential: Credential): Promise<VerifyResult> => (await connectAs(admin, credential, 'verify', verdictOf)).verdict,

    // issue 12 (P2): the same check, with the server's SQLSTATE (28P01 for a wrong password;
    // 28000 for a right one on a NOLOGIN role) or `ok` when the login went through.
    verifyDetailed: (credential: Credential): Promise<DetailedVerify> => connectAs(admin, credential, 'verify', verdictOf),

    // A real login (drills): a role without LOGIN, or past its VALID UNTIL, is rejected here.
    tryLogin: async (credential: Credential): Promise<VerifyResult> =>
      (await connectAs(admin, credential, 'login', (err) => (verdictOf(err) === undefined ? undefined : 'rejected'))).verdict,

    async inspect(principal: string, spec?: AccountSpec): Promise<AccountInspection> {
      const role = checkRole(principal, undefined);
      const seen = await admin.inspectRole('inspect', role);
      if (spec === undefined || !seen.exists) return seen;
      // Issue 12 (P1): the declared privileges read back (rolsuper, rolcreaterole, rolcreatedb, pg_auth_members).
      const differences = await privilegeDifferences(admin, 'inspect', role, parseDeclaredPrivileges(spec, role, settings.user));
      return differences === undefined ? seen : { ...seen, privilegeDifferences: differences };
    },
  };
}

/**
 * Connects as the role with the secret and runs one statement: 'accepted' when it ran, else the
 * verdict `onError` reads from the failure (undefined: a real error, thrown without server text).
 */
async function connectAs(admin: PgAdmin, credential: Credential, op: 'verify' | 'login', onError: (err: unknown) => VerifyResult | undefined): Promise<DetailedVerify> {
  const role = checkRole(credential.username, undefined);
  // The driver refuses an empty password before the server is asked; the server never
  // stores one either, so no empty secret can be right.
  if (credential.password === '') return { verdict: 'rejected', code: 'empty' };
  const client = new admin.Client({
    ...admin.settings,
    user: role,
    password: credential.password,
    application_name: `breakglass-${op}`,
    ...admin.timeouts,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    if (op === 'login') await client.query('SELECT 1');
  } catch (err) {
    const verdict = onError(err);
    if (verdict !== undefined) return { verdict, code: sqlStateOfDriver(err) };
    throw toAppError(err, op, role, true);
  } finally {
    await client.end().catch(() => undefined);
  }
  return { verdict: 'accepted', code: 'ok' };
}

/** The SQLSTATE of a driver error (a code, never server text). */
function sqlStateOfDriver(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
