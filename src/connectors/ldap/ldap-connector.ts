/**
 * The LDAP connector: pre-staged directory accounts (ldap-prestaged.ts) over per-call admin
 * binds (ldap-admin.ts). Why this lock, and what the target needs: ./README.md.
 */
import { z } from 'zod';
import type { Connector, ConnectorCapabilities, ConnectorDriver, TargetConnection } from '../../ports/index.js';
import { specFields } from '../lib/connector-spec.js';
import { parseSettings, parseTimeout, requireAdminSecret } from '../lib/target-settings.js';
import { createLdapAdmin } from './ldap-admin.js';
import { parseDn } from './ldap-dn.js';
import { checkAccount } from './ldap-names.js';
import { ldapPrestaged } from './ldap-prestaged.js';
import { ldapTransport } from './ldap-transport.js';

const settingsSchema = z.strictObject({
  url: z.string().regex(/^ldaps?:\/\/[^/?#\s]+\/?$/, 'must be ldap://host:port or ldaps://host:port'),
  bindDn: z.string().min(1),
  baseDn: z.string().min(1).optional(),
  tls: specFields.tls.optional(),
  allowCleartext: specFields.allowCleartext.optional(),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  // A simple bind lives as long as its connection, and no LDAP operation lets an administrator
  // close another client's connection: a session opened during the grant outlives disable.
  supportsSessionKill: false,
  supportsNativeExpiry: true,
  supportsPrestaged: true,
  supportsEphemeral: false,
});

/**
 * Creates the connector for one directory. Nothing connects until the first call; every call
 * opens its own connection (TLS first: `ldaps://`, or StartTLS when `tls` is set), binds as
 * `bindDn`, and unbinds. On plain `ldap://` every call is refused unless `allowCleartext: true`.
 *
 * @example
 *   const dir = createLdapConnector({
 *     type: 'ldap',
 *     settings: { url: 'ldaps://ldap.internal:636', tls: { caFile: '/etc/ssl/ldap-ca.pem' }, bindDn: 'cn=breakglass,ou=system,dc=corp', baseDn: 'ou=people,dc=corp' },
 *     adminSecret: unsealedBindPassword,
 *   });
 *   await dir.prestaged?.enable('uid=oncall-root,ou=people,dc=corp', new Date(Date.now() + 3_600_000));
 */
export function createLdapConnector(target: TargetConnection): Connector {
  const settings = parseSettings('ldap', settingsSchema, target.settings);
  const bindDn = parseDn(settings.bindDn, 'settings.bindDn');
  const baseDn = settings.baseDn === undefined ? undefined : parseDn(settings.baseDn, 'settings.baseDn');
  const adminSecret = requireAdminSecret('ldap', target.adminSecret);
  // The CA file is read here: a missing one fails now, not at the first grant.
  const transport = ldapTransport(settings);
  const admin = createLdapAdmin({ transport, bindDn, adminSecret, timeoutMs: parseTimeout('ldap', target.timeoutMs), ...(target.poolMax === undefined ? {} : { poolMax: target.poolMax }) });
  return {
    capabilities,
    prestaged: ldapPrestaged(admin, (principal, mutating) => checkAccount(principal, mutating, bindDn, baseDn), baseDn),
    close: () => admin.close(),
  };
}

export const ldapDriver: ConnectorDriver = { create: createLdapConnector };
