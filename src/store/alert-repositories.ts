import { randomUUID } from 'node:crypto';
import { sql, type Selectable, type Transaction } from 'kysely';
import { severities } from '../domain/index.js';
import { channelTypes, type AlertCatalogRepository, type AlertPayload, type ChannelRecord, type OutboxMessage, type OutboxRepository, type OutboxState, type RouteRecord, type Store } from '../ports/index.js';
import { fromMs, fromNullable, fromOptionalMs, member, parseJson } from './columns.js';
import type { AlertOutboxTable, Database } from './schema.js';

const outboxStates: readonly OutboxState[] = ['pending', 'sent', 'dead'];

/** The catalog's channels and routes. Must run inside `Store.transaction`. */
export function alertCatalogRepository(trx: Transaction<Database>): AlertCatalogRepository {
  const toChannel = (row: { name: string; type: string; settings: string; secret_sealed: string | null }): ChannelRecord => ({
    name: row.name,
    type: member(row.type, channelTypes, 'alert_channels.type'),
    settings: parseJson<Record<string, unknown>>(row.settings, 'alert_channels.settings'),
    secretSealed: fromNullable(row.secret_sealed),
  });
  return {
    listChannels: async () => (await trx.selectFrom('alert_channels').selectAll().orderBy('name').execute()).map(toChannel),
    async findChannel(name) {
      const row = await trx.selectFrom('alert_channels').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toChannel(row);
    },
    async replace(channels, routes) {
      await trx.deleteFrom('alert_channels').execute();
      for (const c of channels) {
        await trx.insertInto('alert_channels').values({ name: c.name, type: c.type, settings: JSON.stringify(c.settings), secret_sealed: c.secretSealed ?? null }).execute();
      }
      await trx.deleteFrom('alert_routes').execute();
      for (const [position, route] of routes.entries()) await trx.insertInto('alert_routes').values({ position, route: JSON.stringify(route) }).execute();
    },
    async listRoutes() {
      const rows = await trx.selectFrom('alert_routes').selectAll().orderBy('position').execute();
      return rows.map((row) => {
        const route = parseJson<RouteRecord>(row.route, 'alert_routes.route');
        if (route.minSeverity !== undefined) member(route.minSeverity, severities, 'alert_routes.route.minSeverity');
        return route;
      });
    },
  };
}

/**
 * The transactional outbox. Rows are written in the transaction of the change they report and
 * delivered at least once; per channel, only the oldest message not yet sent may be claimed,
 * so a receiver gets its messages in order even after an outage. Must run inside `Store.transaction`.
 */
export function outboxRepository(trx: Transaction<Database>, dialect: Store['dialect']): OutboxRepository {
  return {
    async enqueue(messages) {
      if (messages.length === 0) return;
      // Order: after everything already queued, in the order given (the audit head lock serializes writers).
      const top = await trx.selectFrom('alert_outbox').select(sql<number | string | null>`max(seq)`.as('top')).executeTakeFirst();
      let seq = Number(top?.top ?? 0);
      for (const m of messages) {
        seq += 1;
        await trx
          .insertInto('alert_outbox')
          .values({ id: `alr_${randomUUID()}`, seq, channel: m.channel, payload: JSON.stringify(m.payload), state: 'pending', due_at: m.dueAt.getTime(), created_at: m.dueAt.getTime(), sent_at: null, last_error: null, lease_owner: null, lease_until: null })
          .execute();
      }
    },

    async claimDue(now, owner, leaseUntil, limit) {
      const at = now.getTime();
      let heads = trx
        .selectFrom('alert_outbox as o')
        .select('o.id')
        .where('o.state', '=', 'pending')
        .where('o.seq', '=', (eb) => eb.selectFrom('alert_outbox as p').select(sql<number>`min(p.seq)`.as('m')).whereRef('p.channel', '=', 'o.channel').where('p.state', '=', 'pending'))
        .where('o.due_at', '<=', at)
        .where((eb) => eb.or([eb('o.lease_until', 'is', null), eb('o.lease_until', '<=', at)]))
        .orderBy('o.seq')
        .limit(limit);
      if (dialect === 'postgres') heads = heads.forUpdate().skipLocked();
      const ids = (await heads.execute()).map((row) => row.id);
      if (ids.length === 0) return [];
      const rows = await trx
        .updateTable('alert_outbox')
        .set((eb) => ({ lease_owner: owner, lease_until: leaseUntil.getTime(), fence: eb('fence', '+', 1) }))
        .where('id', 'in', ids)
        .returningAll()
        .execute();
      return rows.map(toMessage).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    },

    async markSent(message, at) {
      const result = await trx
        .updateTable('alert_outbox')
        .set((eb) => ({ state: 'sent', sent_at: at.getTime(), attempts: eb('attempts', '+', 1), lease_owner: null, lease_until: null, last_error: null }))
        .where('id', '=', message.id)
        .where('fence', '=', message.fence)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async markFailed(message, error, next) {
      const result = await trx
        .updateTable('alert_outbox')
        .set((eb) => ({
          state: next === 'dead' ? 'dead' : 'pending',
          ...(next === 'dead' ? {} : { due_at: next.dueAt.getTime() }),
          attempts: eb('attempts', '+', 1),
          last_error: error,
          lease_owner: null,
          lease_until: null,
        }))
        .where('id', '=', message.id)
        .where('fence', '=', message.fence)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async list(filter) {
      let query = trx.selectFrom('alert_outbox').selectAll().orderBy('seq', 'desc');
      if (filter.state !== undefined) query = query.where('state', '=', filter.state);
      return (await query.limit(filter.limit ?? 500).execute()).map(toMessage);
    },

    async find(id) {
      const row = await trx.selectFrom('alert_outbox').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toMessage(row);
    },

    async revive(id, now) {
      const result = await trx
        .updateTable('alert_outbox')
        .set({ state: 'pending', attempts: 0, due_at: now.getTime(), lease_owner: null, lease_until: null })
        .where('id', '=', id)
        .where('state', '=', 'dead')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async releaseEarlierLives(owner, prefix) {
      const result = await trx
        .updateTable('alert_outbox')
        .set({ lease_owner: null, lease_until: null })
        .where(sql<boolean>`substr(lease_owner, 1, ${prefix.length}) = ${prefix}`)
        .where('lease_owner', '<>', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async countDead() {
      const row = await trx.selectFrom('alert_outbox').select(sql<number | string>`count(*)`.as('n')).where('state', '=', 'dead').executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

function toMessage(row: Selectable<AlertOutboxTable>): OutboxMessage {
  return {
    id: row.id,
    channel: row.channel,
    payload: parseJson<AlertPayload>(row.payload, 'alert_outbox.payload'),
    state: member(row.state, outboxStates, 'alert_outbox.state'),
    attempts: Number(row.attempts),
    dueAt: fromMs(row.due_at),
    createdAt: fromMs(row.created_at),
    sentAt: fromOptionalMs(row.sent_at),
    lastError: fromNullable(row.last_error),
    fence: Number(row.fence),
  };
}
