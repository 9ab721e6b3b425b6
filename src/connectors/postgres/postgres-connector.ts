/**
 * The PostgreSQL connector: pre-staged roles (postgres-prestaged.ts) and per-grant ephemeral
 * roles (postgres-ephemeral.ts) over one admin pool (postgres-admin.ts).
 * Invariants and import rules: ./README.md.
 */
import { z } from 'zod';
import type { Connector, ConnectorCapabilities, ConnectorDriver, TargetConnection } from '../../ports/index.js';
import { specFields } from '../lib/connector-spec.js';
import { parseSettings, parseTimeout, requireAdminSecret } from '../lib/target-settings.js';
import { tlsOptions } from '../lib/transport.js';
import { createPgAdmin } from './postgres-admin.js';
import { postgresEphemeral } from './postgres-ephemeral.js';
import { postgresPrestaged } from './postgres-prestaged.js';

const settingsSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  database: z.string().min(1),
  user: z.string().min(1),
  tls: specFields.tls.optional(),
  allowCleartext: z.boolean().optional(),
});

const capabilities: ConnectorCapabilities = Object.freeze({
  supportsSessionKill: true,
  supportsNativeExpiry: true,
  supportsPrestaged: true,
  supportsEphemeral: true,
});

/**
 * Creates the connector for one PostgreSQL target. Nothing connects until the first call.
 *
 * @example
 *   const pgTarget = createPostgresConnector({
 *     type: 'postgres',
 *     settings: { host: 'db.internal', port: 5432, database: 'postgres', user: 'breakglass_admin' },
 *     adminSecret: unsealedAdminPassword,
 *   });
 *   await pgTarget.prestaged?.enable('bg_oncall_dba', new Date(Date.now() + 3_600_000));
 *   const { username, password } = await pgTarget.ephemeral!.issue({
 *     grantId: 'gr_01hx…', spec: { grantedRoles: ['app_readonly'] }, validUntil: grantEnd,
 *   });
 */
export function createPostgresConnector(target: TargetConnection): Connector {
  const { host, port, database, user, tls, allowCleartext } = parseSettings('postgres', settingsSchema, target.settings);
  const adminSecret = requireAdminSecret('postgres', target.adminSecret);
  const transport = { ssl: tlsOptions('postgres', tls), allowCleartext: allowCleartext ?? false };
  const admin = createPgAdmin({ host, port, database, user }, adminSecret, parseTimeout('postgres', target.timeoutMs), transport, target.poolMax);
  return {
    capabilities,
    prestaged: postgresPrestaged(admin),
    ephemeral: postgresEphemeral(admin),
    close: () => admin.close(),
  };
}

export const postgresDriver: ConnectorDriver = { create: createPostgresConnector };
