/**
 * Bench 4: verifying the chain written by bench 3, streamed from the store page by page
 * (`verifyStoredChain`, what `audit verify` does), over the same pages already in memory
 * (`verifyStoredPages`, the product's hashing path without the reads) and over parsed rows in
 * memory (`verifyChain`, what `audit verify --file` does after parsing), against plain SHA-256
 * over the same number of canonical JSON strings.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import { canonicalJson, verifyChain, type ChainRow, type ChainVerification, type StoredChainRow } from '../src/crypto/index.js';
import { chainRows, storedChainPages, toChainCheckpoint, verifyStoredChain, verifyStoredPages } from '../src/modules/audit/audit-reader.js';
import type { Store, StoreTx } from '../src/ports/index.js';
// issue 13 (store reads)
import type { StoreReadTx } from '../src/ports/index.js';
import { collectGarbage, trackHeap, type HeapTracker } from './lib/memory.js';
import { summarize, type Summary } from './lib/stats.js';

export interface VerifyFigures {
  readonly runs: Summary;
  readonly ratePerS: number;
  /** Peak heapUsed growth during the timed runs, garbage included (an upper bound). */
  readonly peakHeapGrowthMb?: number;
  /** Live heap the verification needs: GC before each sample (stored), or the loaded chain (in memory). */
  readonly liveHeapGrowthMb?: number;
}

/** A store that samples the heap after each transaction: right after a page of rows is loaded. */
function sampling(store: Store, heap: HeapTracker, collect: boolean): Store {
  return {
    dialect: store.dialect,
    close: () => store.close(),
    async transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
      const result = await store.transaction(work);
      heap.sample(collect);
      return result;
    },
    // issue 13 (store reads): the port's read path, sampled alike.
    async read<T>(work: (tx: StoreReadTx) => Promise<T>): Promise<T> {
      const result = await store.read(work);
      heap.sample(collect);
      return result;
    },
  };
}

function check(result: ChainVerification, expected: number): void {
  if (!result.ok) throw new Error(`the bench chain does not verify: first bad seq ${result.firstBadSeq} (${result.reason})`);
  if (result.events !== expected) throw new Error(`verified ${result.events} events, expected ${expected}`);
}

function figures(durations: number[], events: number, memory: Pick<VerifyFigures, 'peakHeapGrowthMb' | 'liveHeapGrowthMb'> = {}): VerifyFigures {
  const runs = summarize(durations);
  return { runs, ratePerS: (events / runs.p50) * 1000, ...memory };
}

/**
 * What the in-memory figures verify: `stored`, the chain's pages as `verifyStoredChain` reads
 * them (details as their stored canonical text), through the product's `verifyStoredPages`;
 * `parsed`, rows with parsed details, through `verifyChain` (the `audit verify --file` path,
 * which canonicalises each event again).
 */
export type InMemoryRows = 'stored' | 'parsed';

/** Loads the chain into memory once (as `rows` says), and returns the verification to time. */
async function loadInMemory(store: Store, publicKeyPem: string, rows: InMemoryRows): Promise<{ verify: () => Promise<ChainVerification>; chainMb: number }> {
  const loading = trackHeap();
  const records = await store.transaction((tx) => tx.audit.checkpoints());
  if (rows === 'stored') {
    const pages: StoredChainRow[][] = [];
    for await (const page of storedChainPages(store)) pages.push(page);
    return { verify: () => verifyStoredPages(pages, records, publicKeyPem), chainMb: loading.retainedMb() };
  }
  const parsed: ChainRow[] = [];
  for await (const row of chainRows(store)) parsed.push(row);
  const checkpoints = records.map(toChainCheckpoint);
  return { verify: () => verifyChain(parsed, checkpoints, publicKeyPem), chainMb: loading.retainedMb() };
}

/** The canonical JSON of each event, as the baseline hashes it. */
async function canonicalTexts(store: Store, events: number): Promise<string[]> {
  const texts: string[] = [];
  for await (const { seq, at, actor, action, subject, details } of chainRows(store)) texts.push(canonicalJson({ seq, at, actor, action, subject, details }));
  if (texts.length !== events) throw new Error(`expected ${events} events, read ${texts.length}`);
  return texts;
}

export interface InterleavedFigures {
  /** `verifyStoredChain` from the store; heap sampled after every page. */
  readonly stored: VerifyFigures;
  /** `verifyStoredPages` over the stored pages in memory (`withRows` only). */
  readonly inMemory?: VerifyFigures;
  /** `verifyChain` over parsed rows in memory, the `audit verify --file` path (`withRows` only). */
  readonly parsedInMemory?: VerifyFigures;
  /** SHA-256 (`createHash`, hex) of the canonical JSON of each event, precomputed: the hashing alone. */
  readonly sha: VerifyFigures;
}

/**
 * Each run times, one after the other, the verification from the store, (with `withRows`) the
 * two in-memory verifications, and the SHA-256 baseline, after a full GC each: a neighbour's
 * burst on the shared machine falls on product and baseline alike. One untimed warm-up run;
 * then one more verification from the store, untimed, with a full GC before each heap sample,
 * for the live heap it needs.
 */
