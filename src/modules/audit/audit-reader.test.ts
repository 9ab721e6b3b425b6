// issue 13 (verify): the stored chain read in prefetched pages through Store.read, on real stores.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { probeTcp, requireService } from '../../../test/support/integration.js';
import { generateSigningKeyPair } from '../../crypto/index.js';
import type { Clock, Store } from '../../ports/index.js';
import { createPostgresStore, createSqliteStore } from '../../store/create-store.js';
import { createAuditLog } from './audit-log.js';
import { readAuditOffline } from '../../store/read-audit-offline.js';
import { isoInstants, storedChainPages, verifyStoredChain, verifyStoredEvents, verifyStoredPages } from './audit-reader.js';

const keys = generateSigningKeyPair();
const t0 = Date.UTC(2030, 0, 1, 23, 59, 30);
const events = 1_234;
const pageRows = 100;

describe('isoInstants', () => {
  it('is Date#toISOString for every instant: day edges, before 1970, beyond year 9999, back and forth', () => {
    const iso = isoInstants();
    const day = 86_400_000;
    const instants = [
      0, 1, day - 1, day, day + 1, -1, -day, -day - 1, 59_999, 3_599_999, 43_200_000,
      Date.UTC(10_000, 0, 1) - 1, Date.UTC(10_000, 0, 1), Date.UTC(275_760, 8, 13), Date.UTC(-1, 11, 31, 23, 59, 59, 999), -8.64e15,
      t0, t0 + 29_999, t0 + 30_000, t0 - day, t0 + 123, t0 + day * 400 + 7,
    ];
    for (let ms = t0 - 5_000; ms < t0 + 90_000; ms += 997) instants.push(ms);
    for (const ms of [...instants, ...instants.reverse()]) expect(iso(new Date(ms))).toBe(new Date(ms).toISOString());
    expect(() => iso(new Date(Number.NaN))).toThrow(RangeError);
  });
});

interface Dialect {
  readonly name: Store['dialect'];
  readonly skip: boolean;
  open(): Promise<Store>;
  /** Runs SQL on the store's database behind its back, as someone with write access could. */
  sql(statement: string): Promise<void>;
  teardown(): Promise<void>;
}

