import type { Selectable, Transaction } from 'kysely';
import type { AlertAck, AlertAckRepository, AlertPayload, PendingEscalation } from '../ports/index.js';
import { affected, fromMs, fromNullable, parseJson, toNullable } from './columns.js';
import type { AlertAcksTable, AlertEscalationsTable, Database } from './schema.js';

const toAck = (row: Selectable<AlertAcksTable>): AlertAck => ({ eventId: row.event_id, ackedBy: row.acked_by, ackedAt: fromMs(row.acked_at), note: fromNullable(row.note) });

const toEscalation = (row: Selectable<AlertEscalationsTable>): PendingEscalation => ({
  eventId: row.event_id,
  step: Number(row.step),
  dueAt: fromMs(row.due_at),
  channels: parseJson<string[]>(row.channels, 'alert_escalations.channels'),
  payload: parseJson<AlertPayload>(row.payload, 'alert_escalations.payload'),
});

/**
 * Acknowledgements and the escalations they stop. `acknowledge` inserts or does nothing, so the
 * first acknowledgement stands whichever instance took it, and drops the event's escalations not
 * yet sent (those sent stay, as history); `markEscalated` is a compare-and-set
 * on `escalated_at` that also checks the event is still unacknowledged. Must run inside
 * `Store.transaction`.
 */
export function alertAckRepository(trx: Transaction<Database>): AlertAckRepository {
  return {
    async acknowledge(ack) {
      const result = await trx
        .insertInto('alert_acks')
        .values({ event_id: ack.eventId, acked_by: ack.ackedBy, acked_at: ack.ackedAt.getTime(), note: toNullable(ack.note) })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .executeTakeFirst();
      const first = Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
      if (first) {
        // Its escalations will never be sent: gone, so the tick's scan of due rows does not grow with history.
        await trx.deleteFrom('alert_escalations').where('event_id', '=', ack.eventId).where('escalated_at', 'is', null).execute();
        return { ack, first };
      }
      const row = await trx.selectFrom('alert_acks').selectAll().where('event_id', '=', ack.eventId).executeTakeFirstOrThrow();
      return { ack: toAck(row), first };
    },

    async find(eventIds) {
      if (eventIds.length === 0) return new Map();
      const rows = await trx.selectFrom('alert_acks').selectAll().where('event_id', 'in', [...new Set(eventIds)]).execute();
      return new Map(rows.map((row) => [row.event_id, toAck(row)]));
    },

    async scheduleEscalations(escalations) {
      for (const e of escalations) {
        await trx
          .insertInto('alert_escalations')
          .values({ event_id: e.eventId, step: e.step, due_at: e.dueAt.getTime(), channels: JSON.stringify(e.channels), payload: JSON.stringify(e.payload), escalated_at: null })
          .onConflict((oc) => oc.columns(['event_id', 'step']).doNothing())
          .execute();
      }
    },

    async dueEscalations(now, limit) {
      const rows = await trx
        .selectFrom('alert_escalations as e')
        .selectAll('e')
        .where('e.escalated_at', 'is', null)
        .where('e.due_at', '<=', now.getTime())
        .where((eb) => eb.not(eb.exists(eb.selectFrom('alert_acks as a').select('a.event_id').whereRef('a.event_id', '=', 'e.event_id'))))
        .orderBy('e.due_at')
        .limit(limit)
        .execute();
      return rows.map(toEscalation);
    },

    async markEscalated(eventId, step, at) {
      const result = await trx
        .updateTable('alert_escalations')
        .set({ escalated_at: at.getTime() })
        .where('event_id', '=', eventId)
        .where('step', '=', step)
        .where('escalated_at', 'is', null)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('alert_acks').select('alert_acks.event_id').where('alert_acks.event_id', '=', eventId))))
        .executeTakeFirst();
      return affected(result) === 1;
    },
  };
}
