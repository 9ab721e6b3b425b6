import type { Kysely, Migration } from 'kysely';

/**
 * Issue 12 (P2): a grant keeps what its verified revocation did to live sessions, as JSON
 * `{sessionsBefore, sessionsEnded, sessionsAfter}` (null for grants revoked before this).
 */
export const revocationEvidence: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').addColumn('revocation', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').dropColumn('revocation').execute();
  },
};
