/**
 * Benches 3 and 4 on each store: the embedded SQLite store in a temp directory, and a
 * throw-away database `bg_bench_<random>` on the PostgreSQL at 127.0.0.1:5432 when it answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateSigningKeyPair } from '../src/crypto/index.js';
import { createAuditLog } from '../src/modules/audit/audit-log.js';
import { systemClock, type Store } from '../src/ports/index.js';
import { createPostgresStore, createSqliteStore } from '../src/store/create-store.js';
import { probeTcp } from '../test/support/integration.js';
import { appendInterleaved, postgresPlainInsert, sqlitePlainInsert, type AppendRun, type BaselineInsert } from './audit-append.js';
import { verifyInterleaved, type VerifyFigures } from './audit-verify.js';
import { peakRssMb } from './lib/memory.js';
import type { Figure, Skipped } from './lib/report.js';
import { summarize, type Deadline } from './lib/stats.js';

export interface AuditBenchOptions {
  readonly events: number;
  /** Appends per block before switching between product and baseline. */
  readonly block: number;
  readonly verifyRuns: number;
  /** Time budget of each store's append phase. */
  readonly appendDeadline: (store: 'sqlite' | 'postgres') => Deadline;
  readonly progress: (message: string) => void;
}

interface StoreRun {
  readonly append: AppendRun;
  readonly stored: VerifyFigures;
  readonly inMemory?: VerifyFigures;
  /** Parsed rows in memory (the `audit verify --file` path): an extra row, no goal. */
  readonly parsedInMemory?: VerifyFigures;
  /** The baseline, interleaved with this store's verification runs. */
  readonly sha: VerifyFigures;
  readonly checkpoints: number;
}

const appendSection = '3 audit append';
const verifySection = '4 audit verify';

async function benchStore(store: Store, baseline: BaselineInsert, options: AuditBenchOptions, withRows: boolean): Promise<StoreRun> {
  const keys = generateSigningKeyPair();
  const audit = createAuditLog({ clock: systemClock, ...keys });
  const append = await appendInterleaved({
    store,
    audit,
    baseline,
    count: options.events,
    block: options.block,
    deadline: options.appendDeadline(store.dialect),
    progress: options.progress,
    label: `append (${store.dialect})`,
  });
  // The last events may be younger than a second: sign the head, as the server's timer would.
  await store.transaction((tx) => audit.checkpoint(tx));
  const checkpoints = (await store.transaction((tx) => tx.audit.checkpoints())).length;
  const events = append.appendMs.length;
  options.progress(`verify (${store.dialect}): ${events} events, ${checkpoints} checkpoints, ${options.verifyRuns} runs`);
  const verify = await verifyInterleaved(store, keys.publicKeyPem, events, options.verifyRuns, withRows);
  return { append, ...verify, checkpoints };
}

const rateOf = (samples: readonly number[]) => (samples.length / samples.reduce((sum, ms) => sum + ms, 0)) * 1000;

function appendFigures(dialect: 'sqlite' | 'postgres', run: StoreRun): Figure[] {
  const baseId = dialect === 'sqlite' ? 'sqlite.plain-insert' : 'pg.plain-insert';
  const baseLabel = dialect === 'sqlite' ? 'better-sqlite3 INSERT, 1 row/tx (WAL, sync=FULL)' : 'pg INSERT, 1 row/tx (autocommit)';
  return [
    {
      id: `audit.append.${dialect}`,
      section: appendSection,
      role: 'product',
      label: `audit append, 1 event/tx (${dialect} store)`,
      latency: summarize(run.append.appendMs),
      ratePerS: rateOf(run.append.appendMs),
      memory: { peakHeapGrowthMb: run.append.appendPeakHeapGrowthMb, liveHeapGrowthMb: run.append.appendRetainedMb, peakRssMb: peakRssMb() },
      baseline: baseId,
      extra: { checkpoints: run.checkpoints },
    },
    { id: baseId, section: appendSection, role: 'baseline', label: baseLabel, latency: summarize(run.append.baselineMs), ratePerS: rateOf(run.append.baselineMs) },
  ];
}

