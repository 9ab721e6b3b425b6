import type { Kysely, Migration } from 'kysely';

/**
 * Custodian shares presented for a grant that waits for its quorum, held in the store so that
 * every instance counts them: a share presented to one instance counts wherever the grant is
 * released. Each is sealed under the root key (bound to its grant, custodian and key
 * generation), never in clear, and the rows are deleted at the release, the window's end or a
 * cancel.
 */
export const pendingShares: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('pending_shares')
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('share_sealed', 'text', (c) => c.notNull())
      .addColumn('presented_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('pending_shares_pk', ['grant_id', 'holder'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('pending_shares').execute();
  },
};
