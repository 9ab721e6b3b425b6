import SqliteDatabase from 'better-sqlite3';
import type { Selectable } from 'kysely';
import { AppError } from '../errors/index.js';
import type { AuditEventRecord, CheckpointRecord, StoredAuditEvent } from '../ports/index.js';
import { toAuditEvent, toCheckpoint, toHead } from './audit-repository.js';
import type { AuditHead } from './audit-repository.js';
import type { AuditCheckpointsTable, AuditEventsTable, AuditHeadTable } from './schema.js';

/** What the offline verifier needs from a stopped server's SQLite data file. */
export interface OfflineAudit {
  /** The events in seq order, streamed from the file (each iteration reads it afresh). */
  readonly events: AsyncIterable<AuditEventRecord>;
  /** Every signed checkpoint, in seq order; read before the events, so none is newer than them. */
  readonly checkpoints: readonly CheckpointRecord[];
  /** The recorded head: a chain whose last event is not the head lost its tail. */
  readonly head: AuditHead;
  /** A stored setting (e.g. the audit public key), or undefined. */
  settings(key: string): string | undefined;
  // issue 13 (verify)
  /**
   * The events as stored, in keyset pages of 5,000, details as the column's text (each iteration
   * reads the file afresh): what the stored-text verification hashes without parsing. Read as
   * better-sqlite3 raw rows, which cost about half of its row objects.
   */
  readonly storedPages: AsyncIterable<StoredAuditEvent[]>;
}

/**
 * Reads the audit chain of a SQLite data file read-only, without migrating or writing anything,
 * so `breakglass audit verify` can check a stopped server's data directory.
 *
 * @example
 *   const audit = await readAuditOffline(join(dataDir, 'breakglass.db'));
 *   for await (const event of audit.events) check(event);
 */
export function readAuditOffline(file: string): Promise<OfflineAudit> {
  // better-sqlite3 is synchronous; the promise keeps the signature free to become truly async.
  return new Promise((resolve) => resolve(readSnapshot(file)));
}

function readSnapshot(file: string): OfflineAudit {
  const db = openSqliteReadOnly(file);
  try {
    const checkpoints = db.prepare('select * from audit_checkpoints order by seq').all() as Selectable<AuditCheckpointsTable>[];
    const head = db.prepare('select * from audit_head where id = 1').get() as Selectable<AuditHeadTable> | undefined;
    const settingRows = db.prepare('select key, value from settings').all() as { key: string; value: string }[];
    if (head === undefined) throw new AppError('integrity', 'the audit chain head row is missing');
    const settings = new Map(settingRows.map((row) => [row.key, row.value]));
    return {
      events: { [Symbol.asyncIterator]: () => streamEvents(file) },
      // issue 13 (verify)
      storedPages: { [Symbol.asyncIterator]: () => streamStoredPages(file) },
      checkpoints: checkpoints.map(toCheckpoint),
      head: toHead(head),
      settings: (key) => settings.get(key),
    };
  } catch (error) {
    throw asOfflineError(file, error);
  } finally {
    db.close();
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- better-sqlite3 reads synchronously; verifiers consume an async iterable
async function* streamEvents(file: string): AsyncGenerator<AuditEventRecord> {
  const db = openSqliteReadOnly(file);
  try {
    const rows = db.prepare('select * from audit_events order by seq').iterate() as IterableIterator<Selectable<AuditEventsTable>>;
    for (const row of rows) yield toAuditEvent(row);
  } finally {
    db.close();
  }
}

// issue 13 (verify)
const storedPageRows = 5_000;

/** The stored columns in `toStoredAuditEvent`'s order, read as arrays (`.raw()`), not row objects. */
type RawStoredRow = [seq: number, at: number, actor: string, action: string, subject: string, details: string, prevHash: string, hash: string];

// issue 13 (verify)
// eslint-disable-next-line @typescript-eslint/require-await -- better-sqlite3 reads synchronously; verifiers consume an async iterable
async function* streamStoredPages(file: string): AsyncGenerator<StoredAuditEvent[]> {
  const db = openSqliteReadOnly(file);
  try {
    const page = db.prepare('select seq, at, actor, action, subject, details, prev_hash, hash from audit_events where seq > ? order by seq limit ?').raw(true);
    for (let after = 0; ; ) {
      const rows = page.all(after, storedPageRows) as RawStoredRow[];
      if (rows.length > 0) {
        yield rows.map(([seq, at, actor, action, subject, detailsJson, prevHash, hash]) => ({
          seq: Number(seq), at: new Date(Number(at)), actor, action, subject, detailsJson, prevHash, hash,
        }));
      }
      if (rows.length < storedPageRows) return;
      after = Number(rows[rows.length - 1]![0]);
    }
  } finally {
    db.close();
  }
}

/** Opens an existing SQLite data file read-only; never creates, migrates or writes it. */
function openSqliteReadOnly(file: string): SqliteDatabase.Database {
  try {
    return new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new AppError('not_found', `cannot open ${file} as a Breakglass data file`, { cause });
  }
}

function asOfflineError(file: string, error: unknown): unknown {
  if (error instanceof AppError) return error;
  return new AppError('validation', `${file} is not a readable Breakglass data file`, { cause: error });
}
