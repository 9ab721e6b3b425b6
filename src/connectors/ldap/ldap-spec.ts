/**
 * What the catalog accepts for `type: ldap` (src/connectors/specs.ts): the directory URL, the
 * bind DN and an optional base DN, TLS, and a pre-staged account's `dn`; which entries can never
 * be one. zod only; DNs are parsed strictly by ldap-dn.ts when the connector uses them.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

/** Why an entry is reserved, in the words the catalog and the connector (ldap-adopt.ts) both use. */
export const reservedWhy = {
  bindDn: "it is the target's bindDn, the entry Breakglass binds as",
  serverTree: (name: string) => `OpenLDAP keeps its own cn=${name} tree there`,
} as const;

/** Root RDN values of OpenLDAP's own trees (configuration, monitor, schema): never an account. */
export const SERVER_TREES: ReadonlySet<string> = new Set(['config', 'monitor', 'subschema']);

/** A loose form for the catalog's check only (case, width, spacing folded); the connector parses strictly. */
const looseDn = (dn: string) => dn.normalize('NFKC').toLowerCase().replace(/\s*([,=+])\s*/g, '$1').trim();

// issue 12 (LDAP group memberships): the groups a pre-staged entry is a member of, exactly.
/** At most this many declared groups; the connector allows the same. */
export const MAX_GROUPS = 64;
/** Group DNs, each named once (compared loosely, as the server would match them). */
const groups = z
  .array(noNul(1024))
  .max(MAX_GROUPS)
  .refine((dns) => new Set(dns.map(looseDn)).size === dns.length, 'must name each group once (DNs compare case- and spacing-insensitively)');

export const ldapSpec: ConnectorSpec = {
  settings: {
    url: z.string().regex(/^ldaps?:\/\/[^\s]+$/, 'must be an ldap:// or ldaps:// URL'),
    bindDn: z.string().min(1).max(1024),
    baseDn: z.string().min(1).max(1024).optional(),
    tls: specFields.tls.optional(),
    allowCleartext: specFields.allowCleartext.optional(),
  },
  accounts: {
    prestaged: { dn: noNul(1024), adopt: specFields.adopt.optional(), groups: groups.optional() },
  },
  principalField: 'dn',
  reservedPrincipal: (dn, settings) => {
    const loose = looseDn(dn);
    const bindDn = settings['bindDn'];
    if (typeof bindDn === 'string' && loose === looseDn(bindDn)) return reservedWhy.bindDn;
    const root = /(?:^|,)cn=([a-z]+)$/.exec(loose)?.[1];
    return root !== undefined && SERVER_TREES.has(root) ? reservedWhy.serverTree(root) : undefined;
  },
  example: {
    target: { name: 'corp-dir', type: 'ldap', url: 'ldaps://ldap.internal:636', bindDn: 'cn=breakglass,ou=system,dc=corp', baseDn: 'ou=people,dc=corp', passwordEnv: 'LDAP_BIND_PASSWORD' },
    accounts: [{ name: 'dir-root', target: 'corp-dir', mode: 'prestaged', dn: 'uid=oncall-root,ou=people,dc=corp', groups: ['cn=admins,ou=groups,dc=corp'], policy: 'p0' }],
  },
};
