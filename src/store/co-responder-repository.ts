import type { Selectable, Transaction } from 'kysely';
import { asGrantId, asUserId } from '../domain/index.js';
import type { CoResponder, CoResponderRepository } from '../ports/index.js';
import { affected, fromMs, fromOptionalMs } from './columns.js';
import type { CoRespondersTable, Database } from './schema.js';

/** Issue 11 (H2): the co-responders of live pre-staged cases (0018). Must run inside `Store.transaction`. */
export function coResponderRepository(trx: Transaction<Database>): CoResponderRepository {
  return {
    async add(c) {
      const inserted = await trx
        .insertInto('co_responders')
        .values({ grant_id: c.grantId, user_id: c.userId, user_name: c.userName, reason: c.reason, joined_at: c.joinedAt.getTime(), revealed_at: null })
        .onConflict((oc) => oc.columns(['grant_id', 'user_id']).doNothing())
        .returning('user_id')
        .executeTakeFirst();
      return inserted !== undefined;
    },

    async list(grantId) {
      const rows = await trx.selectFrom('co_responders').selectAll().where('grant_id', '=', grantId).orderBy('joined_at').orderBy('user_name').execute();
      return rows.map(toCoResponder);
    },

    async find(grantId, userId) {
      const row = await trx.selectFrom('co_responders').selectAll().where('grant_id', '=', grantId).where('user_id', '=', userId).executeTakeFirst();
      return row === undefined ? undefined : toCoResponder(row);
    },

    async markRevealed(grantId, userId, at) {
      const result = await trx
        .updateTable('co_responders')
        .set({ revealed_at: at.getTime() })
        .where('grant_id', '=', grantId)
        .where('user_id', '=', userId)
        .where('revealed_at', 'is', null)
        .executeTakeFirst();
      return affected(result) === 1;
    },
  };
}

function toCoResponder(row: Selectable<CoRespondersTable>): CoResponder {
  return {
    grantId: asGrantId(row.grant_id),
    userId: asUserId(row.user_id),
    userName: row.user_name,
    reason: row.reason,
    joinedAt: fromMs(row.joined_at),
    revealedAt: fromOptionalMs(row.revealed_at),
  };
}
