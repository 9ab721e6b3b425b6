/**
 * The registry of target types: what the catalog accepts for each (src/config builds its schema
 * from these). Adding a connector is one folder and one line here; TypeScript then asks for its
 * driver in ./index.ts. Only spec files are imported here: the CLI loads this to check catalogs
 * offline, without any driver library.
 */
import { execSpec } from './exec/exec-spec.js';
import { ldapSpec } from './ldap/ldap-spec.js';
import type { ConnectorSpec } from './lib/connector-spec.js';
import { mysqlSpec } from './mysql/mysql-spec.js';
import { postgresSpec } from './postgres/postgres-spec.js';
import { redisSpec } from './redis/redis-spec.js';
import { sshSpec } from './ssh/ssh-spec.js';

/** In the order error messages list the supported types. */
export const connectorSpecs = Object.freeze({
  postgres: postgresSpec,
  mysql: mysqlSpec,
  redis: redisSpec,
  ssh: sshSpec,
  ldap: ldapSpec,
  exec: execSpec,
} satisfies Record<string, ConnectorSpec>);

export type ConnectorType = keyof typeof connectorSpecs;

export type { AccountMode, ConnectorSpec, FieldShape } from './lib/connector-spec.js';
