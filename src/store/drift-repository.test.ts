/**
 * The drift findings table on both dialects: one open finding per (account, kind, subject)
 * whichever instance scans first (a partial unique index), resolution as a compare-and-set.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTcp, requireService } from '../../test/support/integration.js';
import type { DriftFinding, Store } from '../ports/index.js';
import { createPostgresStore, createSqliteStore } from './create-store.js';

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

/** A fresh database on the shared server (trust auth), dropped after. */
async function freshPostgres(): Promise<{ store: Store; drop: () => Promise<void> }> {
  const name = `bg_drift_test_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  return { store: await createPostgresStore(`postgres://postgres@127.0.0.1:5432/${name}`, { poolSize: 2 }), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
const finding = (id: string, seen = at(0)): DriftFinding => ({
  id,
  account: 'db-breakglass',
  kind: 'enabled-outside-case',
  subject: 'bg_admin',
  detail: 'bg_admin can log in',
  firstSeen: seen,
  lastSeen: seen,
  resolvedAt: undefined,
  ackedBy: undefined,
  ackedReason: undefined,
});

const dialects: { name: string; skip: boolean; open: () => Promise<{ store: Store; drop: () => Promise<void> }> }[] = [
  { name: 'sqlite', skip: false, open: async () => ({ store: await createSqliteStore(':memory:'), drop: () => Promise.resolve() }) },
  { name: 'postgres', skip: postgres.skip, open: freshPostgres },
];

describe.each(dialects)('drift findings on $name', ({ skip, open }) => {
  let store: Store;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    if (skip) return;
    ({ store, drop } = await open());
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it.skipIf(skip)('one open finding per account, kind and subject; a resolved one makes room for the next; resolve is a compare-and-set', async () => {
    expect(await store.transaction((tx) => tx.drift.insert(finding('drf_00000001')))).toBe(true);
    expect(await store.transaction((tx) => tx.drift.insert(finding('drf_00000002')))).toBe(false);
    await store.transaction((tx) => tx.drift.seen('drf_00000001', at(5), 'still'));
    expect(await store.transaction((tx) => tx.drift.find('drf_00000001'))).toMatchObject({ lastSeen: at(5), detail: 'still', resolvedAt: undefined });

    expect(await store.transaction((tx) => tx.drift.resolve('drf_00000001', at(9)))).toBe(true);
    expect(await store.transaction((tx) => tx.drift.resolve('drf_00000001', at(10)))).toBe(false);
    expect(await store.transaction((tx) => tx.drift.insert(finding('drf_00000003', at(20))))).toBe(true);

    await store.transaction((tx) => tx.drift.acknowledge('drf_00000003', 'admin', 'known'));
    expect((await store.transaction((tx) => tx.drift.listOpen())).map((f) => [f.id, f.ackedBy])).toEqual([['drf_00000003', 'admin']]);
    expect((await store.transaction((tx) => tx.drift.list(10))).map((f) => f.id)).toEqual(['drf_00000003', 'drf_00000001']);
    expect((await store.transaction((tx) => tx.drift.list(10)))[1]?.resolvedAt).toEqual(at(9));
  });
});
