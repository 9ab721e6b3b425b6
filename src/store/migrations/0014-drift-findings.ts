import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Drift detection (issue 10, point 2). `drift_findings`: what a scan of the targets saw that no
 * live case explains, open until a scan no longer sees it (`resolved_at`), with who
 * acknowledged it and why. `subject` tells findings of one account and kind apart (the grant
 * of a leftover ephemeral credential). `accounts.auto_remediate`: the catalog's
 * `autoRemediate: true` — the scan fixes what it can on that account.
 */
export const driftFindings: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('drift_findings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('first_seen', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint', (c) => c.notNull())
      .addColumn('resolved_at', 'bigint')
      .addColumn('acked_by', 'text')
      .addColumn('acked_reason', 'text')
      .execute();
    // One open finding per (account, kind, subject), whichever instance scanned first.
    await db.schema
      .createIndex('drift_findings_open_idx')
      .on('drift_findings')
      .columns(['account', 'kind', 'subject'])
      .unique()
      .where(sql.ref('resolved_at'), 'is', null)
      .execute();
    await db.schema.alterTable('accounts').addColumn('auto_remediate', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').dropColumn('auto_remediate').execute();
    await db.schema.dropTable('drift_findings').execute();
  },
};
