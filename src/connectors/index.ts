/**
 * The registry of connector types. One line per connector; only src/app wires it in.
 */
import type { ConnectorFactory } from '../ports/index.js';
import { createPostgresConnector } from './postgres/postgres-connector.js';

export const connectorFactories: Readonly<Record<string, ConnectorFactory>> = Object.freeze({
  postgres: createPostgresConnector,
});
