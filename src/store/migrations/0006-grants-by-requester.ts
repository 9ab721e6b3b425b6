import type { Kysely, Migration } from 'kysely';

/** A responder's own cases are chosen in SQL (`grants.list({requesterId})`), newest first. */
export const grantsByRequester: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('grants_requester_created_idx').on('grants').columns(['requester_id', 'created_at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('grants_requester_created_idx').execute();
  },
};
