/**
 * Benches 3-4 of the audit chain alone, small and quick, for working on the chain:
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/audit-quick.js [events] [batch] [postgres]
 * Prints the batched append against a raw batched insert (SQLite), and verification from the
 * store and from rows in memory against raw SHA-256 of the same canonical bytes; with
 * `postgres`, the same verification figures on a throw-away database of the PostgreSQL at
 * 127.0.0.1:5432 (the chain appended in batches of `batch`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../src/crypto/index.js';
import { createAuditLog } from '../src/modules/audit/audit-log.js';
import { systemClock } from '../src/ports/index.js';
import pg from 'pg';
import { createPostgresStore, createSqliteStore } from '../src/store/create-store.js';
import { appendBatchedInterleaved, benchEntry, sqlitePlainBatchInsert } from './audit-append.js';
import { interleavedVerify } from './audit-verify.js';
import { deadlineIn, summarize } from './lib/stats.js';

const events = Number(process.argv[2] ?? 5_000);
const batch = Number(process.argv[3] ?? 100);
const withPostgres = process.argv[4] === 'postgres';
const dir = mkdtempSync(join(tmpdir(), 'bg-audit-quick-'));
const plain = sqlitePlainBatchInsert(join(dir, 'plain.db'));
const store = await createSqliteStore(join(dir, 'breakglass.db'));
try {
  const keys = generateSigningKeyPair();
  const audit = createAuditLog({ clock: systemClock, ...keys });
  const run = await appendBatchedInterleaved({
    store, audit, baseline: plain.insert, count: events, batch, deadline: deadlineIn(60_000), progress: () => undefined, label: 'append',
  });
  await store.transaction((tx) => audit.checkpoint(tx));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const product = summarize(run.appendMs);
  const baseline = summarize(run.baselineMs);
  console.log(`append, batches of ${batch} (sqlite): p50 ${product.p50.toFixed(2)} ms/batch vs raw ${baseline.p50.toFixed(2)} ms/batch; ` +
    `rate ratio ${(sum(run.baselineMs) / sum(run.appendMs) * 100).toFixed(1)} % (p50 ${(baseline.p50 / product.p50 * 100).toFixed(1)} %)`);
  await interleavedVerify(store, keys.publicKeyPem, events, 15);
} finally {
  await store.close();
  plain.close();
  rmSync(dir, { recursive: true, force: true });
}

if (withPostgres) {
  const name = `bg_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const store = await createPostgresStore(`postgres://postgres@127.0.0.1:5432/${name}`);
    try {
      const keys = generateSigningKeyPair();
      const audit = createAuditLog({ clock: systemClock, ...keys });
      for (let from = 0; from < events; from += batch) {
        const entries = Array.from({ length: Math.min(batch, events - from) }, (_, k) => benchEntry(from + k));
        await store.transaction((tx) => audit.appendMany(tx, entries));
      }
      await store.transaction((tx) => audit.checkpoint(tx));
      await interleavedVerify(store, keys.publicKeyPem, events, 15);
    } finally {
      await store.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
