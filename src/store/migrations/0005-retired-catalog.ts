import type { Kysely, Migration } from 'kysely';

/**
 * A declarative catalog: what the file no longer lists is retired, not deleted — past cases
 * still name their account, target and policy. A retired row is invisible to listings, to
 * invocation and to the next apply's plan; declaring the name again brings it back.
 */
export const retiredCatalog: Migration = {
  async up(db: Kysely<unknown>) {
    for (const table of ['targets', 'policies', 'accounts']) {
      await db.schema.alterTable(table).addColumn('retired_at', 'bigint').execute();
    }
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['targets', 'policies', 'accounts']) {
      await db.schema.alterTable(table).dropColumn('retired_at').execute();
    }
  },
};
