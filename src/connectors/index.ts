/**
 * The drivers of the registered target types: one per type of the spec registry (./specs.ts),
 * which TypeScript enforces. Only src/app wires the drivers in.
 */
import type { ConnectorDriver } from '../ports/index.js';
import { execDriver } from './exec/exec-connector.js';
import { ldapDriver } from './ldap/ldap-connector.js';
import { mysqlDriver } from './mysql/mysql-connector.js';
import { postgresDriver } from './postgres/postgres-connector.js';
import { redisDriver } from './redis/redis-connector.js';
import type { ConnectorType } from './specs.js';
import { sshDriver } from './ssh/ssh-connector.js';

const drivers: { readonly [type in ConnectorType]: ConnectorDriver } = {
  postgres: postgresDriver,
  mysql: mysqlDriver,
  ldap: ldapDriver,
  exec: execDriver,
  redis: redisDriver,
  ssh: sshDriver,
};

/** By type name; a type that is not registered has no driver. */
export const connectorDrivers: Readonly<Record<string, ConnectorDriver | undefined>> = Object.freeze(drivers);
