import { hash as oneShotHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { canonicalVerifier, signCanonical, verifyCanonical } from './signing.js';

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

// issue 13 (audit)
/**
 * A row as the store holds it: `detailsJson` is the details column's text, not parsed. Since
 * issue 13 the column holds the canonical JSON of the details, so the event's canonical bytes
 * are put together around it and hashed with no parse and no re-canonicalisation; a row written
 * before (any JSON spelling) is parsed and canonicalised as a {@link ChainRow} is.
 */
export type StoredChainRow = Omit<ChainRow, 'details'> & { readonly detailsJson: string };

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
  return hashCanonicalEvent(prevHash, event, canonicalJson(event.details));
}

// issue 13 (audit)
/**
 * `canonicalJson({seq, at, actor, action, subject, details})` byte for byte, given the canonical
 * JSON of `details`: RFC 8785 sorts the six keys (action, actor, at, details, seq, subject) and
 * writes strings and safe integers as `JSON.stringify` does, so only the details need the
 * canonicaliser. A hash over these bytes commits to `detailsJson` exactly: the string fields
 * around it are JSON string literals, so no other split of the same bytes exists.
 *
 * @example
 * canonicalEventText({ seq: 1, at, actor: 'alice', action: 'grant.requested', subject: 'gr_1' }, '{}')
 */
export function canonicalEventText(event: Omit<ChainEvent, 'details'>, detailsJson: string): string {
  const { seq, at, actor, action, subject } = event;
  return `{"action":${jsonString(action)},"actor":${jsonString(actor)},"at":${jsonString(at)},"details":${detailsJson},"seq":${JSON.stringify(seq)},"subject":${jsonString(subject)}}`;
}

// issue 13 (verify)
/** Nothing `JSON.stringify` would escape: no quote, backslash, control character or surrogate. */
// eslint-disable-next-line no-control-regex -- the control characters are exactly what JSON escapes
const verbatim = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/**
 * `JSON.stringify(text)` for a string, byte for byte: a string with nothing to escape (every
 * actor, action, subject and instant the product writes) is only quoted, which halves the cost
 * per field of hashing a stored row; anything else goes through `JSON.stringify` itself.
 */
function jsonString(text: string): string {
  return typeof text === 'string' && verbatim.test(text) ? `"${text}"` : JSON.stringify(text);
}

/**
 * {@link hashEvent} when the canonical JSON of the details is already known (appends compute it
 * once and store it; stored rows carry it).
 */
