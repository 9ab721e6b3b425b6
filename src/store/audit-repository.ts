import type { Selectable, Transaction } from 'kysely';
import { AppError } from '../errors/index.js';
import type { AuditEventInsert, AuditEventRecord, AuditRepository, CheckpointRecord, Store, StoredAuditEvent } from '../ports/index.js';
import { affected, fromMs, fromOptionalMs, parseJson } from './columns.js';
import type { AuditCheckpointsTable, AuditEventsTable, AuditHeadTable, Database } from './schema.js';

/**
 * The append-only audit chain. `insertMany` (and `insert`, a batch of one) moves the head in the
 * same statement set as the events, and only if the first extends the current head (seq + 1,
 * prevHash = head hash): a caller that skipped `lockHead` or raced another appender fails closed
 * instead of forking the chain (invariant I2). Must run inside `Store.transaction`.
 */
export function auditRepository(trx: Transaction<Database>, dialect: Store['dialect']): AuditRepository {
  // issue 13 (audit): a batch in one head move and one INSERT per chunk, only if the first event
  // extends the head.
  const insertMany = async (events: readonly AuditEventInsert[]): Promise<void> => {
    const first = events[0];
    const last = events.at(-1);
    if (first === undefined || last === undefined) return;
    assertLinked(events);
    const moved = await trx
      .updateTable('audit_head')
      .set({ seq: last.seq, hash: last.hash })
      .where('id', '=', 1)
      .where('seq', '=', first.seq - 1)
      .where('hash', '=', first.prevHash)
      .executeTakeFirst();
    if (affected(moved) !== 1) {
      const which = first === last ? `audit event ${first.seq} does` : `audit events ${first.seq}..${last.seq} do`;
      throw new AppError('audit_failed', `${which} not extend the chain head`);
    }
    for (let from = 0; from < events.length; from += insertChunk) {
      await trx.insertInto('audit_events').values(events.slice(from, from + insertChunk).map(toEventRow)).execute();
    }
  };
  return {
    async lockHead() {
      let query = trx.selectFrom('audit_head').selectAll().where('id', '=', 1);
      // SQLite: the immediate write transaction already holds the database's single write lock.
      if (dialect === 'postgres') query = query.forUpdate();
      const row = await query.executeTakeFirst();
      if (row === undefined) throw new AppError('integrity', 'the audit chain head row is missing');
      return toHead(row);
    },

    // One code path for one event and for many: a batch of one. The details column gets the text
    // this method has always written (`JSON.stringify`); `AuditLog` writes the canonical text.
    insert: (event) => insertMany([{ ...event, detailsJson: JSON.stringify(event.details) }]),

    insertMany,

    // issue 13 (audit): keyset pages, details left as stored (verification hashes the text).
    async storedEvents(afterSeq, limit) {
      const rows = await trx.selectFrom('audit_events').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
      return rows.map(toStoredAuditEvent);
    },

    async insertCheckpoint(checkpoint) {
      const at = checkpoint.at.getTime();
      await trx
        .insertInto('audit_checkpoints')
        .values({ seq: checkpoint.seq, hash: checkpoint.hash, at, signature: checkpoint.signature })
        .execute();
      await trx.updateTable('audit_head').set({ checkpoint_at: at }).where('id', '=', 1).execute();
    },

    async events(fromSeq, limit) {
      const rows = await trx
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>=', fromSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toAuditEvent);
    },

    // issue 11 (H3): served by audit_events_subject_seq_idx (0019).
    async eventsAbout(subject, afterSeq, limit) {
      const rows = await trx.selectFrom('audit_events').selectAll().where('subject', '=', subject).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
      return rows.map(toAuditEvent);
    },

    async checkpoints() {
      const rows = await trx.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
      return rows.map(toCheckpoint);
    },

    async lastCheckpoint() {
      const row = await trx.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row === undefined ? undefined : toCheckpoint(row);
    },
  };
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
  readonly checkpointAt: Date | undefined;
}

export function toHead(row: Selectable<AuditHeadTable>): AuditHead {
  return { seq: Number(row.seq), hash: row.hash, checkpointAt: fromOptionalMs(row.checkpoint_at) };
}

export function toAuditEvent(row: Selectable<AuditEventsTable>): AuditEventRecord {
  const { detailsJson, ...event } = toStoredAuditEvent(row);
  return { ...event, details: parseJson<Record<string, unknown>>(detailsJson, 'audit_events.details') };
}

// issue 13 (audit)
/** Rows per INSERT: 8 parameters each stays far below SQLite's and PostgreSQL's limits. */
const insertChunk = 500;

function assertLinked(events: readonly AuditEventInsert[]): void {
  for (let i = 1; i < events.length; i++) {
    const [previous, event] = [events[i - 1]!, events[i]!];
    if (event.seq !== previous.seq + 1 || event.prevHash !== previous.hash) {
      throw new AppError('audit_failed', `audit event ${event.seq} does not extend event ${previous.seq}`);
    }
  }
}

/** The details column keeps the canonical JSON the hash covers, so verification need not re-canonicalise. */
function toEventRow(event: AuditEventInsert) {
  return {
    seq: event.seq,
    at: event.at.getTime(),
    actor: event.actor,
    action: event.action,
    subject: event.subject,
    details: event.detailsJson,
    prev_hash: event.prevHash,
    hash: event.hash,
  };
}

export function toStoredAuditEvent(row: Selectable<AuditEventsTable>): StoredAuditEvent {
  return {
    seq: Number(row.seq),
    at: fromMs(row.at),
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    detailsJson: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export function toCheckpoint(row: Selectable<AuditCheckpointsTable>): CheckpointRecord {
  return { seq: Number(row.seq), hash: row.hash, at: fromMs(row.at), signature: row.signature };
}
