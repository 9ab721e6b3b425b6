import type { Selectable, Transaction } from 'kysely';
import { asGrantId, type GrantId } from '../domain/index.js';
import type { PendingShare, PendingShareRepository, Store } from '../ports/index.js';
import { fromMs } from './columns.js';
import type { Database, PendingSharesTable } from './schema.js';

/**
 * Custodian shares awaiting their quorum, sealed (the store never sees a share in clear). Must
 * run inside `Store.transaction`.
 */
export function pendingShareRepository(trx: Transaction<Database>, dialect: Store['dialect']): PendingShareRepository {
  /**
   * Serializes the work on one grant's shares across instances. Under READ COMMITTED each later
   * statement of the waiting transaction sees what the one before it committed, so its count
   * includes the share that was held meanwhile, and a drop sees every share held before it.
   */
  const lockGrant = async (grantId: GrantId) => {
    if (dialect === 'postgres') await trx.selectFrom('grants').select('id').where('id', '=', grantId).forUpdate().execute();
  };
  return {
    async hold(share) {
      await lockGrant(share.grantId);
      const inserted = await trx
        .insertInto('pending_shares')
        .values({ grant_id: share.grantId, holder: share.holder, share_sealed: share.sealed, presented_at: share.presentedAt.getTime() })
        .onConflict((oc) => oc.columns(['grant_id', 'holder']).doNothing())
        .returning('holder')
        .executeTakeFirst();
      if (inserted === undefined) return undefined;
      const row = await trx.selectFrom('pending_shares').select((eb) => eb.fn.countAll<number | string>().as('held')).where('grant_id', '=', share.grantId).executeTakeFirstOrThrow();
      return Number(row.held);
    },

    async list(grantId) {
      const rows = await trx.selectFrom('pending_shares').selectAll().where('grant_id', '=', grantId).orderBy('presented_at').orderBy('holder').execute();
      return rows.map(toPendingShare);
    },

    async drop(grantId) {
      await lockGrant(grantId);
      const rows = await trx.deleteFrom('pending_shares').where('grant_id', '=', grantId).returning(['holder', 'presented_at']).execute();
      return rows.sort((a, b) => Number(a.presented_at) - Number(b.presented_at) || a.holder.localeCompare(b.holder)).map((row) => row.holder);
    },
  };
}

function toPendingShare(row: Selectable<PendingSharesTable>): PendingShare {
  return { grantId: asGrantId(row.grant_id), holder: row.holder, sealed: row.share_sealed, presentedAt: fromMs(row.presented_at) };
}
