import type { Kysely, Migration } from 'kysely';

/**
 * Acknowledgement with escalation (issue 9, point 4). `alert_acks`: one row per acknowledged
 * event (`evt-<seq>`, shared by every channel the alert went to); the primary key makes the
 * first acknowledgement the one that stands. `alert_escalations`: written with an alert whose
 * route says `ackWithin`, one row per such route; `escalated_at` is set once, by the one
 * transaction that sends the alert again (exactly once across instances and restarts).
 */
export const alertAcks: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('alert_acks')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('acked_by', 'text', (c) => c.notNull())
      .addColumn('acked_at', 'bigint', (c) => c.notNull())
      .addColumn('note', 'text')
      .execute();
    await db.schema
      .createTable('alert_escalations')
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('due_at', 'bigint', (c) => c.notNull())
      .addColumn('channels', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('escalated_at', 'bigint')
      .addPrimaryKeyConstraint('alert_escalations_pk', ['event_id', 'step'])
      .execute();
    await db.schema.createIndex('alert_escalations_due_idx').on('alert_escalations').columns(['escalated_at', 'due_at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('alert_escalations').execute();
    await db.schema.dropTable('alert_acks').execute();
  },
};
