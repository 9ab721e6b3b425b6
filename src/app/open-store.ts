import { createPostgresStore, createSqliteStore } from '../store/create-store.js';
import type { ProbedStore } from '../ports/index.js';
import { dataDirPaths } from './data-dir.js';

/** SQLite in the data directory by default; PostgreSQL when a database URL is configured. */
export function openStore(dataDir: string, databaseUrl: string | undefined): Promise<ProbedStore> {
  return databaseUrl ? createPostgresStore(databaseUrl) : createSqliteStore(dataDirPaths(dataDir).database);
}
