import type { Kysely, Migration } from 'kysely';

/**
 * Issue 14 (enroll): a person's local sign-in credentials, one row per user, written by
 * `user enroll` from a one-time invite. The password only as its argon2id PHC string, the TOTP
 * secret sealed under the root key (bound to the user's row), the recovery codes only as their
 * SHA-256 (a JSON array). `totp_last_step` is the step of the last accepted code, so each code
 * is good once. Enrolling again (after a new invite) replaces the row.
 */
export const localCredentials: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('local_credentials')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('totp_secret_sealed', 'text', (c) => c.notNull())
      .addColumn('totp_last_step', 'bigint')
      .addColumn('recovery_hashes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('local_credentials').execute();
  },
};
