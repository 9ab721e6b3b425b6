/**
 * What the catalog accepts for `type: redis` (src/connectors/specs.ts): connection settings, a
 * pre-staged ACL `user` with optional standing `rules`, ephemeral `rules`. zod only; the rules
 * themselves are checked token by token by redis-rules.ts.
 */
import { z } from 'zod';
import { noNul, specFields, type ConnectorSpec } from '../lib/connector-spec.js';

const rules = noNul(4096);

export const redisSpec: ConnectorSpec = {
  settings: { host: specFields.host, port: specFields.port, user: z.string().min(1).max(128).optional(), tls: specFields.tls.optional(), allowCleartext: specFields.allowCleartext.optional() },
  accounts: {
    prestaged: { user: specFields.user, rules: rules.optional(), adopt: specFields.adopt.optional() },
    ephemeral: { rules },
  },
  principalField: 'user',
  example: {
    target: { name: 'cache', type: 'redis', host: 'cache.internal', port: 6379, user: 'breakglass_admin', passwordEnv: 'REDIS_ADMIN_PASSWORD' },
    accounts: [
      { name: 'redis-bg', target: 'cache', mode: 'prestaged', user: 'bg_admin', policy: 'p0' },
      { name: 'redis-jit', target: 'cache', mode: 'ephemeral', rules: 'on ~sessions:* +@read', policy: 'p0' },
    ],
  },
};
