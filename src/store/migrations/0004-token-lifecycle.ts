import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/**
 * Tokens that end, and enrolment without impersonation.
 * - `api_tokens` gains an id (what `token list` shows and `token revoke` takes; the hash stays
 *   the key and the token itself is never stored), an optional expiry, who minted it, when it
 *   was last used and when it was revoked.
 * - `users` gains `service` (automation: an admin may mint its tokens), `disabled` (no token of
 *   theirs authenticates) and `declared` (listed by a catalog, so a later catalog that no longer
 *   lists the user disables them; the first admin from `init` is not a catalog's to remove).
 * - `enrolment_codes`: the SHA-256 of one-time codes an admin issues and the user redeems for a
 *   token of their own.
 */
export const tokenLifecycle: Migration = {
  async up(db: Kysely<unknown>) {
    for (const column of ['service', 'disabled', 'declared']) {
      await db.schema.alterTable('users').addColumn(column, 'integer', (c) => c.notNull().defaultTo(0)).execute();
    }
    // Before this migration every user but the first admin came from a catalog.
    await sql`update users set declared = 1 where name <> 'admin'`.execute(db);
    await db.schema.alterTable('api_tokens').addColumn('id', 'text').execute();
    for (const column of ['expires_at', 'last_used_at', 'revoked_at']) {
      await db.schema.alterTable('api_tokens').addColumn(column, 'bigint').execute();
    }
    await db.schema.alterTable('api_tokens').addColumn('created_by', 'text').execute();
    await db.schema.alterTable('api_tokens').addColumn('created_by_id', 'text').execute();
    // Tokens minted before ids existed get one derived from their hash (which is not secret).
    await sql`update api_tokens set id = ${'tok_'} || substr(token_hash, 1, 26), created_by = label where id is null`.execute(db);
    await db.schema.createIndex('api_tokens_id_idx').on('api_tokens').column('id').unique().execute();
    await db.schema
      .createTable('enrolment_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('enrolment_codes_user_id_idx').on('enrolment_codes').column('user_id').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('enrolment_codes').execute();
    await db.schema.dropIndex('api_tokens_id_idx').execute();
    for (const column of ['created_by_id', 'created_by', 'revoked_at', 'last_used_at', 'expires_at', 'id']) {
      await db.schema.alterTable('api_tokens').dropColumn(column).execute();
    }
    for (const column of ['declared', 'disabled', 'service']) await db.schema.alterTable('users').dropColumn(column).execute();
  },
};
