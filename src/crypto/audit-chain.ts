import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { signCanonical, verifyCanonical } from './signing.js';

/*
 * The tamper-evident audit chain (DESIGN.md §4). Each event's hash covers the previous hash and
 * the canonical JSON of the event (seq included), so changing, deleting, inserting or reordering
 * a row breaks the chain at that row. Someone with write access could recompute every later
 * hash; signed checkpoints over {seq, hash, at} catch that, because they cannot be re-signed
 * without the private key. Structurally these types match the store's AuditEventRecord and
 * CheckpointRecord once `at` is an ISO string (`date.toISOString()`).
 */

/** The hashed content of an audit event. `at` is ISO 8601 as written by `Date#toISOString()`. */
export interface ChainEvent {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type ChainRow = ChainEvent & { readonly prevHash: string; readonly hash: string };

export interface Checkpoint {
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  /** Base64 Ed25519 signature over canonicalJson({seq, hash, at}). */
  readonly signature: string;
}

export type ChainVerification =
  | { ok: true; events: number; headSeq: number; headHash: string; checkpoints: number }
  | { ok: false; firstBadSeq: number; reason: string; events: number };

/** The prevHash of the event with seq 1. */
export const genesisHash = '0'.repeat(64);

/**
 * SHA-256 hex of `prevHash` followed by the canonical JSON of exactly the six event fields
 * (extra properties of a row, such as its own hash, are not hashed).
 *
 * @example
 * const hash = hashEvent(head.hash, { seq: head.seq + 1, at: now.toISOString(), actor, action, subject, details });
 */
export function hashEvent(prevHash: string, event: ChainEvent): string {
  const { seq, at, actor, action, subject, details } = event;
  return createHash('sha256')
    .update(prevHash, 'utf8')
    .update(canonicalJson({ seq, at, actor, action, subject, details }), 'utf8')
    .digest('hex');
}

/**
 * Links an event to the chain: returns the row to insert.
 *
 * @example
 * const row = linkEvent(head.hash, event); // row.prevHash === head.hash, row.hash === hashEvent(...)
 */
export function linkEvent(prevHash: string, event: ChainEvent): ChainRow {
  const { seq, at, actor, action, subject, details } = event;
  return { seq, at, actor, action, subject, details, prevHash, hash: hashEvent(prevHash, event) };
}

/**
 * Signs the chain head `{seq, hash, at}` with the Ed25519 private key.
 *
 * @example
 * const checkpoint = signCheckpoint(privateKeyPem, { seq: head.seq, hash: head.hash, at: now.toISOString() });
 */
export function signCheckpoint(
  privateKeyPem: string,
  head: { readonly seq: number; readonly hash: string; readonly at: string },
): Checkpoint {
  const { seq, hash, at } = head;
  return { seq, hash, at, signature: signCanonical(privateKeyPem, { seq, hash, at }) };
}

/** True if the checkpoint's signature is valid for `publicKeyPem`; never throws. */
export function verifyCheckpoint(publicKeyPem: string, checkpoint: Checkpoint): boolean {
  const { seq, hash, at, signature } = checkpoint;
  return verifyCanonical(publicKeyPem, { seq, hash, at }, signature);
}

const HEX_HASH = /^[0-9a-f]{64}$/;

function isPositiveSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** Rows may come from an untrusted bundle, so their shape is checked, not assumed. */
function isWellFormedRow(row: ChainRow): boolean {
  const r = row as unknown as Record<string, unknown>;
  const details = r['details'];
  return (
    isPositiveSeq(r['seq']) &&
    ['at', 'actor', 'action', 'subject'].every((field) => typeof r[field] === 'string') &&
    typeof details === 'object' && details !== null && !Array.isArray(details) &&
    typeof r['prevHash'] === 'string' && HEX_HASH.test(r['prevHash']) &&
    typeof r['hash'] === 'string' && HEX_HASH.test(r['hash'])
  );
}

function isWellFormedCheckpoint(checkpoint: Checkpoint): boolean {
  const c = checkpoint as unknown as Record<string, unknown>;
  return isPositiveSeq(c['seq']) && typeof c['hash'] === 'string' && typeof c['at'] === 'string' &&
    typeof c['signature'] === 'string';
}

type Bad = { ok: false; firstBadSeq: number; reason: string; events: number };
const bad = (firstBadSeq: number, reason: string, events: number): Bad => ({ ok: false, firstBadSeq, reason, events });

/** Row-level rules; `expectedSeq` and `prevHash` describe the last good row. */
function checkRow(row: ChainRow, expectedSeq: number, prevHash: string, events: number): Bad | undefined {
  if (!isWellFormedRow(row)) {
    const seq = (row as { seq?: unknown }).seq;
    return bad(isPositiveSeq(seq) ? seq : expectedSeq, 'malformed event', events);
  }
  if (row.seq > expectedSeq) return bad(expectedSeq, 'missing event', events);
  if (row.seq < expectedSeq) return bad(row.seq, 'duplicate or out-of-order event', events);
  if (row.prevHash !== prevHash) return bad(row.seq, 'broken link', events);
  let hash: string;
  try {
    hash = hashEvent(row.prevHash, row);
  } catch {
    return bad(row.seq, 'malformed event (details cannot be canonicalized)', events);
  }
  if (hash !== row.hash) return bad(row.seq, 'hash mismatch, event modified', events);
  return undefined;
}

/**
 * Verifies the chain end to end and names the first bad sequence number.
 *
 * Rows must arrive in seq order starting at 1; they are consumed one at a time, so a store cursor
 * or a file stream works for any chain length. Checkpoints are held in memory. A checkpoint whose
 * hash differs from the chain at its seq means the rows since the previous good checkpoint were
 * rewritten (hashes recomputed); one beyond the last row means rows were deleted at the end.
 * A chain with no checkpoints is only as strong as the database's write protection: check
 * `checkpoints` in the result.
 *
 * @example
 * const result = await verifyChain(store.auditRows(), checkpoints, publicKeyPem);
 * if (!result.ok) console.error(`first bad event: ${result.firstBadSeq} (${result.reason})`);
 */
export async function verifyChain(
  rows: Iterable<ChainRow> | AsyncIterable<ChainRow>,
  checkpoints: readonly Checkpoint[],
  publicKeyPem: string,
): Promise<ChainVerification> {
  for (const checkpoint of checkpoints) {
    if (!isWellFormedCheckpoint(checkpoint)) {
      const seq = (checkpoint as { seq?: unknown }).seq;
      return bad(isPositiveSeq(seq) ? seq : 0, 'malformed checkpoint', 0);
    }
  }
  const pending = [...checkpoints].sort((a, b) => a.seq - b.seq);
  let next = 0; // index of the first checkpoint not yet checked
  let lastGoodCheckpointSeq = 0;
  let verified = 0;
  let headSeq = 0;
  let headHash = genesisHash;

  const checkCheckpoint = (checkpoint: Checkpoint, chainHash: string): Bad | undefined => {
    if (!verifyCheckpoint(publicKeyPem, checkpoint)) return bad(checkpoint.seq, 'bad checkpoint signature', verified);
    if (checkpoint.hash !== chainHash) {
      return bad(lastGoodCheckpointSeq + 1, `chain rewritten before checkpoint ${checkpoint.seq}`, verified);
    }
    lastGoodCheckpointSeq = checkpoint.seq;
    return undefined;
  };

  for await (const row of rows) {
    const failure = checkRow(row, headSeq + 1, headHash, verified);
    if (failure) return failure;
    headSeq = row.seq;
    headHash = row.hash;
    verified += 1;
    for (let checkpoint = pending[next]; checkpoint?.seq === headSeq; checkpoint = pending[++next]) {
      const checkpointFailure = checkCheckpoint(checkpoint, headHash);
      if (checkpointFailure) return checkpointFailure;
    }
  }

  const beyond = pending[next];
  if (beyond !== undefined) {
    // A forged checkpoint must not be taken as proof that rows were deleted.
    if (!verifyCheckpoint(publicKeyPem, beyond)) return bad(beyond.seq, 'bad checkpoint signature', verified);
    return bad(headSeq + 1, `events deleted after seq ${headSeq}`, verified);
  }
  return { ok: true, events: verified, headSeq, headHash, checkpoints: pending.length };
}
