/**
 * Bench 3: appending to the audit chain, one event per transaction, the way every state
 * change does it, against inserting the same rows into a plain table in single-row
 * transactions. Product and baseline run in alternating blocks, so machine noise falls on
 * both alike.
 */
import { randomBytes } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import type { Client as PgClient } from 'pg';
import type { AuditEntry, AuditLog } from '../src/modules/audit/audit-log.js';
import type { Store } from '../src/ports/index.js';
import { trackHeap } from './lib/memory.js';
import type { Deadline } from './lib/stats.js';

/** The details of a typical `grant.requested` event: the bulk of a real chain's bytes. */
export function benchEntry(i: number): AuditEntry {
  return {
    actor: 'alice',
    action: 'grant.requested',
    subject: `gr_bench${String(i).padStart(8, '0')}`,
    details: {
      account: 'pg-breakglass',
      condition: 'outage',
      reason: 'primary down, SSO down, paging the DBA on call',
      incident: `INC-${i}`,
      ttlMs: 900_000,
      expiresAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
      policy: 'p0',
      approval: 'post-hoc',
    },
  };
}

/** A row shaped like an audit event, precomputed so the baseline times the insert alone. */
export interface PlainRow {
  readonly seq: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: string;
  readonly prevHash: string;
  readonly hash: string;
}

export function plainRows(count: number): PlainRow[] {
  return Array.from({ length: count }, (_, i) => {
    const entry = benchEntry(i);
    return {
      seq: i + 1,
      at: Date.now(),
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details: JSON.stringify(entry.details),
      prevHash: randomBytes(32).toString('hex'),
      hash: randomBytes(32).toString('hex'),
    };
  });
}

const plainTableSql = `create table plain_events (seq bigint primary key, at bigint not null, actor text not null,
  action text not null, subject text not null, details text not null, prev_hash text not null, hash text not null)`;

/** Inserts one row in its own transaction; returns the milliseconds it took. */
export type BaselineInsert = (row: PlainRow) => Promise<number>;

/** better-sqlite3, WAL, synchronous=FULL, BEGIN IMMEDIATE … COMMIT per row. */
export function sqlitePlainInsert(file: string): { insert: BaselineInsert; close(): void } {
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(plainTableSql);
  const statement = db.prepare(
    'insert into plain_events (seq, at, actor, action, subject, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertOne = db.transaction((r: PlainRow) => {
    statement.run(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prevHash, r.hash);
  });
  return {
    insert(row) {
      const start = performance.now();
      insertOne.immediate(row);
      return Promise.resolve(performance.now() - start);
    },
    close: () => db.close(),
  };
}

/** `pg`, one autocommit INSERT per row: a single-row transaction in one round trip. */
export async function postgresPlainInsert(client: PgClient): Promise<BaselineInsert> {
  await client.query(plainTableSql);
  return async (r) => {
    const start = performance.now();
    await client.query(
      'insert into plain_events (seq, at, actor, action, subject, details, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8)',
      [r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prevHash, r.hash],
    );
    return performance.now() - start;
  };
}

export interface AppendRun {
  readonly appendMs: number[];
  readonly baselineMs: number[];
  /** Peak heapUsed growth while appending, garbage included (an upper bound). */
  readonly appendPeakHeapGrowthMb: number;
  /** Heap still held after the run and a full GC: a leak would show here. */
  readonly appendRetainedMb: number;
}

/**
 * Appends `count` events, each in its own transaction, alternating blocks of `block` appends
 * with blocks of `block` baseline inserts, until done or the deadline passes.
 */
