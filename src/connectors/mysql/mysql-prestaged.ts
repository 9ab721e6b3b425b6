/**
 * Pre-staged MariaDB accounts `'<user>'@'%'`: kept ACCOUNT LOCK with a sealed secret, unlocked
 * for a grant, then locked + connections killed + rotated. MariaDB has no per-account expiry by
 * time, so the grant's end is enforced by Breakglass calling `disable`.
 */
import { z } from 'zod';
import type { AccountInspection, AccountSpec, Credential, DetailedVerify, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { unadoptedLogin } from '../lib/adopt.js';
import { endSessions, inspection, readAccount, type MysqlAdmin } from './mysql-admin.js';
import { existingPowers } from './mysql-adopt.js';
import { ER, errnoOf, specError } from './mysql-errors.js';
import { checkSecret, checkUser, identifiedClause, nativeHashMatches, quoteAccount } from './mysql-names.js';
import { parsePrivileges, type GrantClause } from './mysql-privileges.js';
import { actualGrants, declaredGrants, grantDifferences } from './mysql-declared.js';
import { requireValidUntil } from '../lib/valid-until.js';

// issue 12 (P1): `adopt` is the catalog's (it travels in the account spec too).
const prestagedSpec = z.strictObject({ user: z.string().optional(), privileges: z.unknown().optional(), adopt: z.boolean().optional() });

/** Pre-staged spec `{user?, privileges?}`: `user` must name the principal it is staged as. */
function prestagedGrants(spec: AccountSpec | undefined, user: string): GrantClause[] {
  const parsed = prestagedSpec.safeParse(spec ?? {});
  if (!parsed.success) throw specError(parsed.error);
  if (parsed.data.user !== undefined && parsed.data.user !== user) {
    throw new AppError('validation', 'mysql spec.user differs from the principal being staged', { path: 'spec.user' });
  }
  return parsed.data.privileges === undefined ? [] : parsePrivileges(parsed.data.privileges, 'spec.privileges');
}

export function mysqlPrestaged({ adminUser, timeoutMs, asAdmin, loginVerdict, loginAnswer }: MysqlAdmin): PrestagedOperations {
  const check = (principal: unknown) => checkUser(principal, adminUser);
  return {
    async stage(principal, secret, spec, options) {
      const user = check(principal);
      const grants = prestagedGrants(spec, user);
      const auth = identifiedClause(checkSecret(secret));
      await asAdmin('stage', user, async (sql) => {
        // Before anything changes: someone else's login is taken over only when adopted.
        if (options?.adopt !== true) {
          const powers = await existingPowers(sql, user);
          if (powers.length > 0) throw unadoptedLogin('mysql user', user, powers);
        }
        const account = quoteAccount(user);
        // CREATE … IF NOT EXISTS leaves an existing account as it was: the ALTER converges it.
        await sql.exec(`CREATE USER IF NOT EXISTS ${account} ${auth} PASSWORD EXPIRE NEVER ACCOUNT LOCK`, { secret: true });
        await sql.exec(`ALTER USER ${account} ${auth} PASSWORD EXPIRE NEVER ACCOUNT LOCK`, { secret: true });
        // Issue 12 (P1): exactly the declared privileges — whatever else the account held goes first.
        await sql.exec(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${account}`);
        for (const grant of grants) await sql.exec(`GRANT ${grant.clause} TO ${account}`);
        await endSessions(sql, user);
      });
    },

    async enable(principal, validUntil) {
      const user = check(principal);
      requireValidUntil('mysql', validUntil);
      await asAdmin('enable', user, (sql) => sql.exec(`ALTER USER ${quoteAccount(user)} ACCOUNT UNLOCK`));
    },

    async disable(principal) {
      const user = check(principal);
      return await asAdmin('disable', user, async (sql) => {
        try {
          await sql.exec(`ALTER USER ${quoteAccount(user)} ACCOUNT LOCK`);
        } catch (err) {
          // Revocation converges: an account that does not exist cannot log in either.
          if (errnoOf(err) !== ER.CANNOT_USER) throw err;
        }
        // ACCOUNT LOCK is checked at login only: connections already open keep working.
        return await endSessions(sql, user);
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
      return (await verifyDetailed(credential)).verdict;
    },

    // issue 12 (P2): the verdict with what settled it — the server's error number (1045 a wrong
    // password, 4151 a right one on a locked account) or `stored-hash-mismatch` (see below).
    verifyDetailed,

    // A real login (drills): a locked account is rejected even with the right secret.
    async tryLogin(credential: Credential): Promise<VerifyResult> {
      const user = checkUser(credential.username, undefined);
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      return loginVerdict(user, credential.password, timeoutMs, 'login');
    },

    async inspect(principal: string, spec?: AccountSpec): Promise<AccountInspection> {
      const user = checkUser(principal, undefined);
      // Issue 12 (P1): with the spec, SHOW GRANTS is compared with the declared privileges.
      const declared = spec === undefined ? undefined : declaredGrants(prestagedGrants(spec, user));
      return asAdmin('inspect', user, async (sql) => {
        const seen = inspection(await readAccount(sql, user));
        if (declared === undefined || !seen.exists) return seen;
        return { ...seen, privilegeDifferences: grantDifferences(declared, await actualGrants(sql, user)) };
      });
    },
  };

  async function verifyDetailed(credential: Credential): Promise<DetailedVerify> {
    const started = Date.now();
    const user = checkUser(credential.username, undefined);
    if (typeof credential.password !== 'string' || credential.password === '') return { verdict: 'rejected', code: 'empty' };
    const row = await asAdmin('verify', user, (sql) => readAccount(sql, user));
    if (row?.present !== 1) return { verdict: 'rejected', code: 'no-such-user' };
    // A wrong native secret is settled from the stored hash, so it never counts towards
    // max_password_errors (which would block the account) nor shows as a failed login.
    if (row.plugin === 'mysql_native_password' && row.auth !== null && !nativeHashMatches(row.auth, credential.password)) {
      return { verdict: 'rejected', code: 'stored-hash-mismatch' };
    }
    // One deadline for both connections: what the admin read left over bounds the login.
    return loginAnswer(user, credential.password, Math.max(1, timeoutMs - (Date.now() - started)));
  }
}
