/**
 * The drivers of the registered target types (./specs.ts), loaded once at server start. Only
 * src/app wires them in.
 */
import type { ConnectorDriver } from '../ports/index.js';
import { connectorRegistry } from './specs.js';

/** Every registered driver by type name; a type that is not registered has none. */
export async function loadConnectorDrivers(): Promise<Readonly<Record<string, ConnectorDriver | undefined>>> {
  const entries = await Promise.all(Object.entries(connectorRegistry).map(async ([type, entry]) => [type, await entry.driver()] as const));
  return Object.freeze(Object.fromEntries(entries));
}
