/**
 * What the catalog accepts for `type: ldap` (src/connectors/specs.ts): the directory URL, the
 * bind DN and an optional base DN, and a pre-staged account's `dn`. zod only; DNs are parsed
 * strictly by ldap-dn.ts when the connector uses them.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

export const ldapSpec: ConnectorSpec = {
  settings: {
    url: z.string().regex(/^ldaps?:\/\/[^\s]+$/, 'must be an ldap:// or ldaps:// URL'),
    bindDn: z.string().min(1).max(1024),
    baseDn: z.string().min(1).max(1024).optional(),
    tls: specFields.tls.optional(),
    allowCleartext: specFields.allowCleartext.optional(),
  },
  accounts: {
    prestaged: { dn: noNul(1024), adopt: specFields.adopt.optional() },
  },
  principalField: 'dn',
  example: {
    target: { name: 'corp-dir', type: 'ldap', url: 'ldaps://ldap.internal:636', bindDn: 'cn=breakglass,ou=system,dc=corp', baseDn: 'ou=people,dc=corp', passwordEnv: 'LDAP_BIND_PASSWORD' },
    accounts: [{ name: 'dir-root', target: 'corp-dir', mode: 'prestaged', dn: 'uid=oncall-root,ou=people,dc=corp', policy: 'p0' }],
  },
};
