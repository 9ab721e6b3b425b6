import type { Kysely, Migration } from 'kysely';

/**
 * Connectors beyond PostgreSQL: an account carries its type-specific settings (`spec`, JSON),
 * and an ephemeral grant keeps its issued credential sealed until the one-time reveal.
 */
export const connectorSpecs: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').addColumn('spec', 'text', (c) => c.notNull().defaultTo('{}')).execute();
    await db.schema.alterTable('grants').addColumn('credential_sealed', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').dropColumn('credential_sealed').execute();
    await db.schema.alterTable('accounts').dropColumn('spec').execute();
  },
};