function verifyFigure(id: string, label: string, role: Figure['role'], figures: VerifyFigures, events: number, baseline?: string): Figure {
  return {
    id,
    section: verifySection,
    role,
    label: `${label} (${events} events/run)`,
    latency: figures.runs,
    ratePerS: figures.ratePerS,
    memory: {
      ...(figures.peakHeapGrowthMb === undefined ? {} : { peakHeapGrowthMb: figures.peakHeapGrowthMb }),
      ...(figures.liveHeapGrowthMb === undefined ? {} : { liveHeapGrowthMb: figures.liveHeapGrowthMb }),
      ...(role === 'product' ? { peakRssMb: peakRssMb() } : {}),
    },
    ...(baseline === undefined ? {} : { baseline }),
  };
}

async function sqliteRun(options: AuditBenchOptions): Promise<StoreRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-audit-'));
  const plain = sqlitePlainInsert(join(dir, 'plain.db'));
  const store = await createSqliteStore(join(dir, 'breakglass.db'));
  try {
    return await benchStore(store, plain.insert, options, true);
  } finally {
    await store.close();
    plain.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRun(options: AuditBenchOptions): Promise<StoreRun> {
  const name = `bg_bench_${randomBytes(5).toString('hex')}`;
  const server = { host: '127.0.0.1', port: 5432, user: 'postgres' };
  const admin = new pg.Client({ ...server, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const client = new pg.Client({ ...server, database: name });
    await client.connect();
    const store = await createPostgresStore(`postgres://postgres@127.0.0.1:5432/${name}`);
    try {
      return await benchStore(store, await postgresPlainInsert(client), options, false);
    } finally {
      await store.close();
      await client.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** Runs benches 3 and 4; PostgreSQL is skipped, with the reason, when 5432 does not answer. */
export async function auditBench(options: AuditBenchOptions): Promise<{ figures: Figure[]; skipped: Skipped[] }> {
  const sqlite = await sqliteRun(options);
  const events = sqlite.append.appendMs.length;
  const append = appendFigures('sqlite', sqlite);
  const verify = [
    verifyFigure('audit.verify.sqlite', 'verifyStoredChain, SQLite store', 'product', sqlite.stored, events, 'sha256.canonical'),
    verifyFigure('audit.verify.rows', 'verifyStoredPages, stored rows in memory', 'product', sqlite.inMemory!, events, 'sha256.canonical'),
    verifyFigure('audit.verify.parsed-rows', 'verifyChain, parsed rows in memory (audit verify --file)', 'product', sqlite.parsedInMemory!, events, 'sha256.canonical'),
  ];
  const skipped: Skipped[] = [];
  if (await probeTcp('127.0.0.1', 5432)) {
    const postgres = await postgresRun(options);
    append.push(...appendFigures('postgres', postgres));
    const pgEvents = postgres.append.appendMs.length;
    verify.push(verifyFigure('audit.verify.postgres', 'verifyStoredChain, PostgreSQL store', 'product', postgres.stored, pgEvents, 'sha256.canonical.postgres-run'));
    // The goals table divides by sha256.canonical (the SQLite run's); this one ran between the PostgreSQL runs.
    verify.push(verifyFigure('sha256.canonical.postgres-run', 'SHA-256 of canonical JSON strings, between the PostgreSQL runs', 'baseline', postgres.sha, pgEvents));
  } else {
    skipped.push({ section: `${appendSection} / ${verifySection}`, reason: 'PostgreSQL on 127.0.0.1:5432 is not reachable: PostgreSQL store not measured' });
  }
  verify.push(verifyFigure('sha256.canonical', 'SHA-256 of canonical JSON strings, between the SQLite runs', 'baseline', sqlite.sha, events));
  return { figures: [...append, ...verify], skipped };
}
