/**
 * What the catalog accepts for `type: mysql` (src/connectors/specs.ts): connection settings, a
 * pre-staged `user` with optional standing `privileges` and `adopt`, ephemeral `privileges`, and
 * the logins MariaDB reserves. zod only.
 */
import { z } from 'zod';
import { specFields, type ConnectorSpec } from '../lib/connector-spec.js';

/**
 * MariaDB's own accounts, never a break-glass login whatever admin the connector runs as:
 * `mariadb.sys` owns the mysql.user view, `PUBLIC` is the 10.11 pseudo-role, `mysql` is Debian's
 * unix_socket superuser, `debian-sys-maint` its maintenance account.
 */
const SYSTEM_USERS = new Set(['root', 'mariadb.sys', 'mysql', 'mysql.sys', 'mysql.session', 'mysql.infoschema', 'public', 'debian-sys-maint']);

/**
 * Why a user can never be staged as a break-glass account, or `undefined`. Compared without case:
 * `ROOT` is refused with `root`, on the side of caution.
 *
 * @example reservedMysqlUser('breakglass_admin', 'breakglass_admin') // → "it is the target's admin user, …"
 */
export function reservedMysqlUser(user: string, adminUser: string | undefined): string | undefined {
  if (adminUser !== undefined && user === adminUser) return "it is the target's admin user, the one Breakglass logs in with";
  if (SYSTEM_USERS.has(user.toLowerCase())) return "it is one of MariaDB's system accounts";
  return undefined;
}

export const mysqlSpec: ConnectorSpec = {
  settings: { host: specFields.host, port: specFields.port, user: z.string().min(1).max(80), tls: specFields.tls.optional(), allowCleartext: specFields.allowCleartext.optional() },
  accounts: {
    prestaged: { user: specFields.user, privileges: specFields.privileges.optional(), adopt: specFields.adopt.optional() },
    ephemeral: { privileges: specFields.privileges },
  },
  principalField: 'user',
  reservedPrincipal: (user, settings) => reservedMysqlUser(user, typeof settings['user'] === 'string' ? settings['user'] : undefined),
  example: {
    target: { name: 'maria', type: 'mysql', host: 'db.internal', port: 3306, user: 'breakglass_admin', passwordEnv: 'MARIA_ADMIN_PASSWORD' },
    accounts: [
      { name: 'maria-bg', target: 'maria', mode: 'prestaged', user: 'bg_admin', policy: 'p0' },
      { name: 'maria-jit', target: 'maria', mode: 'ephemeral', privileges: ['SELECT, INSERT ON app.*'], policy: 'p0' },
    ],
  },
};
