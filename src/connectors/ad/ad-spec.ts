/**
 * What the catalog accepts for `type: ad` (src/connectors/specs.ts): the domain controller's
 * `ldaps://` URL (Active Directory takes a password only over an encrypted connection), the
 * admin's `bindDn`, the `baseDn` every account lives under, the CA that signed the DC's
 * certificate (`caFile`); a pre-staged account's `dn` with its declared `groups` (and, optionally,
 * its `samAccountName`), an ephemeral account's `groups` and the `ou` it is created in.
 * zod only; DNs are parsed strictly by ../ldap/ldap-dn.ts when the connector uses them.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

/** sAMAccountName: at most 20 characters, none of `"/\[]:;|=,+*?<>@`, no leading/trailing dot or space. */
export const SAM_ACCOUNT_NAME = /^(?![. ])[A-Za-z0-9._ -]{1,20}(?<![. ])$/;

/** Group DNs, at most 64, each a DN (parsed strictly by the connector). */
const groups = z.array(noNul(1024)).max(64, 'at most 64 groups');

/** A loose form for the catalog's check only (case and spacing folded); the connector parses strictly. */
const looseDn = (dn: string) => dn.normalize('NFKC').toLowerCase().replace(/\s*([,=+])\s*/g, '$1').trim();

export const adSpec: ConnectorSpec = {
  settings: {
    url: z.string().regex(/^ldaps:\/\/[^\s/?#]+\/?$/, 'must be ldaps://host:port (Active Directory sets passwords only over an encrypted connection)'),
    bindDn: noNul(1024),
    baseDn: noNul(1024),
    caFile: specFields.absolutePath.optional(),
    servername: z.string().min(1).max(255).optional(),
  },
  accounts: {
    prestaged: {
      dn: noNul(1024),
      samAccountName: z.string().regex(SAM_ACCOUNT_NAME, 'must be a sAMAccountName (1–20 of A–Z a–z 0–9 . _ - and space)').optional(),
      groups: groups.optional(),
      adopt: specFields.adopt.optional(),
    },
    ephemeral: { groups: groups.optional(), ou: noNul(1024).optional() },
  },
  principalField: 'dn',
  reservedPrincipal: (dn, settings) => {
    const bindDn = settings['bindDn'];
    if (typeof bindDn === 'string' && looseDn(dn) === looseDn(bindDn)) return "it is the target's bindDn, the account Breakglass binds as";
    const leaf = /^cn=([^,]+),/.exec(looseDn(dn))?.[1];
    // The connector refuses every built-in account by its RID as well (renamed ones included).
    return leaf === 'krbtgt' || leaf === 'administrator' || leaf === 'guest' ? `${leaf} is a built-in account of the domain` : undefined;
  },
  example: {
    target: {
      name: 'corp-ad',
      type: 'ad',
      url: 'ldaps://dc1.corp.example:636',
      bindDn: 'CN=svc-breakglass,OU=Service Accounts,DC=corp,DC=example',
      baseDn: 'DC=corp,DC=example',
      passwordEnv: 'AD_BIND_PASSWORD',
      caFile: '/etc/breakglass/corp-ad-ca.pem',
    },
    accounts: [
      { name: 'domain-admin-bg', target: 'corp-ad', mode: 'prestaged', dn: 'CN=bg-domain-admin,OU=Emergency,DC=corp,DC=example', groups: ['CN=Domain Admins,CN=Users,DC=corp,DC=example'], policy: 'p0' },
      { name: 'ad-temp-admin', target: 'corp-ad', mode: 'ephemeral', ou: 'OU=Emergency,DC=corp,DC=example', groups: ['CN=Domain Admins,CN=Users,DC=corp,DC=example'], policy: 'p0' },
    ],
  },
};
