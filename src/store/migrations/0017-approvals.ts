import type { Kysely, Migration } from 'kysely';

/**
 * Approvals (issue 11, H1): a policy's approvers rule (JSON: threshold, approvers, timeout ms)
 * and its `escalate.after`; on a grant, the approvers' decisions (JSON) and the escalation.
 */
export const approvals: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('policies').addColumn('approvers', 'text').execute();
    await db.schema.alterTable('policies').addColumn('escalate_after_ms', 'bigint').execute();
    await db.schema.alterTable('grants').addColumn('approvals', 'text').execute();
    await db.schema.alterTable('grants').addColumn('escalated', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('grants').addColumn('escalation_reason', 'text').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('grants').dropColumn('escalation_reason').execute();
    await db.schema.alterTable('grants').dropColumn('escalated').execute();
    await db.schema.alterTable('grants').dropColumn('approvals').execute();
    await db.schema.alterTable('policies').dropColumn('escalate_after_ms').execute();
    await db.schema.alterTable('policies').dropColumn('approvers').execute();
  },
};
