import type { Kysely, Migration } from 'kysely';

/** Invocation criteria of a policy (issue 11, H4): reasonMinLength, invokers that are users, incidentCheck. */
export const invocationCriteria: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').addColumn('reason_min_length', 'integer').execute();
    await db.schema.alterTable('policies').addColumn('invoker_users', 'text').execute();
    await db.schema.alterTable('policies').addColumn('incident_check', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').dropColumn('incident_check').execute();
    await db.schema.alterTable('policies').dropColumn('invoker_users').execute();
    await db.schema.alterTable('policies').dropColumn('reason_min_length').execute();
  },
};
