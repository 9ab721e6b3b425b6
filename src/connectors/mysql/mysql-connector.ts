/**
 * The MariaDB connector: accounts `'<user>'@'%'`, pre-staged (mysql-prestaged.ts) and ephemeral
 * (mysql-ephemeral.ts), over a small pool of admin connections (mysql-admin.ts).
 * Invariants and import rules: ./README.md.
 */
import { z } from 'zod';
import type { Connector, ConnectorCapabilities, ConnectorDriver, TargetConnection } from '../../ports/index.js';
import { specFields } from '../lib/connector-spec.js';
import { parseSettings, parseTimeout } from '../lib/target-settings.js';
import { createMysqlAdmin } from './mysql-admin.js';
import { mysqlEphemeral } from './mysql-ephemeral.js';
import { mysqlPrestaged } from './mysql-prestaged.js';
import { mysqlTransport } from './mysql-transport.js';

const settingsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(128),
  tls: specFields.tls.optional(),
  allowCleartext: specFields.allowCleartext.optional(),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  supportsSessionKill: true,
  // MariaDB has no per-account expiry by time; the engine's revocation job is the bound.
  supportsNativeExpiry: false,
  supportsPrestaged: true,
  supportsEphemeral: true,
});

/**
 * Creates the connector for one MariaDB (≥ 10.4) target. Nothing connects until the first call;
 * operations share a small pool of admin connections, each bounded by `timeoutMs`.
 *
 * @example
 *   const db = createMysqlConnector({
 *     type: 'mysql',
 *     settings: { host: 'db.internal', port: 3306, user: 'breakglass_admin', tls: { caFile: '/etc/ssl/maria-ca.pem' } },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await db.prestaged?.enable('bg_oncall_dba', grantEnd);
 *   const { username, password } = await db.ephemeral!.issue({ grantId, spec: { privileges: ['SELECT ON app.*'] }, validUntil });
 */
export function createMysqlConnector(target: TargetConnection): Connector {
  const settings = parseSettings('mysql', settingsSchema, target.settings);
  const timeoutMs = parseTimeout('mysql', target.timeoutMs);
  // Read once (the CA file too): every connection, the admin's and a login as an account, uses it.
  const transport = mysqlTransport(settings.tls, settings.allowCleartext);
  // The admin password may be empty (a local root without one); the server decides.
  const admin = createMysqlAdmin({ host: settings.host, port: settings.port, user: settings.user, password: target.adminSecret ?? '', transport }, timeoutMs, target.poolMax);
  return {
    capabilities,
    prestaged: mysqlPrestaged(admin),
    ephemeral: mysqlEphemeral(admin),
    // issue 13 (pool): the admin connections are pooled; a login as an account closes its own.
    close: () => admin.close(),
  };
}

export const mysqlDriver: ConnectorDriver = { create: createMysqlConnector };
