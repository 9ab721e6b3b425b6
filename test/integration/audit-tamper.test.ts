/**
 * I2: the audit chain of a real (stopped) embedded store is verified with
 * `verifyDataDir`, and each of the four kinds of tampering names the first bad seq.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../../src/app/init.js';
import { verifyDataDir } from '../../src/app/offline-verify.js';
import { startServer } from '../../src/app/server.js';
import { generateSigningKeyPair, hashEvent, signCheckpoint } from '../../src/crypto/index.js';
import { enrol } from '../support/harness.js';

let pristine: string;

/** A copy of the pristine data dir, with `tamper` applied to its database. */
function tampered(tamper: (db: Database.Database) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tamper-'));
  copyFileSync(join(pristine, 'root.key'), join(dir, 'root.key'));
  copyFileSync(join(pristine, 'breakglass.db'), join(dir, 'breakglass.db'));
  const db = new Database(join(dir, 'breakglass.db'));
  try {
    tamper(db);
  } finally {
    db.close();
  }
  return dir;
}

type Row = { seq: number; at: number; actor: string; action: string; subject: string; details: string; prev_hash: string; hash: string };

beforeAll(async () => {
  pristine = mkdtempSync(join(tmpdir(), 'bg-chain-'));
  const { adminToken } = await initDataDir({ dataDir: pristine });
  const server = await startServer({ dataDir: pristine, port: 0, host: '127.0.0.1', logger: false });
  const users = [{ name: 'alice', roles: ['responder'] }, { name: 'bob', roles: ['incident-owner'] }];
  for (let i = 0; i < 3; i++) {
    await fetch(`${server.url}/v1/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ targets: [], policies: [], accounts: [], users }),
    });
    for (const user of ['alice', 'bob']) await enrol(server.url, adminToken, user);
  }
  await server.close(); // WAL is checkpointed into the main file on close
});

describe('audit chain of the embedded store', () => {
  it('an intact chain verifies', async () => {
    const result = await verifyDataDir(pristine);
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.events).toBeGreaterThanOrEqual(10);
  });

  it('tamper: a modified row is named by its seq', async () => {
    const dir = tampered((db) => db.prepare(`update audit_events set details = '{"user":"mallory"}' where seq = 5`).run());
    expect(await verifyDataDir(dir)).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('tamper: a deleted row is named by its seq', async () => {
    const dir = tampered((db) => db.prepare('delete from audit_events where seq = 5').run());
    expect(await verifyDataDir(dir)).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('tamper: an inserted row (with a correctly computed hash) breaks the chain right after it', async () => {
    // Inserted where no signed checkpoint sits, so it is the hash link, not a checkpoint, that names it.
    let at = 0;
    const dir = tampered((db) => {
      const signed = new Set((db.prepare('select seq from audit_checkpoints').all() as { seq: number }[]).map((cp) => cp.seq));
      at = [5, 6, 7, 8, 9].find((seq) => !signed.has(seq) && !signed.has(seq - 1))!;
      const prev = db.prepare('select * from audit_events where seq = ?').get(at - 1) as Row;
      db.prepare('update audit_events set seq = seq + 1000 where seq >= ?').run(at);
      db.prepare('update audit_events set seq = seq - 999 where seq >= ?').run(at + 1000);
      const event = { seq: at, at: new Date(prev.at).toISOString(), actor: 'admin', action: 'token.created', subject: 'mallory', details: {} };
      db.prepare('insert into audit_events (seq, at, actor, action, subject, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?)').run(
        at, prev.at, event.actor, event.action, event.subject, '{}', prev.hash, hashEvent(prev.hash, event),
      );
    });
    expect(await verifyDataDir(dir)).toMatchObject({ ok: false, firstBadSeq: at + 1 });
  });

  it('tamper: reordered rows are named by the first moved seq', async () => {
    const dir = tampered((db) => {
      const a = db.prepare('select * from audit_events where seq = 5').get() as Row;
      const b = db.prepare('select * from audit_events where seq = 6').get() as Row;
      const put = db.prepare('update audit_events set at = ?, actor = ?, action = ?, subject = ?, details = ?, prev_hash = ?, hash = ? where seq = ?');
      put.run(b.at, b.actor, b.action, b.subject, b.details, b.prev_hash, b.hash, 5);
      put.run(a.at, a.actor, a.action, a.subject, a.details, a.prev_hash, a.hash, 6);
    });
    expect(await verifyDataDir(dir)).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('tamper: a deleted tail is detected', async () => {
    const dir = tampered((db) => {
      const { m } = db.prepare('select max(seq) as m from audit_events').get() as { m: number };
      db.prepare('delete from audit_events where seq >= ?').run(m - 1);
    });
    const result = await verifyDataDir(dir);
    expect(result.ok).toBe(false);
  });
});

describe('a chain rewritten and re-signed with another key', () => {
  /** Edits one event, recomputes every hash after it, re-signs every checkpoint with a new key
   *  and swaps the stored public key: everything an attacker with the database but not the
   *  root key can do. */
  function resign(db: Database.Database): void {
    const keys = generateSigningKeyPair();
    const rows = db.prepare('select * from audit_events order by seq').all() as Row[];
    let prev = '0'.repeat(64);
    const hashes = new Map<number, string>();
    for (const row of rows) {
      const details = row.seq === 5 ? { user: 'mallory' } : (JSON.parse(row.details) as Record<string, unknown>);
      const event = { seq: row.seq, at: new Date(row.at).toISOString(), actor: row.actor, action: row.action, subject: row.subject, details };
      const hash = hashEvent(prev, event);
      db.prepare('update audit_events set details = ?, prev_hash = ?, hash = ? where seq = ?').run(JSON.stringify(details), prev, hash, row.seq);
      hashes.set(row.seq, hash);
      prev = hash;
    }
    db.prepare('update audit_head set hash = ?').run(prev);
    for (const cp of db.prepare('select seq, at from audit_checkpoints').all() as { seq: number; at: number }[]) {
      const signed = signCheckpoint(keys.privateKeyPem, { seq: cp.seq, hash: hashes.get(cp.seq)!, at: new Date(cp.at).toISOString() });
      db.prepare('update audit_checkpoints set hash = ?, signature = ? where seq = ?').run(signed.hash, signed.signature, cp.seq);
    }
    db.prepare(`update settings set value = ? where key = 'audit.public-key'`).run(keys.publicKeyPem);
  }

  it('tamper: verify --data-dir refuses a chain re-signed with a key that is not ours', async () => {
    const dir = tampered(resign);
    const result = await verifyDataDir(dir);
    expect(result).toMatchObject({ ok: false });
    expect(result.ok === false && result.reason).toMatch(/does not match the sealed signing key/);
  });

  it('tamper: the server refuses to start on a re-signed chain', async () => {
    const dir = tampered(resign);
    await expect(startServer({ dataDir: dir, port: 0, host: '127.0.0.1', logger: false })).rejects.toThrow(/does not match the sealed signing key/);
  });
});
