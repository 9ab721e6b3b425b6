import type { Kysely, Migration } from 'kysely';

/**
 * Drill overdue (issue 10): since when an account has had a drill schedule (ms since the
 * epoch), so an account never drilled is found overdue `maxAge` after it was given one.
 */
export const drillSince: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').addColumn('drill_since', 'bigint').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').dropColumn('drill_since').execute();
  },
};
