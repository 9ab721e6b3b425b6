import type { Kysely, Migration } from 'kysely';

/**
 * Drills (issue 10): a grant may be a drill (the real path run on purpose, never counted as an
 * incident), and an account may carry a drill schedule.
 */
export const drills: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').addColumn('drill', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    // An account's drill schedule (JSON: cron expression and maximum age), if it has one.
    await db.schema.alterTable('accounts').addColumn('drill', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').dropColumn('drill').execute();
    await db.schema.alterTable('grants').dropColumn('drill').execute();
  },
};
