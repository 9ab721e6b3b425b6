import type { Kysely, Migration } from 'kysely';

/**
 * Issue 13 (sched): the scheduler claims the oldest due jobs (due time, then id) as its slots
 * free up, and plans its next look from the earliest claimable instant. With one expire job
 * per active grant the table holds as many rows as there are grants; these indexes keep both
 * questions to a short walk instead of a scan, so the cost of a claim does not grow with it:
 * `(due_at, id)` is the claim order itself, and `lease_until` finds the few leased rows.
 */
export const jobClaimOrder: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('jobs_due_order_idx').on('jobs').columns(['due_at', 'id']).execute();
    await db.schema.dropIndex('jobs_due_at_idx').execute();
    await db.schema.createIndex('jobs_lease_until_idx').on('jobs').column('lease_until').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('jobs_lease_until_idx').execute();
    await db.schema.createIndex('jobs_due_at_idx').on('jobs').column('due_at').execute();
    await db.schema.dropIndex('jobs_due_order_idx').execute();
  },
};
