/**
 * What the catalog accepts for `type: exec` (src/connectors/specs.ts): the script, its fixed
 * arguments and the capabilities it declares; a pre-staged `user` and optional `privileges`
 * (handed to the script as they are). zod only; the server also checks the command against
 * BREAKGLASS_EXEC_DIRS (`prepareSettings` in exec-connector.ts).
 */
import { z } from 'zod';
import { specFields, type ConnectorSpec } from '../lib/connector-spec.js';

/** The capabilities a target declares for its script (the script confirms them before the first call). */
export const declaredCapabilities = z.strictObject({
  supportsSessionKill: z.boolean().optional(),
  supportsNativeExpiry: z.boolean().optional(),
  supportsPrestaged: z.boolean().optional(),
  supportsEphemeral: z.boolean().optional(),
});

export const execSpec: ConnectorSpec = {
  settings: {
    command: specFields.absolutePath,
    args: z.array(z.string().max(4096)).max(64).optional(),
    workingDirectory: specFields.absolutePath.optional(),
    capabilities: declaredCapabilities.optional(),
  },
  accounts: {
    prestaged: { user: specFields.user, privileges: specFields.privileges.optional(), adopt: specFields.adopt.optional() },
    ephemeral: { privileges: specFields.privileges.optional() },
  },
  principalField: 'user',
  example: {
    target: {
      name: 'legacy-db',
      type: 'exec',
      command: '/opt/breakglass/exec-mariadb.sh',
      args: ['--host', 'db.internal'],
      capabilities: { supportsPrestaged: true, supportsEphemeral: true, supportsSessionKill: true },
      passwordEnv: 'LEGACY_ADMIN_PASSWORD',
    },
    accounts: [
      { name: 'legacy-bg', target: 'legacy-db', mode: 'prestaged', user: 'oncall_dba', policy: 'p0' },
      { name: 'legacy-jit', target: 'legacy-db', mode: 'ephemeral', privileges: ['read'], policy: 'p0' },
    ],
  },
};
