import type { StoreCondition } from '../ports/index.js';

/** The error and its causes, outermost first (an AppError may wrap the driver's error). */
function* causes(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

const codeOf = (error: unknown): string | undefined => {
  for (const link of causes(error)) if (typeof link.code === 'string') return link.code;
  return undefined;
};

/**
 * SQLite result codes (better-sqlite3 reports the extended ones: `SQLITE_IOERR_WRITE`…) that
 * say the file cannot take a write; `SQLITE_READONLY_DBMOVED` is SQLite noticing what our
 * identity check looks for (the file was unlinked or renamed).
 */
export function sqliteFault(error: unknown): StoreCondition | undefined {
  const code = codeOf(error);
  if (code === undefined || !code.startsWith('SQLITE_')) return undefined;
  if (code === 'SQLITE_READONLY_DBMOVED') return { fault: 'lost', detail: 'SQLite reports that the database file was moved or removed (SQLITE_READONLY_DBMOVED)' };
  if (code === 'SQLITE_FULL') return { fault: 'unwritable', detail: 'the disk holding the database is full (SQLITE_FULL)' };
  if (/^SQLITE_(READONLY|IOERR|CANTOPEN)/.test(code)) return { fault: 'unwritable', detail: `the database cannot be written (${code})` };
  return undefined;
}

/** SQLSTATEs of a server that cannot write: disk full, read-only (a standby), I/O error. */
const pgUnwritable = new Map([
  ['53100', 'the database server\'s disk is full (SQLSTATE 53100 disk_full)'],
  ['25006', 'the database is read-only (SQLSTATE 25006 read_only_sql_transaction): a standby, or default_transaction_read_only'],
  ['58030', 'the database server reports an I/O error (SQLSTATE 58030)'],
]);
/** Class 08 (connection exception) and the shutdown codes of class 57. */
const pgGone = /^(08...|57P0[123])$/;
const socketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * pg reports a dropped or timed-out connection with a bare Error (no code), so these are
 * matched on the driver's message — the one place we must; our own errors carry codes.
 */
const pgConnectionMessages = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended)/;

/** What a failure of the pg driver says about the PostgreSQL store. */
export function postgresFault(error: unknown): StoreCondition | undefined {
  const code = codeOf(error);
  if (code !== undefined) {
    const unwritable = pgUnwritable.get(code);
    if (unwritable !== undefined) return { fault: 'unwritable', detail: unwritable };
    if (pgGone.test(code) || socketErrors.has(code)) return { fault: 'unreachable', detail: `the database server cannot be reached (${code})` };
  }
  for (const link of causes(error)) {
    if (typeof link.message === 'string' && pgConnectionMessages.test(link.message)) {
      return { fault: 'unreachable', detail: 'the connection to the database server was lost or could not be opened' };
    }
  }
  return undefined;
}
