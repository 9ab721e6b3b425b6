/**
 * What the catalog accepts for `type: postgres` (src/connectors/specs.ts): connection settings,
 * a pre-staged `role`, and the ephemeral role's memberships and cleanup. zod only.
 */
import { z } from 'zod';
import { specFields, type ConnectorSpec } from '../lib/connector-spec.js';

const pgIdentifier = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters (PostgreSQL would truncate it)')
  .refine((text) => !text.includes('\0'), 'must not contain NUL');

// issue 12 (P1): one schema for grantedRoles in both modes, so the catalog checks it where it stands.
const grantedRoles = z.array(pgIdentifier).max(32).optional();

export const postgresSpec: ConnectorSpec = {
  settings: { host: specFields.host, port: specFields.port, database: pgIdentifier, user: pgIdentifier, tls: specFields.tls.optional(), allowCleartext: specFields.allowCleartext.optional() },
  accounts: {
    prestaged: {
      role: pgIdentifier,
      adopt: specFields.adopt.optional(),
      // issue 12 (P1): what the pre-staged role holds, exactly (absent: false / none).
      superuser: z.boolean().optional(),
      createrole: z.boolean().optional(),
      createdb: z.boolean().optional(),
      grantedRoles,
    },
    ephemeral: {
      grantedRoles,
      reassignOwnedTo: pgIdentifier.optional(),
      dropOwned: z.boolean().optional(),
    },
  },
  principalField: 'role',
  reservedPrincipal: (role, settings) => {
    if (role.startsWith('pg_')) return 'PostgreSQL reserves the pg_ prefix for its own roles';
    if (role === settings['user']) return "it is the target's admin role, the one Breakglass logs in with";
    return undefined;
  },
  example: {
    target: { name: 'prod-pg', type: 'postgres', host: 'db.internal', port: 5432, database: 'postgres', user: 'breakglass_admin', passwordEnv: 'PG_ADMIN_PASSWORD' },
    accounts: [
      { name: 'pg-breakglass', target: 'prod-pg', mode: 'prestaged', role: 'bg_admin', superuser: true, policy: 'p0' },
      { name: 'pg-readonly', target: 'prod-pg', mode: 'ephemeral', grantedRoles: ['app_readonly'], policy: 'p0' },
    ],
  },
};
