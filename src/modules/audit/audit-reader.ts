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
  return { ...event, at: event.at.toISOString() };
}

// issue 13 (audit)
/**
 * The chain as stored, in keyset pages (seq > last seen), details left as their stored JSON
 * text: verification hashes that text directly instead of parsing and re-canonicalising it.
 */
export async function* storedChainPages(store: Store, pageRows = verifyPageSize): AsyncGenerator<StoredChainRow[]> {
  let after = 0;
  for (;;) {
    const page = await store.transaction((tx) => tx.audit.storedEvents(after, pageRows));
    if (page.length > 0) yield page.map(toStoredChainRow);
    if (page.length < pageRows) return;
    after = page[page.length - 1]!.seq;
  }
}

/** Rows per page when verifying: a few MB in flight, few enough transactions. */
const verifyPageSize = 2_000;

/** Verifies the whole chain in the store against its signed checkpoints. */
export async function verifyStoredChain(store: Store, publicKeyPem: string): Promise<ChainVerification> {
  const checkpoints = await store.transaction((tx) => tx.audit.checkpoints());
  return verifyStoredPages(storedChainPages(store), checkpoints, publicKeyPem);
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
