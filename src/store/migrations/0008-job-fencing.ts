import type { Kysely, Migration } from 'kysely';

/**
 * A fencing token per job: every claim increments it, and completing, retrying or renewing a
 * job checks it, so a worker that lost its lease (paused, partitioned, presumed dead) changes
 * nothing when it wakes up.
 */
export const jobFencing: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('jobs').addColumn('fence', 'bigint', (col) => col.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('jobs').dropColumn('fence').execute();
  },
};
