/**
 * What the catalog accepts for `type: redis` (src/connectors/specs.ts): connection settings, a
 * pre-staged ACL `user` with optional standing `rules`, ephemeral `rules`. zod only; the rules
 * themselves are checked token by token by redis-rules.ts. `reservedUser` is also the
 * connector's own check at staging, so the catalog and the server refuse the same names.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

const rules = noNul(4096);

/** Redis's built-in user: every client that does not AUTH runs as it. */
export const DEFAULT_USER = 'default';

/**
 * Why a user can never be a break-glass account on a target whose admin is `adminUser`
 * (`default` when the catalog names none), or `undefined`.
 *
 * @example reservedUser('default', 'breakglass_admin') // → "it is Redis's built-in user, …"
 */
export function reservedUser(user: string, adminUser: unknown): string | undefined {
  if (user === DEFAULT_USER) return "it is Redis's built-in user, the one every client that does not AUTH runs as";
  if (user === (adminUser ?? DEFAULT_USER)) return "it is the target's admin user, the one Breakglass logs in as";
  return undefined;
}

export const redisSpec: ConnectorSpec = {
  settings: { host: specFields.host, port: specFields.port, user: z.string().min(1).max(128).optional(), tls: specFields.tls.optional(), allowCleartext: specFields.allowCleartext.optional() },
  accounts: {
    prestaged: { user: specFields.user, rules: rules.optional(), adopt: specFields.adopt.optional() },
    ephemeral: { rules },
  },
  principalField: 'user',
  reservedPrincipal: (user, settings) => reservedUser(user, settings['user']),
  example: {
    target: { name: 'cache', type: 'redis', host: 'cache.internal', port: 6380, user: 'breakglass_admin', passwordEnv: 'REDIS_ADMIN_PASSWORD', tls: { caFile: '/etc/breakglass/cache-ca.pem' } },
    accounts: [
      { name: 'redis-bg', target: 'cache', mode: 'prestaged', user: 'bg_admin', policy: 'p0' },
      { name: 'redis-jit', target: 'cache', mode: 'ephemeral', rules: 'on ~sessions:* +@read', policy: 'p0' },
    ],
  },
};
