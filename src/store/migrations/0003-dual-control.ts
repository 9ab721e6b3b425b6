import type { Kysely, Migration } from 'kysely';

/**
 * Cryptographic dual control: an account's custodian quorum, the public half of its key (the
 * private half exists only as custodians' shares, never here), and a grant's own TTL, which
 * counts from activation once the quorum is reached.
 */
export const dualControl: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').addColumn('quorum', 'text').execute();
    await db.schema.alterTable('users').addColumn('recipient', 'text').execute();
    await db.schema.alterTable('grants').addColumn('ttl_ms', 'bigint').execute();
    await db.schema
      .createTable('custodian_keys')
      .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id'))
      .addColumn('kid', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('threshold', 'integer', (c) => c.notNull())
      /** JSON array of {holder, fingerprint}: the server keeps fingerprints, never shares. */
      .addColumn('shares', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('custodian_keys').execute();
    await db.schema.alterTable('grants').dropColumn('ttl_ms').execute();
    await db.schema.alterTable('users').dropColumn('recipient').execute();
    await db.schema.alterTable('accounts').dropColumn('quorum').execute();
  },
};
