import {
  serializeBundleHeader,
  serializeBundleLine,
  verifyChainPages,
  type ChainRow,
  type ChainVerification,
  type StoredChainRow,
} from '../../crypto/index.js';
import type { AuditEventRecord, CheckpointRecord, Clock, Store, StoredAuditEvent } from '../../ports/index.js';

const pageSize = 1_000;

export function toChainRow(event: AuditEventRecord): ChainRow {
  return { ...event, at: event.at.toISOString(), details: { ...event.details } };
}

export function toChainCheckpoint(checkpoint: CheckpointRecord) {
  return { ...checkpoint, at: checkpoint.at.toISOString() };
}

/** Streams the chain page by page, so verifying a long chain needs little memory. */
export async function* chainRows(store: Store): AsyncGenerator<ChainRow> {
  let from = 1;
  for (;;) {
    const page = await store.transaction((tx) => tx.audit.events(from, pageSize));
    for (const event of page) yield toChainRow(event);
    if (page.length < pageSize) return;
    from = page[page.length - 1]!.seq + 1;
  }
}

// issue 13 (audit)
export function toStoredChainRow(event: StoredAuditEvent): StoredChainRow {
  return toStoredChainRowWith(event, (date) => date.toISOString());
}

// issue 13 (verify)
/** One object per row, its fields named (no spread), `at` formatted by `iso`. */
function toStoredChainRowWith(event: StoredAuditEvent, iso: (date: Date) => string): StoredChainRow {
  const { seq, actor, action, subject, detailsJson, prevHash, hash } = event;
  return { seq, at: iso(event.at), actor, action, subject, detailsJson, prevHash, hash };
}

// issue 13 (verify)
const twoDigits = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const threeDigits = Array.from({ length: 1_000 }, (_, n) => String(n).padStart(3, '0'));
const dayMs = 86_400_000;

/**
 * `date.toISOString()`, with the date part computed once per day: a chain's events share their
 * day, and `toISOString` was a tenth of a verification's time. Any instant not in whole
 * milliseconds of a day it has seen goes through `toISOString` itself (an invalid date still throws).
 */
export function isoInstants(): (date: Date) => string {
  let dayStart = Number.NaN;
  let datePart = '';
  return (date) => {
    const ms = date.getTime();
    const inDay = ms - dayStart;
    if (!(inDay >= 0 && inDay < dayMs)) {
      const iso = date.toISOString();
      dayStart = ms - (((ms % dayMs) + dayMs) % dayMs);
      datePart = iso.slice(0, iso.indexOf('T') + 1);
      return iso;
    }
    const hours = Math.floor(inDay / 3_600_000);
    const minutes = Math.floor(inDay / 60_000) % 60;
    const seconds = Math.floor(inDay / 1_000) % 60;
    return `${datePart}${twoDigits[hours]!}:${twoDigits[minutes]!}:${twoDigits[seconds]!}.${threeDigits[inDay % 1_000]!}Z`;
  };
}

/** Rows per page when verifying: a few MB in flight, few round trips. */
const verifyPageSize = 5_000;

// issue 13 (audit)
/**
 * The chain as stored, in keyset pages (seq > last seen), details left as their stored JSON
 * text: verification hashes that text directly instead of parsing and re-canonicalising it.
 */
export function storedChainPages(store: Store, pageRows = verifyPageSize): AsyncGenerator<StoredChainRow[]> {
  return asChainPages(storedEventPages(store, pageRows));
}

// issue 13 (verify)
/**
 * The store's `storedEvents` pages. Each page is a `Store.read` (SQLite: the read-only
 * connection, so appends are never held up by a verification; PostgreSQL: a read-only snapshot),
 * and the next page is asked for before this one is handed on, so the database works while the
 * caller hashes.
 */
async function* storedEventPages(store: Store, pageRows: number): AsyncGenerator<StoredAuditEvent[]> {
  const read = (after: number) => store.read((tx) => tx.audit.storedEvents(after, pageRows));
  let next: Promise<StoredAuditEvent[]> | undefined = read(0);
  try {
    while (next !== undefined) {
      const page: StoredAuditEvent[] = await next;
      const last = page.at(-1);
      next = last !== undefined && page.length >= pageRows ? read(last.seq) : undefined;
      if (page.length > 0) yield page;
    }
  } finally {
    // A caller that stops early (a bad row) leaves a page in flight: let it settle, unheard.
    await next?.catch(() => undefined);
  }
}

// issue 13 (verify)
async function* asChainPages(pages: AsyncIterable<readonly StoredAuditEvent[]>): AsyncGenerator<StoredChainRow[]> {
  const iso = isoInstants();
  for await (const page of pages) yield page.map((event) => toStoredChainRowWith(event, iso));
}

/** Verifies the whole chain in the store against its signed checkpoints. */
export async function verifyStoredChain(store: Store, publicKeyPem: string): Promise<ChainVerification> {
  // issue 13 (verify): reads only, so a verification never takes the write lock.
  const checkpoints = await store.read((tx) => tx.audit.checkpoints());
  return verifyStoredEvents(storedEventPages(store, verifyPageSize), checkpoints, publicKeyPem);
}

// issue 13 (verify)
/**
 * Verifies a chain given as pages of events as stored: a store's (what {@link verifyStoredChain}
 * reads), or a stopped server's file (`readAuditOffline(file).storedPages`, `audit verify --data-dir`).
 *
 * @example
 * const offline = await readAuditOffline(file);
 * const result = await verifyStoredEvents(offline.storedPages, offline.checkpoints, publicKeyPem);
 */
export function verifyStoredEvents(
  pages: AsyncIterable<readonly StoredAuditEvent[]>,
  checkpoints: readonly CheckpointRecord[],
  publicKeyPem: string,
): Promise<ChainVerification> {
  return verifyStoredPages(asChainPages(pages), checkpoints, publicKeyPem);
}

// issue 13 (audit)
/**
 * What {@link verifyStoredChain} does with the pages once they are read: over the pages as they
 * come from the store, or over pages already in memory (the bench's in-memory figure times this,
 * so it measures the product's path and nothing else).
 *
 * @example
 * const pages: StoredChainRow[][] = [];
 * for await (const page of storedChainPages(store)) pages.push(page);
 * const result = await verifyStoredPages(pages, await store.transaction((tx) => tx.audit.checkpoints()), publicKeyPem);
 */
export function verifyStoredPages(
  pages: Iterable<readonly StoredChainRow[]> | AsyncIterable<readonly StoredChainRow[]>,
  checkpoints: readonly CheckpointRecord[],
  publicKeyPem: string,
): Promise<ChainVerification> {
  return verifyChainPages(pages, checkpoints.map(toChainCheckpoint), publicKeyPem);
}

/**
 * The self-contained export bundle as JSON Lines: header with the public key, the events in
 * order, then the checkpoints. `audit verify --file` checks it with no server and no database.
 */
export async function* exportBundle(store: Store, publicKeyPem: string, clock: Clock): AsyncGenerator<string> {
  // Checkpoints first in time, so every exported event up to the last checkpoint is covered.
  const checkpoints = await store.transaction((tx) => tx.audit.checkpoints());
  yield serializeBundleHeader({ exportedAt: clock.now().toISOString(), publicKey: publicKeyPem }) + '\n';
  for await (const row of chainRows(store)) yield serializeBundleLine({ type: 'event', ...row }) + '\n';
  for (const checkpoint of checkpoints) yield serializeBundleLine({ type: 'checkpoint', ...toChainCheckpoint(checkpoint) }) + '\n';
}
