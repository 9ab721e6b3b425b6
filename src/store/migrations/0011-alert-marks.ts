import type { Kysely, Migration } from 'kysely';

/**
 * What the alert watch has raised (grant.expiring, grant.revocation-overdue, …): one row per
 * grant, event and occurrence. The primary key is the "exactly once": two instances, or a run
 * and its restart, that both see the same occurrence write one row, and only the writer of the
 * row enqueues the alert (in the same transaction).
 */
export const alertMarks: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('alert_marks')
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('occurrence', 'bigint', (c) => c.notNull())
      .addColumn('raised_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_marks_pk', ['grant_id', 'event', 'occurrence'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('alert_marks').execute();
  },
};
