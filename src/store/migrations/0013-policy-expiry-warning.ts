import type { Kysely, Migration } from 'kysely';

/** A policy may say how long before expiry its grants raise `grant.expiring` (issue 9). */
export const policyExpiryWarning: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').addColumn('expiry_warning_ms', 'bigint').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').dropColumn('expiry_warning_ms').execute();
  },
};
