/**
 * The Redis connector: pre-staged ACL users (redis-prestaged.ts) and per-grant ephemeral ACL
 * users (redis-ephemeral.ts), over short admin connections (redis-admin.ts).
 * Invariants and import rules: ./README.md.
 */
import { z } from 'zod';
import type { Connector, ConnectorCapabilities, ConnectorDriver, TargetConnection } from '../../ports/index.js';
import { AppError } from '../../errors/index.js';
import { specFields } from '../lib/connector-spec.js';
import { parseSettings, parseTimeout } from '../lib/target-settings.js';
import { tlsOptions } from '../lib/transport.js';
import { createRedisAdmin } from './redis-admin.js';
import { redisEphemeral } from './redis-ephemeral.js';
import { checkUser } from './redis-names.js';
import { redisPrestaged } from './redis-prestaged.js';
import { DEFAULT_USER } from './redis-spec.js';

const settingsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).optional(),
  tls: specFields.tls.optional(),
  allowCleartext: specFields.allowCleartext.optional(),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  supportsSessionKill: true,
  // Redis ACL users carry no expiry; the grant's end is enforced by Breakglass calling disable.
  supportsNativeExpiry: false,
  supportsPrestaged: true,
  supportsEphemeral: true,
});

function invalid(message: string, path: string): AppError {
  return new AppError('validation', `redis target ${message}`, { path });
}

/**
 * Creates the connector for one Redis target (a single node: ACL changes do not replicate).
 * Nothing connects until the first call. `adminSecret` may be undefined when the admin is the
 * `default` user without a password.
 *
 * @example
 *   const cache = createRedisConnector({
 *     type: 'redis',
 *     settings: { host: 'cache.internal', port: 6380, user: 'breakglass_admin', tls: { caFile: '/etc/breakglass/cache-ca.pem' } },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await cache.prestaged?.enable('oncall', grantEnd);
 *   const { username, password } = await cache.ephemeral!.issue({
 *     grantId: 'gr_01hx…', spec: { rules: 'on ~sessions:* +@read' }, validUntil: grantEnd,
 *   });
 */
export function createRedisConnector(target: TargetConnection): Connector {
  const settings = parseSettings('redis', settingsSchema, target.settings);
  const user = checkUser(settings.user ?? DEFAULT_USER, 'settings.user');
  if (target.adminSecret === '') throw invalid('admin secret is empty', 'adminSecret');
  if (target.adminSecret === undefined && user !== DEFAULT_USER) {
    // Only `default` is used without AUTH; another admin user needs its password.
    throw invalid(`has no admin secret for admin user ${JSON.stringify(user)}`, 'adminSecret');
  }
  const timeoutMs = parseTimeout('redis', target.timeoutMs);
  // The CA file is read here: a missing one fails now, naming settings.tls.caFile.
  const tls = tlsOptions('redis', settings.tls);
  const allowCleartext = settings.allowCleartext ?? false;
  const admin = createRedisAdmin({ host: settings.host, port: settings.port, user, tls, allowCleartext }, target.adminSecret, timeoutMs, target.poolMax);
  return {
    capabilities,
    prestaged: redisPrestaged(admin),
    ephemeral: redisEphemeral(admin),
    close: () => admin.close(),
  };
}

export const redisDriver: ConnectorDriver = { create: createRedisConnector };
