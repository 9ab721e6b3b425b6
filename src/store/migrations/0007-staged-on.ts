import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Where Breakglass staged each pre-staged account itself. A login already on the target is
 * taken over only when it is ours (staged there before) or the account says `adopt: true`.
 * Accounts staged before this column existed are trusted once (`legacy`): their next staging
 * records the real mark. ('legacy' is ports' LEGACY_STAGED_ON, written out: a shipped
 * migration must not change when code does.)
 */
export const stagedOn: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').addColumn('staged_on', 'text').execute();
    await sql`update accounts set staged_on = 'legacy' where secret_version > 0`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').dropColumn('staged_on').execute();
  },
};
