import type { Selectable, Transaction } from 'kysely';
import { driftKinds, type DriftFinding, type DriftRepository } from '../ports/index.js';
import { affected, fromMs, fromNullable, fromOptionalMs, member } from './columns.js';
import type { Database, DriftFindingsTable } from './schema.js';

const toFinding = (row: Selectable<DriftFindingsTable>): DriftFinding => ({
  id: row.id,
  account: row.account,
  kind: member(row.kind, driftKinds, 'drift_findings.kind'),
  subject: row.subject,
  detail: row.detail,
  firstSeen: fromMs(row.first_seen),
  lastSeen: fromMs(row.last_seen),
  resolvedAt: fromOptionalMs(row.resolved_at),
  ackedBy: fromNullable(row.acked_by),
  ackedReason: fromNullable(row.acked_reason),
});

/**
 * Drift findings. `resolve` is a compare-and-set on `resolved_at`, so two instances scanning at
 * once audit a disappearance once. Must run inside `Store.transaction`.
 */
export function driftRepository(trx: Transaction<Database>): DriftRepository {
  return {
    async listOpen() {
      const rows = await trx.selectFrom('drift_findings').selectAll().where('resolved_at', 'is', null).orderBy('first_seen').orderBy('id').execute();
      return rows.map(toFinding);
    },

    async list(limit) {
      const open = await this.listOpen();
      const resolved = await trx
        .selectFrom('drift_findings')
        .selectAll()
        .where('resolved_at', 'is not', null)
        .orderBy('resolved_at', 'desc')
        .orderBy('id')
        .limit(Math.max(0, limit - open.length))
        .execute();
      return [...open, ...resolved.map(toFinding)].slice(0, limit);
    },

    async find(id) {
      const row = await trx.selectFrom('drift_findings').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toFinding(row);
    },

    async insert(f) {
      const result = await trx
        .insertInto('drift_findings')
        .values({
          id: f.id,
          account: f.account,
          kind: f.kind,
          subject: f.subject,
          detail: f.detail,
          first_seen: f.firstSeen.getTime(),
          last_seen: f.lastSeen.getTime(),
          resolved_at: null,
          acked_by: null,
          acked_reason: null,
        })
        .onConflict((oc) => oc.columns(['account', 'kind', 'subject']).where('resolved_at', 'is', null).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async seen(id, at, detail) {
      await trx.updateTable('drift_findings').set({ last_seen: at.getTime(), detail }).where('id', '=', id).execute();
    },

    async resolve(id, at) {
      const result = await trx.updateTable('drift_findings').set({ resolved_at: at.getTime() }).where('id', '=', id).where('resolved_at', 'is', null).executeTakeFirst();
      return affected(result) === 1;
    },

    async acknowledge(id, by, reason) {
      await trx.updateTable('drift_findings').set({ acked_by: by, acked_reason: reason }).where('id', '=', id).execute();
    },
  };
}
