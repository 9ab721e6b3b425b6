import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { hashEvent } from '../../src/crypto/audit-chain.js';
import { benchEntry } from '../audit-append.js';

/**
 * Extends the audit chain of an initialised (not running) data directory by `count` events,
 * straight into its SQLite file: the same rows `audit.append` writes (same columns, the same
 * `hashEvent` over the same canonical JSON, each linked to the previous hash, the head moved
 * with them), 10,000 per transaction. What it leaves out is per-event: the head lock, the
 * append hooks (no alert routes here) and the per-second checkpoint; the server signs the head
 * at its first checkpoint, so the chain still verifies. Appending a million events one by one
 * through the server would take longer than the whole bench may.
 */
export function seedAuditChain(dataDir: string, count: number): void {
  const db = new SqliteDatabase(join(dataDir, 'breakglass.db'));
  try {
    db.pragma('journal_mode = WAL');
    const head = db.prepare('select seq, hash from audit_head where id = 1').get() as { seq: number; hash: string } | undefined;
    if (head === undefined) throw new Error('the data directory has no audit head row');
    const insert = db.prepare('insert into audit_events (seq, at, actor, action, subject, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?)');
    const moveHead = db.prepare('update audit_head set seq = ?, hash = ? where id = 1 and seq = ?');
    let { seq, hash } = head;
    const start = Date.now() - count; // one event per millisecond, ending now
    const batch = db.transaction((n: number) => {
      const from = seq;
      for (let i = 0; i < n; i++) {
        const entry = benchEntry(seq);
        const at = new Date(start + (seq - head.seq));
        const event = { seq: seq + 1, at: at.toISOString(), actor: entry.actor, action: entry.action, subject: entry.subject, details: { ...entry.details } };
        const next = hashEvent(hash, event);
        insert.run(event.seq, at.getTime(), event.actor, event.action, event.subject, JSON.stringify(event.details), hash, next);
        seq = event.seq;
        hash = next;
      }
      if (moveHead.run(seq, hash, from).changes !== 1) throw new Error('the audit head moved while seeding');
    });
    for (let done = 0; done < count; done += 10_000) batch.immediate(Math.min(10_000, count - done));
  } finally {
    db.close();
  }
}
