import type { Kysely, Migration } from 'kysely';

/** A grant may be a drill (issue 10): the real path run on purpose, never counted as an incident. */
export const drills: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').addColumn('drill', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').dropColumn('drill').execute();
  },
};
