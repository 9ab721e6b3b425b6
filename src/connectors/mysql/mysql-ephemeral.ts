/**
 * Ephemeral MariaDB credentials: one account `'<ephemeralPrincipal(grantId)>'@'%'` per grant
 * with a random password and the catalog's GRANTs, dropped (and its connections killed) at the end.
 */
import { z } from 'zod';
import type { AccountSpec, EphemeralOperations } from '../../ports/index.js';
import { ephemeralPrincipal } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { newSecret } from '../lib/passwords.js';
import { endSessions, inspection, readAccount, type MysqlAdmin } from './mysql-admin.js';
import { specError } from './mysql-errors.js';
import { identifiedClause, quoteAccount } from './mysql-names.js';
import { parsePrivileges, type GrantClause } from './mysql-privileges.js';

const ephemeralSpec = z.strictObject({ privileges: z.unknown() });

/** Ephemeral spec `{privileges}`: at least one grant, or the credential could do nothing. */
function ephemeralGrants(spec: AccountSpec): GrantClause[] {
  const parsed = ephemeralSpec.safeParse(spec);
  if (!parsed.success) throw specError(parsed.error);
  return parsePrivileges(parsed.data.privileges, 'spec.privileges');
}

/** The grant's user name; 'bg_' alone (no letters or digits) would share its account with others. */
function userOf(grantId: string): string {
  const user = ephemeralPrincipal(grantId);
  if (user === 'bg_') throw new AppError('validation', 'mysql: the grant id has no letters or digits', { path: 'grantId' });
  return user;
}

export function mysqlEphemeral({ asAdmin }: MysqlAdmin): EphemeralOperations {
  return {
    async issue(request) {
      const user = userOf(request.grantId);
      const grants = ephemeralGrants(request.spec);
      const password = newSecret();
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
      return await asAdmin('revoke', user, async (sql) => {
        // Drop first: from then on no new login can succeed, so the kill loop converges.
        await sql.exec(`DROP USER IF EXISTS ${quoteAccount(user)}`);
        return await endSessions(sql, user);
      });
    },

    async inspectIssued(request) {
      const user = userOf(request.grantId);
      return inspection(await asAdmin('inspect', user, (sql) => readAccount(sql, user)));
    },
  };
}
