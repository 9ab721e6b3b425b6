/**
 * What the catalog accepts for `type: mysql` (src/connectors/specs.ts): connection settings, a
 * pre-staged `user` with optional standing `privileges`, ephemeral `privileges`. zod only.
 */
import { z } from 'zod';
import { specFields, type ConnectorSpec } from '../lib/connector-spec.js';

export const mysqlSpec: ConnectorSpec = {
  settings: { host: specFields.host, port: specFields.port, user: z.string().min(1).max(80), tls: specFields.tls.optional(), allowCleartext: specFields.allowCleartext.optional() },
  accounts: {
    prestaged: { user: specFields.user, privileges: specFields.privileges.optional(), adopt: specFields.adopt.optional() },
    ephemeral: { privileges: specFields.privileges },
  },
  principalField: 'user',
  example: {
    target: { name: 'maria', type: 'mysql', host: 'db.internal', port: 3306, user: 'breakglass_admin', passwordEnv: 'MARIA_ADMIN_PASSWORD' },
    accounts: [
      { name: 'maria-bg', target: 'maria', mode: 'prestaged', user: 'bg_admin', policy: 'p0' },
      { name: 'maria-jit', target: 'maria', mode: 'ephemeral', privileges: ['SELECT, INSERT ON app.*'], policy: 'p0' },
    ],
  },
};
