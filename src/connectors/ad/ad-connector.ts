/**
 * The Active Directory connector (`type: ad`): pre-staged emergency accounts kept disabled and
 * expired with their declared groups (ad-prestaged.ts), ephemeral users per grant
 * (ad-ephemeral.ts), over per-call admin binds on ldaps:// (ad-directory.ts). Tested against a
 * real Samba AD domain controller. What the DC and the bind account need: ./README.md.
 */
import { z } from 'zod';
import type { Connector, ConnectorCapabilities, ConnectorDriver, TargetConnection } from '../../ports/index.js';
import { ldapTransport } from '../ldap/ldap-transport.js';
import { parseSettings, parseTimeout, requireAdminSecret } from '../lib/target-settings.js';
import { createAdDirectory } from './ad-directory.js';
import { parseAdDn } from './ad-names.js';
import { adEphemeral } from './ad-ephemeral.js';
import { adPrestaged } from './ad-prestaged.js';

const settingsSchema = z.strictObject({
  url: z.string().regex(/^ldaps:\/\/[^\s/?#]+\/?$/, 'must be ldaps://host:port (Active Directory sets passwords only over an encrypted connection)'),
  bindDn: z.string().min(1),
  baseDn: z.string().min(1),
  caFile: z.string().regex(/^\//, 'must be an absolute path').optional(),
  servername: z.string().min(1).optional(),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  // An LDAP bind lives as long as its connection and a Kerberos ticket until it expires; neither
  // is visible to, or can be ended by, an LDAP client. The KDC refuses a disabled account new
  // service tickets and renewals (proven in the tests), which is the end Active Directory offers.
  supportsSessionKill: false,
  supportsNativeExpiry: true,
  supportsPrestaged: true,
  supportsEphemeral: true,
});

/**
 * Creates the connector for one domain. Nothing connects until the first call; every call opens
 * its own ldaps:// connection (certificate verified against `caFile`, or Node's trust store),
 * binds as `bindDn`, and unbinds.
 *
 * @example
 *   const ad = createAdConnector({
 *     type: 'ad',
 *     settings: { url: 'ldaps://dc1.corp.example:636', bindDn: 'CN=svc-breakglass,OU=Service Accounts,DC=corp,DC=example', baseDn: 'DC=corp,DC=example', caFile: '/etc/breakglass/corp-ad-ca.pem' },
 *     adminSecret: unsealedBindPassword,
 *   });
 *   await ad.prestaged?.enable('CN=bg-domain-admin,OU=Emergency,DC=corp,DC=example', new Date(Date.now() + 3_600_000));
 */
export function createAdConnector(target: TargetConnection): Connector {
  const settings = parseSettings('ad', settingsSchema, target.settings);
  const bindDn = parseAdDn(settings.bindDn, 'settings.bindDn');
  const baseDn = parseAdDn(settings.baseDn, 'settings.baseDn');
  const adminSecret = requireAdminSecret('ad', target.adminSecret);
  // The CA file is read here: a missing one fails now, not at the first grant.
  const transport = ldapTransport({ url: settings.url, tls: { caFile: settings.caFile, servername: settings.servername } });
  const directory = createAdDirectory({ transport, bindDn, adminSecret, timeoutMs: parseTimeout('ad', target.timeoutMs) });
  const scope = { bindDn, baseDn };
  return {
    capabilities,
    prestaged: adPrestaged(directory, scope),
    ephemeral: adEphemeral(directory, scope),
    close: () => directory.close(),
  };
}

export const adDriver: ConnectorDriver = { create: createAdConnector };