export async function appendInterleaved(options: {
  store: Store;
  audit: AuditLog;
  baseline: BaselineInsert;
  count: number;
  block: number;
  deadline: Deadline;
  progress: (message: string) => void;
  label: string;
}): Promise<AppendRun> {
  const rows = plainRows(options.count);
  const appendMs: number[] = [];
  const baselineMs: number[] = [];
  const heap = trackHeap();
  for (let from = 0; from < options.count && !options.deadline.expired(); from += options.block) {
    const to = Math.min(options.count, from + options.block);
    for (let i = from; i < to; i++) {
      const entry = benchEntry(i);
      const start = performance.now();
      await options.store.transaction((tx) => options.audit.append(tx, entry));
      appendMs.push(performance.now() - start);
    }
    heap.sample();
    for (let i = from; i < to; i++) baselineMs.push(await options.baseline(rows[i]!));
    if (to % 1000 === 0) options.progress(`${options.label}: ${to}/${options.count} events`);
  }
  if (appendMs.length < options.count) options.progress(`${options.label}: time budget used up after ${appendMs.length} events`);
  return { appendMs, baselineMs, appendPeakHeapGrowthMb: heap.peakGrowthMb(), appendRetainedMb: heap.retainedMb() };
}

// issue 13 (audit): appends in batches (many events in one transaction) against a raw batched insert.

/** Inserts rows in one transaction with one multi-row INSERT; returns the milliseconds it took. */
export type BatchBaselineInsert = (rows: readonly PlainRow[]) => Promise<number>;

const plainColumns = 'insert into plain_events (seq, at, actor, action, subject, details, prev_hash, hash) values ';
const flatten = (rows: readonly PlainRow[]) => rows.flatMap((r) => [r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prevHash, r.hash]);

/** better-sqlite3, WAL, synchronous=FULL: `BEGIN IMMEDIATE`, one prepared multi-row INSERT, `COMMIT`. */
export function sqlitePlainBatchInsert(file: string): { insert: BatchBaselineInsert; close(): void } {
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(plainTableSql);
  const statements = new Map<number, SqliteDatabase.Statement>();
  const statementFor = (count: number) => {
    let statement = statements.get(count);
    if (statement === undefined) {
      statement = db.prepare(plainColumns + Array.from({ length: count }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '));
      statements.set(count, statement);
    }
    return statement;
  };
  const insertAll = db.transaction((rows: readonly PlainRow[]) => void statementFor(rows.length).run(...flatten(rows)));
  return {
    insert(rows) {
      const start = performance.now();
      insertAll.immediate(rows);
      return Promise.resolve(performance.now() - start);
    },
    close: () => db.close(),
  };
}

/** `pg`, one autocommit multi-row INSERT per batch: the batch in one round trip and one commit. */
export async function postgresPlainBatchInsert(client: PgClient): Promise<BatchBaselineInsert> {
  await client.query(plainTableSql);
  return async (rows) => {
    const placeholders = rows.map((_, i) => `(${Array.from({ length: 8 }, (_, c) => `$${i * 8 + c + 1}`).join(', ')})`);
    const start = performance.now();
    await client.query(plainColumns + placeholders.join(', '), flatten(rows));
    return performance.now() - start;
  };
}

export interface BatchAppendRun {
  /** Milliseconds per batch (one transaction each). */
  readonly appendMs: number[];
  readonly baselineMs: number[];
  readonly batch: number;
}

/**
 * Appends `count` events in transactions of `batch` events each (`AuditLog.appendMany`, what a
 * burst of state changes committed together does), alternating each batch with a raw batched
 * insert of the same number of rows, until done or the deadline passes.
 */
export async function appendBatchedInterleaved(options: {
  store: Store;
  audit: AuditLog;
  baseline: BatchBaselineInsert;
  count: number;
  batch: number;
  deadline: Deadline;
  progress: (message: string) => void;
  label: string;
}): Promise<BatchAppendRun> {
  const rows = plainRows(options.count);
  const appendMs: number[] = [];
  const baselineMs: number[] = [];
  for (let from = 0; from < options.count && !options.deadline.expired(); from += options.batch) {
    const to = Math.min(options.count, from + options.batch);
    const entries = Array.from({ length: to - from }, (_, k) => benchEntry(from + k));
    const start = performance.now();
    await options.store.transaction((tx) => options.audit.appendMany(tx, entries));
    appendMs.push(performance.now() - start);
    baselineMs.push(await options.baseline(rows.slice(from, to)));
    if (to % 1000 === 0) options.progress(`${options.label}: ${to}/${options.count} events`);
  }
  return { appendMs, baselineMs, batch: options.batch };
}
