import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventRecord, StoredAuditEvent } from '../ports/index.js';
import { createSqliteStore } from './create-store.js';
import { readAuditOffline } from './read-audit-offline.js';

const t0 = Date.UTC(2030, 0, 1);
const hash = (n: number) => n.toString(16).padStart(64, '0');
const event = (seq: number): AuditEventRecord => ({
  seq,
  at: new Date(t0 + seq),
  actor: 'system',
  action: 'grant.expired',
  subject: `grt_${seq}`,
  details: { seq },
  prevHash: hash(seq - 1),
  hash: hash(seq),
});

// issue 13 (verify)
const stored = (seq: number): Omit<StoredAuditEvent, 'detailsJson'> => {
  const { seq: s, at, actor, action, subject, prevHash, hash: h } = event(seq);
  return { seq: s, at, actor, action, subject, prevHash, hash: h };
};

describe('readAuditOffline', () => {
  let dir = '';
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'bg-offline-test-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads a stopped server's chain, checkpoints, head and settings read-only", async () => {
    const file = join(dir, 'breakglass.db');
    const store = await createSqliteStore(file);
    await store.transaction(async (tx) => {
      for (const seq of [1, 2, 3]) await tx.audit.insert(event(seq));
      await tx.audit.insertCheckpoint({ seq: 2, hash: hash(2), at: new Date(t0 + 2), signature: 'sig' });
      await tx.settings.set('audit.publicKey', 'PEM');
    });
    await store.close();

    const audit = await readAuditOffline(file);
    const events: AuditEventRecord[] = [];
    for await (const e of audit.events) events.push(e);
    expect(events).toStrictEqual([event(1), event(2), event(3)]);
    expect(audit.checkpoints).toStrictEqual([{ seq: 2, hash: hash(2), at: new Date(t0 + 2), signature: 'sig' }]);
    expect(audit.head).toStrictEqual({ seq: 3, hash: hash(3), checkpointAt: new Date(t0 + 2) });
    expect(audit.settings('audit.publicKey')).toBe('PEM');
    expect(audit.settings('missing')).toBeUndefined();
    // issue 13 (verify): the same rows as stored, details as the column's text, read as raw rows.
    const pages: StoredAuditEvent[][] = [];
    for await (const page of audit.storedPages) pages.push(page);
    expect(pages).toStrictEqual([[1, 2, 3].map((seq) => ({ ...stored(seq), detailsJson: JSON.stringify({ seq }) }))]);
  });

  // issue 13 (verify)
  it('reads the stored pages in keyset pages of 5,000, each row as the store reads it', async () => {
    const file = join(dir, 'pages.db');
    const store = await createSqliteStore(file);
    await store.transaction(async (tx) => {
      for (let seq = 1; seq <= 5_003; seq++) await tx.audit.insert(event(seq));
    });
    const expected = await store.read(async (tx) => [...(await tx.audit.storedEvents(0, 5_000)), ...(await tx.audit.storedEvents(5_000, 5_000))]);
    await store.close();
    const pages: StoredAuditEvent[][] = [];
    for await (const page of (await readAuditOffline(file)).storedPages) pages.push(page);
    expect(pages.map((page) => page.length)).toStrictEqual([5_000, 3]);
    expect(pages.flat()).toStrictEqual(expected);
  });

  it('refuses a missing file and a file that is not a Breakglass database', async () => {
    await expect(readAuditOffline(join(dir, 'nope.db'))).rejects.toMatchObject({ code: 'not_found' });
    const junk = join(dir, 'junk.db');
    await writeFile(junk, 'not a database at all, just text '.repeat(10));
    await expect(readAuditOffline(junk)).rejects.toMatchObject({ code: 'validation' });
  });

  it("opens ':memory:' stores for tests", async () => {
    const store = await createSqliteStore(':memory:');
    expect(await store.transaction((tx) => tx.audit.lockHead())).toMatchObject({ seq: 0 });
    await store.close();
  });
});
