import type { Kysely, Migration } from 'kysely';

/**
 * Alerts: the catalog's channels (secrets sealed) and routes, and the transactional outbox —
 * each alert written in the transaction of the change it reports, delivered at least once.
 */
export const alerts: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('alert_channels')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('type', 'text', (col) => col.notNull())
      .addColumn('settings', 'text', (col) => col.notNull())
      .addColumn('secret_sealed', 'text')
      .execute();
    await db.schema
      .createTable('alert_routes')
      .addColumn('position', 'integer', (col) => col.primaryKey())
      .addColumn('route', 'text', (col) => col.notNull())
      .execute();
    await db.schema
      .createTable('alert_outbox')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('seq', 'bigint', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('payload', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) => col.notNull())
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('due_at', 'bigint', (col) => col.notNull())
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .addColumn('fence', 'bigint', (col) => col.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('alert_outbox_channel_state_idx').on('alert_outbox').columns(['channel', 'state', 'seq']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('alert_outbox').execute();
    await db.schema.dropTable('alert_routes').execute();
    await db.schema.dropTable('alert_channels').execute();
  },
};