export function hashCanonicalEvent(prevHash: string, event: Omit<ChainEvent, 'details'>, detailsJson: string): string {
  // One-shot hash of one string: the chain's cost is one SHA-256 per event, not an object per event.
  return oneShotHash('sha256', prevHash + canonicalEventText(event, detailsJson), 'hex');
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

// issue 13 (audit)
/**
 * Links events to the chain one after the other, in memory: the rows to insert in one statement,
 * each with the canonical JSON of its details (what the store keeps). The same hashes as
 * {@link linkEvent} called event by event.
 *
 * @example
 * const rows = linkEvents(head.hash, events); // rows[0].prevHash === head.hash, rows[i + 1].prevHash === rows[i].hash
 */
export function linkEvents(prevHash: string, events: readonly ChainEvent[]): (ChainRow & { readonly detailsJson: string })[] {
  const rows: (ChainRow & { readonly detailsJson: string })[] = [];
  let previous = prevHash;
  for (const event of events) {
    const { seq, at, actor, action, subject, details } = event;
    const detailsJson = canonicalJson(details);
    const hash = hashCanonicalEvent(previous, event, detailsJson);
    rows.push({ seq, at, actor, action, subject, details, detailsJson, prevHash: previous, hash });
    previous = hash;
  }
  return rows;
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

const isDetailsObject = (details: unknown) => typeof details === 'object' && details !== null && !Array.isArray(details);

/** Rows may come from an untrusted bundle, so their shape is checked, not assumed. */
function isWellFormedRow(row: ChainRow | StoredChainRow): boolean {
  const r = row as unknown as Record<string, unknown>;
  return (
    isPositiveSeq(r['seq']) &&
    typeof r['at'] === 'string' && typeof r['actor'] === 'string' && typeof r['action'] === 'string' &&
    typeof r['subject'] === 'string' &&
    (isStored(row) || isDetailsObject(r['details'])) &&
    typeof r['prevHash'] === 'string' && HEX_HASH.test(r['prevHash']) &&
    typeof r['hash'] === 'string' && HEX_HASH.test(r['hash'])
  );
}

// issue 13 (audit)
const isStored = (row: ChainRow | StoredChainRow): row is StoredChainRow =>
  typeof (row as { detailsJson?: unknown }).detailsJson === 'string';

/**
 * A stored row's hash: first over its details text as stored (canonical since issue 13: a match
 * proves the bytes, see {@link canonicalEventText}); if that misses, over the canonical JSON of
 * the parsed text (a row written before, in another spelling of the same value). Undefined when
 * the text is not a JSON object: a malformed row.
 */
function storedRowHashMatches(row: StoredChainRow): boolean | undefined {
  if (hashCanonicalEvent(row.prevHash, row, row.detailsJson) === row.hash) return true;
  let details: unknown;
  try {
    details = JSON.parse(row.detailsJson);
  } catch {
    return undefined;
  }
  if (!isDetailsObject(details)) return undefined;
  return hashEvent(row.prevHash, { ...row, details: details as Record<string, unknown> }) === row.hash;
}

function isWellFormedCheckpoint(checkpoint: Checkpoint): boolean {
  const c = checkpoint as unknown as Record<string, unknown>;
  return isPositiveSeq(c['seq']) && typeof c['hash'] === 'string' && typeof c['at'] === 'string' &&
    typeof c['signature'] === 'string';
}

type Bad = { ok: false; firstBadSeq: number; reason: string; events: number };
const bad = (firstBadSeq: number, reason: string, events: number): Bad => ({ ok: false, firstBadSeq, reason, events });

// issue 13 (audit)
/**
 * The common case in one pass: a well-typed row that extends the last good one and whose hash
 * recomputes. Both hashes then equal known hex strings, so the full checks would pass; any other
 * row goes through {@link checkRow}, which names what is wrong in the documented order.
 */
function rowIsGood(row: ChainRow | StoredChainRow, expectedSeq: number, prevHash: string): boolean {
  if (row.seq !== expectedSeq || row.prevHash !== prevHash) return false;
  if (typeof row.at !== 'string' || typeof row.actor !== 'string' || typeof row.action !== 'string' || typeof row.subject !== 'string') return false;
  const text = (row as { detailsJson?: unknown }).detailsJson;
  return typeof text === 'string' && hashCanonicalEvent(prevHash, row, text) === row.hash;
}

/** Row-level rules; `expectedSeq` and `prevHash` describe the last good row. */
function checkRow(row: ChainRow | StoredChainRow, expectedSeq: number, prevHash: string, events: number): Bad | undefined {
  if (!isWellFormedRow(row)) {
    const seq = (row as { seq?: unknown }).seq;
    return bad(isPositiveSeq(seq) ? seq : expectedSeq, 'malformed event', events);
  }
  if (row.seq > expectedSeq) return bad(expectedSeq, 'missing event', events);
  if (row.seq < expectedSeq) return bad(row.seq, 'duplicate or out-of-order event', events);
  if (row.prevHash !== prevHash) return bad(row.seq, 'broken link', events);
  let matches: boolean | undefined;
  try {
    matches = isStored(row) ? storedRowHashMatches(row) : hashEvent(row.prevHash, row) === row.hash;
  } catch {
    matches = undefined;
  }
  if (matches === undefined) return bad(row.seq, 'malformed event (details cannot be canonicalized)', events);
  if (!matches) return bad(row.seq, 'hash mismatch, event modified', events);
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
  rows: Iterable<ChainRow | StoredChainRow> | AsyncIterable<ChainRow | StoredChainRow>,
  checkpoints: readonly Checkpoint[],
  publicKeyPem: string,
): Promise<ChainVerification> {
  // issue 13 (audit): rows held in memory are checked in one synchronous pass.
  const pages = Symbol.asyncIterator in rows ? onePerPage(rows) : [rows];
  return verifyChainPages(pages, checkpoints, publicKeyPem);
}

// issue 13 (audit)
async function* onePerPage<T>(rows: AsyncIterable<T>): AsyncGenerator<readonly T[]> {
  for await (const row of rows) yield [row];
}

// issue 13 (audit)
/**
 * {@link verifyChain} over pages of rows (a store's keyset pages): one await per page, not per
 * row. Same findings, same first bad seq.
 *
 * @example
 * const result = await verifyChainPages(storedPages(store), checkpoints, publicKeyPem);
 */
export async function verifyChainPages(
  pages: Iterable<Iterable<ChainRow | StoredChainRow>> | AsyncIterable<Iterable<ChainRow | StoredChainRow>>,
  checkpoints: readonly Checkpoint[],
  publicKeyPem: string,
): Promise<ChainVerification> {
  // issue 13 (audit): the public key is parsed once, and each checkpoint's signature checked once.
  const verifySignature = canonicalVerifier(publicKeyPem);
  const signatureValid = ({ seq, hash, at, signature }: Checkpoint) => verifySignature({ seq, hash, at }, signature);
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
    if (!signatureValid(checkpoint)) return bad(checkpoint.seq, 'bad checkpoint signature', verified);
    if (checkpoint.hash !== chainHash) {
      return bad(lastGoodCheckpointSeq + 1, `chain rewritten before checkpoint ${checkpoint.seq}`, verified);
    }
    lastGoodCheckpointSeq = checkpoint.seq;
    return undefined;
  };

  for await (const page of pages) {
    for (const row of page) {
      if (!rowIsGood(row, headSeq + 1, headHash)) {
        const failure = checkRow(row, headSeq + 1, headHash, verified);
        if (failure) return failure;
      }
      headSeq = row.seq;
      headHash = row.hash;
      verified += 1;
      for (let checkpoint = pending[next]; checkpoint?.seq === headSeq; checkpoint = pending[++next]) {
        const checkpointFailure = checkCheckpoint(checkpoint, headHash);
        if (checkpointFailure) return checkpointFailure;
      }
    }
  }

  const beyond = pending[next];
  if (beyond !== undefined) {
    // A forged checkpoint must not be taken as proof that rows were deleted.
    if (!signatureValid(beyond)) return bad(beyond.seq, 'bad checkpoint signature', verified);
    return bad(headSeq + 1, `events deleted after seq ${headSeq}`, verified);
  }
  return { ok: true, events: verified, headSeq, headHash, checkpoints: pending.length };
}
