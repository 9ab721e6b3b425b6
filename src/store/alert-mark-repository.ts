import type { Transaction } from 'kysely';
import type { AlertMarkRepository } from '../ports/index.js';
import type { Database } from './schema.js';

/**
 * The alert watch's record of what it raised. `mark` inserts or does nothing: on PostgreSQL a
 * second instance inserting the same key waits for the first to commit and then inserts
 * nothing, so exactly one transaction learns `true`. Must run inside `Store.transaction`.
 */
export function alertMarkRepository(trx: Transaction<Database>): AlertMarkRepository {
  return {
    async mark(grantId, event, occurrence, at) {
      const result = await trx
        .insertInto('alert_marks')
        .values({ grant_id: grantId, event, occurrence, raised_at: at.getTime() })
        .onConflict((oc) => oc.columns(['grant_id', 'event', 'occurrence']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
  };
}
