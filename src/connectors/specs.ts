/**
 * The registry of target types, one line each: the spec (what the catalog accepts; src/config
 * builds its schema from it) and how to load the driver. Adding a connector is one folder and
 * one line here. Specs are imported eagerly and are zod only; drivers are imported lazily, so
 * the CLI, which loads this to check catalogs offline, never loads a driver library.
 */
import { execSpec } from './exec/exec-spec.js';
import { ldapSpec } from './ldap/ldap-spec.js';
import type { ConnectorSpec } from './lib/connector-spec.js';
import { mysqlSpec } from './mysql/mysql-spec.js';
import { postgresSpec } from './postgres/postgres-spec.js';
import { redisSpec } from './redis/redis-spec.js';
import { sshSpec } from './ssh/ssh-spec.js';
// issue 12 (P3): the unix local accounts connector.
import { unixSpec } from './unix/unix-spec.js';
// issue 12 (P3): the Active Directory connector.
import { adSpec } from './ad/ad-spec.js';
import type { ConnectorDriver } from '../ports/index.js';

interface Registered {
  readonly spec: ConnectorSpec;
  readonly driver: () => Promise<ConnectorDriver>;
}

/** In the order error messages list the supported types. */
export const connectorRegistry = Object.freeze({
  postgres: { spec: postgresSpec, driver: async () => (await import('./postgres/postgres-connector.js')).postgresDriver },
  mysql: { spec: mysqlSpec, driver: async () => (await import('./mysql/mysql-connector.js')).mysqlDriver },
  redis: { spec: redisSpec, driver: async () => (await import('./redis/redis-connector.js')).redisDriver },
  ssh: { spec: sshSpec, driver: async () => (await import('./ssh/ssh-connector.js')).sshDriver },
  ldap: { spec: ldapSpec, driver: async () => (await import('./ldap/ldap-connector.js')).ldapDriver },
  exec: { spec: execSpec, driver: async () => (await import('./exec/exec-connector.js')).execDriver },
  // issue 12 (P3): the unix local accounts connector.
  unix: { spec: unixSpec, driver: async () => (await import('./unix/unix-connector.js')).unixDriver },
  // issue 12 (P3): the Active Directory connector.
  ad: { spec: adSpec, driver: async () => (await import('./ad/ad-connector.js')).adDriver },
} satisfies Record<string, Registered>);

export type ConnectorType = keyof typeof connectorRegistry;

/** The specs alone, by type (what src/config reads). */
export const connectorSpecs: Readonly<Record<ConnectorType, ConnectorSpec>> = Object.freeze(
  Object.fromEntries(Object.entries(connectorRegistry).map(([type, entry]) => [type, entry.spec])) as Record<ConnectorType, ConnectorSpec>,
);

export type { AccountMode, ConnectorSpec, FieldShape } from './lib/connector-spec.js';
