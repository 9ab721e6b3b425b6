import type { Kysely, Migration } from 'kysely';

/**
 * Bounds while active and repeated use (issue 11, H2): a policy's extension limits, cooldown and
 * `requireCertifiedPrevious`; a grant's extension count and admin override; the co-responders
 * who joined a live pre-staged case (each with their own one reveal).
 */
export const bounds: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').addColumn('max_extensions', 'integer').execute();
    await db.schema.alterTable('policies').addColumn('max_total_ms', 'bigint').execute();
    await db.schema.alterTable('policies').addColumn('cooldown_ms', 'bigint').execute();
    await db.schema.alterTable('policies').addColumn('require_certified_previous', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('grants').addColumn('extensions', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('grants').addColumn('override_reason', 'text').execute();
    await db.schema
      .createTable('co_responders')
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id'))
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('user_name', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addColumn('revealed_at', 'bigint')
      .addPrimaryKeyConstraint('co_responders_pk', ['grant_id', 'user_id'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('co_responders').execute();
    await db.schema.alterTable('grants').dropColumn('override_reason').execute();
    await db.schema.alterTable('grants').dropColumn('extensions').execute();
    await db.schema.alterTable('policies').dropColumn('require_certified_previous').execute();
    await db.schema.alterTable('policies').dropColumn('cooldown_ms').execute();
    await db.schema.alterTable('policies').dropColumn('max_total_ms').execute();
    await db.schema.alterTable('policies').dropColumn('max_extensions').execute();
  },
};
