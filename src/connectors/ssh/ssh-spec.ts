/**
 * What the catalog accepts for `type: ssh` (src/connectors/specs.ts): an optional `krlPath`
 * (the server defaults it, see `prepareSettings` in ssh-connector.ts) and the ephemeral
 * certificate's `principals`. Breakglass generates the CA key itself. zod only; principals are
 * checked again, strictly, by ssh-names.ts.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

export const sshSpec: ConnectorSpec = {
  settings: { krlPath: specFields.absolutePath.optional() },
  accounts: {
    ephemeral: { principals: z.array(noNul(64)).min(1, 'list at least one principal').max(16) },
  },
  generatesAdminSecret: true,
  example: {
    target: { name: 'hosts', type: 'ssh' },
    accounts: [{ name: 'ssh-root', target: 'hosts', mode: 'ephemeral', principals: ['root'], policy: 'p0' }],
  },
};