function sqliteDialect(): Dialect & { file(): string } {
  let dir = '';
  let file = '';
  return {
    name: 'sqlite',
    file: () => file,
    skip: false,
    async open() {
      dir = dir || (await mkdtemp(join(tmpdir(), 'bg-audit-reader-test-')));
      file = join(dir, `${randomBytes(4).toString('hex')}.db`);
      return createSqliteStore(file);
    },
    sql: (statement) => {
      const db = new Database(file);
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
    teardown: () => (dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve()),
  };
}

function postgresDialect(skip: boolean): Dialect {
  const server = 'postgres://postgres@127.0.0.1:5432';
  let databases: string[] = [];
  const run = async (url: string, statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'postgres',
    skip,
    async open() {
      const name = `bg_audit_reader_${randomBytes(5).toString('hex')}`;
      await run(`${server}/postgres`, `create database ${name}`);
      databases = [...databases, name];
      return createPostgresStore(`${server}/${name}`, { poolSize: 4 });
    },
    sql: (statement) => run(`${server}/${databases.at(-1)!}`, statement),
    async teardown() {
      for (const name of databases) await run(`${server}/postgres`, `drop database if exists ${name} with (force)`);
    },
  };
}

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

/** A chain of `events` events, one checkpoint per batch of 50 (the fake clock moves 1 s a batch). */
async function chainIn(store: Store): Promise<void> {
  let now = t0;
  const clock: Clock = { now: () => new Date(now) };
  const audit = createAuditLog({ clock, ...keys });
  for (let from = 0; from < events; from += 50) {
    now = t0 + from * 20;
    const batch = Array.from({ length: Math.min(50, events - from) }, (_, k) => ({
      actor: 'alice',
      action: 'grant.requested' as const,
      subject: `gr_${from + k}`,
      details: { n: from + k, reason: 'é "quoted" \\ \u2028' },
    }));
    await store.transaction((tx) => audit.appendMany(tx, batch));
  }
  await store.transaction((tx) => audit.checkpoint(tx));
}

const inPages = async (store: Store) =>
  verifyStoredPages(storedChainPages(store, pageRows), await store.read((tx) => tx.audit.checkpoints()), keys.publicKeyPem);

describe.each([sqliteDialect(), postgresDialect(postgres.skip)])('stored chain pages on $name', (dialect) => {
  afterAll(() => dialect.teardown());

  it.skipIf(dialect.skip)('I2: an intact chain verifies in prefetched pages of 100 and in the default pages, with the same head', async () => {
    const store = await dialect.open();
    try {
      await chainIn(store);
      const paged = await inPages(store);
      expect(paged).toMatchObject({ ok: true, events, headSeq: events });
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toStrictEqual(paged);
      const pages: number[] = [];
      for await (const page of storedChainPages(store, pageRows)) pages.push(page.length);
      expect(pages).toStrictEqual([...Array<number>(12).fill(100), 34]);
    } finally {
      await store.close();
    }
  });

  it.skipIf(dialect.skip)('I2 tamper: text, another field, a hash and a checkpoint signature are named, with a page in flight', async () => {
    const store = await dialect.open();
    try {
      await chainIn(store);
      const original = (await store.read((tx) => tx.audit.storedEvents(300, 1)))[0]!.hash;
      const signed = (await store.read((tx) => tx.audit.checkpoints())).find((checkpoint) => checkpoint.seq > 200)!;
      const cases: [tamper: string, restore: string, seq: number, reason: string][] = [
        [`update audit_events set details = replace(details, '"n":150', '"n":151') where seq = 151`, `update audit_events set details = replace(details, '"n":151', '"n":150') where seq = 151`, 151, 'hash mismatch, event modified'],
        [`update audit_events set actor = 'mallory' where seq = 200`, `update audit_events set actor = 'alice' where seq = 200`, 200, 'hash mismatch, event modified'],
        [`update audit_events set hash = '${'f'.repeat(64)}' where seq = 301`, `update audit_events set hash = '${original}' where seq = 301`, 301, 'hash mismatch, event modified'],
        [`update audit_checkpoints set signature = '${Buffer.alloc(64, 7).toString('base64')}' where seq = ${signed.seq}`, '', signed.seq, 'bad checkpoint signature'],
      ];
      for (const [tamper, restore, seq, reason] of cases) {
        await dialect.sql(tamper);
        expect(await inPages(store)).toMatchObject({ ok: false, firstBadSeq: seq, reason });
        expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: false, firstBadSeq: seq, reason });
        if (restore) await dialect.sql(restore);
      }
    } finally {
      await store.close();
    }
  });

  it.skipIf(dialect.skip)('I2 tamper: a seq gap on the first row of a page, and a replaced row at the end of a page', async () => {
    const store = await dialect.open();
    try {
      await chainIn(store);
      await dialect.sql('delete from audit_events where seq = 401');
      expect(await inPages(store)).toMatchObject({ ok: false, firstBadSeq: 401, reason: 'missing event' });
      await dialect.sql(`update audit_events set prev_hash = '${'0'.repeat(64)}' where seq = 300`);
      expect(await inPages(store)).toMatchObject({ ok: false, firstBadSeq: 300, reason: 'broken link' });
    } finally {
      await store.close();
    }
  });
});

describe('verifyStoredChain and the SQLite writer', () => {
  it('reads without the write lock: it completes while a write transaction is held open', async () => {
    const dialect = sqliteDialect();
    const store = await dialect.open();
    try {
      await chainIn(store);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let writerDone = false;
      const writer = store.transaction(() => held).then(() => void (writerDone = true));
      // Before issue 13 (verify) each page was a write transaction: it queued behind this one forever.
      expect(await verifyStoredChain(store, keys.publicKeyPem)).toMatchObject({ ok: true, events });
      expect(writerDone).toBe(false);
      release();
      await writer;
    } finally {
      await store.close();
      await dialect.teardown();
    }
  }, 15_000);
});

describe('verifyStoredEvents over a stopped server\'s file (readAuditOffline storedPages)', () => {
  it('I2: verifies the chain read as raw rows, and names a changed row and a gap', async () => {
    const dialect = sqliteDialect();
    const store = await dialect.open();
    try {
      await chainIn(store);
    } finally {
      await store.close();
    }
    const verify = async () => {
      const offline = await readAuditOffline(dialect.file());
      return verifyStoredEvents(offline.storedPages, offline.checkpoints, keys.publicKeyPem);
    };
    try {
      expect(await verify()).toMatchObject({ ok: true, events, headSeq: events });
      await dialect.sql(`update audit_events set subject = 'gr_x' where seq = 777`);
      expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 777, reason: 'hash mismatch, event modified' });
      await dialect.sql(`update audit_events set subject = 'gr_776' where seq = 777; delete from audit_events where seq = 1001`);
      expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 1001, reason: 'missing event' });
    } finally {
      await dialect.teardown();
    }
  });
});
