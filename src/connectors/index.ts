/**
 * The registry of connector types. Adding a connector is one folder and one line here;
 * only src/app wires the registry in.
 */
import type { ConnectorDriver } from '../ports/index.js';
import { execDriver } from './exec/exec-connector.js';
import { ldapDriver } from './ldap/ldap-connector.js';
import { mysqlDriver } from './mysql/mysql-connector.js';
import { postgresDriver } from './postgres/postgres-connector.js';
import { redisDriver } from './redis/redis-connector.js';
import { sshDriver } from './ssh/ssh-connector.js';

export const connectorDrivers: Readonly<Record<string, ConnectorDriver>> = Object.freeze({
  postgres: postgresDriver,
  mysql: mysqlDriver,
  ldap: ldapDriver,
  exec: execDriver,
  redis: redisDriver,
  ssh: sshDriver,
});