export async function verifyInterleaved(store: Store, publicKeyPem: string, events: number, runs: number, withRows: boolean): Promise<InterleavedFigures> {
  const texts = await canonicalTexts(store, events);
  const loaded = withRows ? { inMemory: await loadInMemory(store, publicKeyPem, 'stored'), parsedInMemory: await loadInMemory(store, publicKeyPem, 'parsed') } : {};
  const samples = { stored: [] as number[], inMemory: [] as number[], parsedInMemory: [] as number[], sha: [] as number[] };
  let peak = 0;
  let sink = 0;
  const timed = async (into: number[], run: number, work: () => Promise<void>) => {
    collectGarbage();
    const start = performance.now();
    await work();
    if (run >= 0) into.push(performance.now() - start); // run -1 is the warm-up
  };
  for (let run = -1; run < runs; run++) {
    const heap = trackHeap();
    await timed(samples.stored, run, async () => check(await verifyStoredChain(sampling(store, heap, false), publicKeyPem), events));
    if (run >= 0) peak = Math.max(peak, heap.peakGrowthMb());
    for (const key of ['inMemory', 'parsedInMemory'] as const) {
      const chain = loaded[key];
      if (chain !== undefined) await timed(samples[key], run, async () => check(await chain.verify(), events));
    }
    await timed(samples.sha, run, () => Promise.resolve(texts.forEach((text) => (sink += createHash('sha256').update(text, 'utf8').digest('hex').length))));
  }
  if (sink === 0) throw new Error('unreachable: nothing hashed');
  const live = trackHeap();
  check(await verifyStoredChain(sampling(store, live, true), publicKeyPem), events);
  return {
    stored: figures(samples.stored, events, { peakHeapGrowthMb: peak, liveHeapGrowthMb: live.peakGrowthMb() }),
    ...(loaded.inMemory === undefined ? {} : { inMemory: figures(samples.inMemory, events, { liveHeapGrowthMb: loaded.inMemory.chainMb }) }),
    ...(loaded.parsedInMemory === undefined ? {} : { parsedInMemory: figures(samples.parsedInMemory, events, { liveHeapGrowthMb: loaded.parsedInMemory.chainMb }) }),
    sha: figures(samples.sha, events),
  };
}

// issue 13 (audit): a one-shot hash baseline.

/** Like the baseline of {@link verifyInterleaved}, with Node's one-shot `crypto.hash` (the fastest SHA-256 Node offers). */
export async function sha256OneShotBaseline(store: Store, events: number, runs: number): Promise<VerifyFigures> {
  const texts: string[] = [];
  for await (const row of chainRows(store)) {
    const { seq, at, actor, action, subject, details } = row;
    texts.push(canonicalJson({ seq, at, actor, action, subject, details }));
  }
  if (texts.length !== events) throw new Error(`expected ${events} events, read ${texts.length}`);
  const durations: number[] = [];
  let sink = 0;
  for (let run = -1; run < runs; run++) {
    collectGarbage();
    const start = performance.now();
    for (const text of texts) sink += oneShotHash('sha256', text, 'hex').length;
    if (run >= 0) durations.push(performance.now() - start); // run -1 is the warm-up
  }
  if (sink === 0) throw new Error('unreachable: nothing hashed');
  return figures(durations, events);
}

/**
 * The verification figures on a loaded machine: each run times, back to back, verification from
 * the store, over stored rows in memory, over parsed rows in memory, and the two SHA-256
 * baselines over the same canonical bytes. Prints one line per figure with its ratios to the
 * baselines from the fastest run of each (the least disturbed by neighbours) and from the
 * medians; returns the fastest run of each, in ms.
 */
export async function interleavedVerify(store: Store, publicKeyPem: string, events: number, runs: number): Promise<Record<string, number>> {
  const stored = await loadInMemory(store, publicKeyPem, 'stored');
  const parsed = await loadInMemory(store, publicKeyPem, 'parsed');
  const texts: string[] = [];
  for await (const { seq, at, actor, action, subject, details } of chainRows(store)) texts.push(canonicalJson({ seq, at, actor, action, subject, details }));
  const checkpoints = (await store.transaction((tx) => tx.audit.checkpoints())).length;
  console.log(`${store.dialect} store: ${events} events, ${checkpoints} checkpoints, ${runs} interleaved runs`);
  let sink = 0;
  const work: Record<string, () => Promise<unknown>> = {
    [`verify from the ${store.dialect} store (verifyStoredChain)`]: async () => check(await verifyStoredChain(store, publicKeyPem), events),
    'verify in memory, stored rows (verifyStoredPages)': async () => check(await stored.verify(), events),
    'verify in memory, parsed rows (audit verify --file)': async () => check(await parsed.verify(), events),
    'baseline createHash SHA-256': () => Promise.resolve(texts.forEach((text) => (sink += createHash('sha256').update(text, 'utf8').digest('hex').length))),
    'baseline crypto.hash SHA-256': () => Promise.resolve(texts.forEach((text) => (sink += oneShotHash('sha256', text, 'hex').length))),
  };
  const samples: Record<string, number[]> = {};
  for (let run = -1; run < runs; run++) {
    for (const [name, fn] of Object.entries(work)) {
      collectGarbage();
      const start = performance.now();
      await fn();
      const ms = performance.now() - start;
      if (run >= 0) (samples[name] ??= []).push(ms);
    }
  }
  if (sink === 0) throw new Error('unreachable: nothing hashed');
  const best = Object.fromEntries(Object.entries(samples).map(([name, ms]) => [name, Math.min(...ms)]));
  const median = Object.fromEntries(Object.entries(samples).map(([name, ms]) => [name, summarize(ms).p50]));
  const create = 'baseline createHash SHA-256';
  const oneShot = 'baseline crypto.hash SHA-256';
  const percent = (of: Record<string, number>, base: string, name: string) => `${((of[base]! / of[name]!) * 100).toFixed(0).padStart(4)} %`;
  for (const name of Object.keys(samples)) {
    console.log(
      `${name.padEnd(52)} ${Math.round((events / best[name]!) * 1000).toString().padStart(8)} ev/s  ` +
        `best: ${percent(best, create, name)} of createHash ${percent(best, oneShot, name)} of crypto.hash;  ` +
        `median: ${percent(median, create, name)} of createHash`,
    );
  }
  return best;
}
