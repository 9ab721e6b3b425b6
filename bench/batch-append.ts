/**
 * Bench 3b: audit appends in batches, the way a burst of state changes writes them (several
 * events in one durable commit), against a raw batched insert of the same rows. Product:
 * `batch` calls of `audit.append` inside one `store.transaction` on the embedded SQLite store.
 * Baseline: the same number of precomputed rows inserted with one prepared statement inside
 * one `BEGIN IMMEDIATE … COMMIT` with better-sqlite3, WAL + `synchronous=FULL` (what the store
 * itself runs on). Product and baseline alternate batch by batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { generateSigningKeyPair } from '../src/crypto/index.js';
import { createAuditLog } from '../src/modules/audit/audit-log.js';
import { systemClock } from '../src/ports/index.js';
import { createSqliteStore } from '../src/store/create-store.js';
import { benchEntry, plainRows, type PlainRow } from './audit-append.js';
import type { Figure } from './lib/report.js';
import { summarize, type Deadline } from './lib/stats.js';

export interface BatchAppendOptions {
  readonly batch: number;
  readonly batches: number;
  readonly deadline: Deadline;
  readonly progress: (message: string) => void;
}

function plainBatchInsert(file: string): { insert(rows: readonly PlainRow[]): number; close(): void } {
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`create table plain_events (seq bigint primary key, at bigint not null, actor text not null,
    action text not null, subject text not null, details text not null, prev_hash text not null, hash text not null)`);
  const statement = db.prepare('insert into plain_events (seq, at, actor, action, subject, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertAll = db.transaction((rows: readonly PlainRow[]) => {
    for (const r of rows) statement.run(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prevHash, r.hash);
  });
  return {
    insert(rows) {
      const start = performance.now();
      insertAll.immediate(rows);
      return performance.now() - start;
    },
    close: () => db.close(),
  };
}

/** Runs bench 3b; see the module comment. */
export async function batchAppendBench(options: BatchAppendOptions): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-batch-'));
  const plain = plainBatchInsert(join(dir, 'plain.db'));
  const store = await createSqliteStore(join(dir, 'breakglass.db'));
  try {
    const audit = createAuditLog({ clock: systemClock, ...generateSigningKeyPair() });
    const rows = plainRows(options.batch * options.batches);
    const productMs: number[] = [];
    const baselineMs: number[] = [];
    for (let b = 0; b < options.batches && !options.deadline.expired(); b++) {
      const from = b * options.batch;
      const start = performance.now();
      const entries = Array.from({ length: options.batch }, (_, k) => benchEntry(from + k));
      await store.transaction((tx) => audit.appendMany(tx, entries));
      productMs.push(performance.now() - start);
      baselineMs.push(plain.insert(rows.slice(from, from + options.batch)));
    }
    if (productMs.length < options.batches) options.progress(`batch append: time budget used up after ${productMs.length} batches`);
    const section = '3 audit append';
    const rate = (ms: readonly number[]) => (ms.length * options.batch * 1000) / ms.reduce((sum, x) => sum + x, 0);
    return [
      { id: 'audit.append-batch.sqlite', section, role: 'product', label: `audit append, ${options.batch} events/tx (sqlite store)`, latency: summarize(productMs), ratePerS: rate(productMs), baseline: 'sqlite.plain-insert-batch', extra: { batch: options.batch, latencyIs: 'ms per batch' } },
      { id: 'sqlite.plain-insert-batch', section, role: 'baseline', label: `better-sqlite3 INSERT, ${options.batch} rows/tx (WAL, sync=FULL)`, latency: summarize(baselineMs), ratePerS: rate(baselineMs) },
    ];
  } finally {
    await store.close();
    plain.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
