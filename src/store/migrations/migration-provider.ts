import type { Migration, MigrationProvider } from 'kysely';
import { initialSchema } from './0001-initial-schema.js';

/**
 * Migrations in code, so the built server needs no migration files on disk. Names sort in the
 * order they must run; never rename or edit one that has shipped, add a new one.
 */
const migrations: Record<string, Migration> = {
  '0001-initial-schema': initialSchema,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
