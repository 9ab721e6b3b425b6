// issue 13 (audit): batched appends and verification of the chain as stored, on a real SQLite store.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, generateSigningKeyPair } from '../../crypto/index.js';
import { AppError } from '../../errors/index.js';
import type { AuditEventRecord, Clock, Store } from '../../ports/index.js';
import { createSqliteStore } from '../../store/create-store.js';
import { createAuditLog, type AuditEntry } from './audit-log.js';
import { verifyStoredChain } from './audit-reader.js';

const keys = generateSigningKeyPair();
const t0 = Date.UTC(2030, 0, 1);
const clockAt = (ms: number): Clock & { set(ms: number): void } => {
  let now = ms;
  return { now: () => new Date(now), set: (next) => void (now = next) };
};

const entry = (i: number): AuditEntry => ({
  actor: i % 2 === 0 ? 'alice' : 'system',
  action: 'grant.requested',
  subject: `gr_${i}`,
  details: { zeta: i, alpha: 'é "quoted"', nested: { b: [1, 2], a: null } },
});

async function withStores<T>(work: (open: () => Promise<{ store: Store; file: string }>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-audit-log-test-'));
  const stores: Store[] = [];
  try {
    return await work(async () => {
      const file = join(dir, `s${stores.length}.db`);
      const store = await createSqliteStore(file);
      stores.push(store);
      return { store, file };
    });
  } finally {
    for (const store of stores) await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const allEvents = (store: Store) => store.transaction((tx) => tx.audit.events(1, 10_000));
const allCheckpoints = (store: Store) => store.transaction((tx) => tx.audit.checkpoints());

describe('AuditLog.appendMany', () => {
  it('writes the chain append writes one event at a time (same clock), hooks in order, one checkpoint', async () => {
    await withStores(async (open) => {
      const [one, many] = [await open(), await open()];
      const clock = clockAt(t0);
      const single = createAuditLog({ clock, ...keys });
      const batched = createAuditLog({ clock, ...keys });
      const seen: number[] = [];
      const checkpointed: number[] = [];
      batched.onAppend((_tx, record) => Promise.resolve(void seen.push(record.seq)));
      batched.onCheckpoint((_tx, checkpoint) => Promise.resolve(void checkpointed.push(checkpoint.seq, seen.length)));
      const entries = Array.from({ length: 120 }, (_, i) => entry(i));

      await one.store.transaction(async (tx) => {
        for (const e of entries) await single.append(tx, e);
      });
      const written = await many.store.transaction((tx) => batched.appendMany(tx, entries));

      const [a, b] = [await allEvents(one.store), await allEvents(many.store)];
      expect(b).toHaveLength(120);
      expect(b).toStrictEqual(a);
      expect(written).toStrictEqual(b);
      expect(seen).toStrictEqual(b.map((e) => e.seq));
      // One checkpoint, over the last event, after every hook ran.
      expect(checkpointed).toStrictEqual([120, 120]);
      expect((await allCheckpoints(many.store)).map((c) => c.seq)).toStrictEqual([120]);
      expect(await verifyStoredChain(many.store, keys.publicKeyPem)).toMatchObject({ ok: true, events: 120, headSeq: 120 });

      // A later batch extends the chain from its head, as append does.
      clock.set(t0 + 5_000);
      await many.store.transaction((tx) => batched.appendMany(tx, [entry(200), entry(201)]));
      await one.store.transaction(async (tx) => {
        await single.append(tx, entry(200));
        await single.append(tx, entry(201));
      });
      expect(await allEvents(many.store)).toStrictEqual(await allEvents(one.store));
      expect(await many.store.transaction((tx) => batched.appendMany(tx, []))).toStrictEqual([]);
    });
  });

  it('keeps the canonical JSON of the details in the details column', async () => {
    await withStores(async (open) => {
      const { store, file } = await open();
      const audit = createAuditLog({ clock: clockAt(t0), ...keys });
      await store.transaction((tx) => audit.appendMany(tx, [entry(1), entry(2)]));
      const db = new Database(file, { readonly: true });
      try {
        const rows = db.prepare('select details from audit_events order by seq').all() as { details: string }[];
        expect(rows.map((r) => r.details)).toStrictEqual([canonicalJson(entry(1).details), canonicalJson(entry(2).details)]);
      } finally {
        db.close();
      }
    });
  });

  it('I2 fail closed: a batch that does not extend the head writes nothing and says audit_failed', async () => {
    await withStores(async (open) => {
      const { store } = await open();
      const audit = createAuditLog({ clock: clockAt(t0), ...keys });
      await store.transaction((tx) => audit.appendMany(tx, [entry(1)]));
      const before = await allEvents(store);
      // Another appender moved the head between this batch's lock and its insert.
      const raced = store.transaction(async (tx) => {
        const head = await tx.audit.lockHead();
        await tx.audit.insert({ ...before[0]!, seq: 2, prevHash: head.hash, hash: 'f'.repeat(64) });
        return tx.audit.insertMany([{ ...before[0]!, seq: 2, prevHash: head.hash, hash: 'e'.repeat(64), detailsJson: '{}' }]);
      });
      await expect(raced).rejects.toMatchObject({ code: 'audit_failed' });
      const unlinked = store.transaction(async (tx) => {
        const head = await tx.audit.lockHead();
        const first: AuditEventRecord = { ...before[0]!, seq: 2, prevHash: head.hash, hash: 'a'.repeat(64) };
        return tx.audit.insertMany([{ ...first, detailsJson: '{}' }, { ...first, seq: 3, prevHash: 'b'.repeat(64), detailsJson: '{}' }]);
      });
      await expect(unlinked).rejects.toBeInstanceOf(AppError);
      expect(await allEvents(store)).toStrictEqual(before);
    });
  });
});

describe('verifyStoredChain over the stored text', () => {
  async function chainOf(open: () => Promise<{ store: Store; file: string }>, count: number) {
    const { store, file } = await open();
    const clock = clockAt(t0);
    const audit = createAuditLog({ clock, ...keys });
    for (let from = 0; from < count; from += 50) {
      clock.set(t0 + from * 100);
      await store.transaction((tx) => audit.appendMany(tx, Array.from({ length: Math.min(50, count - from) }, (_, k) => entry(from + k))));
    }
    await store.transaction((tx) => audit.checkpoint(tx));
    return { store, file };
  }
  const sql = (file: string, statement: string) => {
    const db = new Database(file);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
  };

  it('verifies a chain longer than one page, and one written by the old single-row insert (another spelling)', async () => {
    await withStores(async (open) => {
      const { store, file } = await chainOf(open, 4_500);
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: true, events: 4_500 });
      // Rows written before issue 13 hold JSON.stringify in insertion order: same value, other bytes.
      const spelled = JSON.stringify({ zeta: 7, alpha: 'é "quoted"', nested: { b: [1, 2], a: null } });
      sql(file, `update audit_events set details = '${spelled}' where seq = 8`);
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: true, events: 4_500 });
    });
  });

  it('tamper: a changed, a removed and a reordered row, and a bad checkpoint signature, are named', async () => {
    await withStores(async (open) => {
      const { store, file } = await chainOf(open, 300);
      sql(file, `update audit_events set details = replace(details, '"zeta":150', '"zeta":151') where seq = 151`);
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: false, firstBadSeq: 151, reason: 'hash mismatch, event modified' });
      sql(file, `update audit_events set details = replace(details, '"zeta":151', '"zeta":150') where seq = 151`);
      sql(file, 'update audit_events set details = \'{"zeta":\' where seq = 152');
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: false, firstBadSeq: 152, reason: 'malformed event (details cannot be canonicalized)' });
      sql(file, 'delete from audit_events where seq = 152');
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: false, firstBadSeq: 152, reason: 'missing event' });
    });
    await withStores(async (open) => {
      const { store, file } = await chainOf(open, 300);
      // Swap two rows' contents (seq stays in order): the links break at the first of them.
      sql(file, `update audit_events set seq = -1 where seq = 20; update audit_events set seq = 20 where seq = 21; update audit_events set seq = 21 where seq = -1`);
      const swapped = await verifyStoredChain(store, keys.publicKeyPem);
      expect(swapped).toMatchObject({ ok: false, firstBadSeq: 20 });
      sql(file, `update audit_events set seq = -1 where seq = 20; update audit_events set seq = 20 where seq = 21; update audit_events set seq = 21 where seq = -1`);
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: true });
      sql(file, `update audit_checkpoints set signature = '${Buffer.alloc(64, 1).toString('base64')}' where seq = (select max(seq) from audit_checkpoints)`);
      const last = (await allCheckpoints(store)).at(-1)!.seq;
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: false, firstBadSeq: last, reason: 'bad checkpoint signature' });
    });
  });
});
