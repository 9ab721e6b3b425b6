import type { Kysely, Migration } from 'kysely';

/**
 * Issue 11 (H3): a policy's certification deadline (`certifyWithin`), when a case passed it, an
 * admin's resolution of a case under review, and the indexes the history reads with: a case's
 * audit events by subject (its timeline), and grants newest first by (created_at, id) (keyset pages).
 */
export const certificationHistory: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').addColumn('certify_within_ms', 'bigint').execute();
    await db.schema.alterTable('grants').addColumn('certification_overdue_at', 'bigint').execute();
    await db.schema.alterTable('grants').addColumn('resolution', 'text').execute();
    await db.schema.createIndex('audit_events_subject_seq_idx').on('audit_events').columns(['subject', 'seq']).execute();
    await db.schema.createIndex('grants_created_id_idx').on('grants').columns(['created_at', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('grants_created_id_idx').execute();
    await db.schema.dropIndex('audit_events_subject_seq_idx').execute();
    await db.schema.alterTable('grants').dropColumn('resolution').execute();
    await db.schema.alterTable('grants').dropColumn('certification_overdue_at').execute();
    await db.schema.alterTable('policies').dropColumn('certify_within_ms').execute();
  },
};
