import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../errors/index.js';
import { verifyChain } from './audit-chain.js';
import type { ChainRow, ChainVerification, Checkpoint } from './audit-chain.js';
import { publicKeyFingerprint } from './signing.js';

/*
 * The self-contained audit export (DESIGN.md §4), JSON Lines:
 *   {"type":"header","format":"breakglass-audit-bundle","version":1,"exportedAt":…,"publicKey":PEM}
 *   {"type":"event",…ChainRow}          one per event, in seq order
 *   {"type":"checkpoint",…Checkpoint}   after the events
 * `audit verify --file` checks it with no server and no database. Lines are parsed strictly
 * (no unknown fields), so "verified" means every byte of meaning in the file was checked.
 * The bundle carries its own public key: that proves integrity, not origin, unless the verifier
 * compares the key with one it trusts (`expectedPublicKeyPem`, or show `publicKeyFingerprint`).
 */

export const bundleFormat = 'breakglass-audit-bundle';
export const bundleVersion = 1;

export type BundleLine = ({ type: 'event' } & ChainRow) | ({ type: 'checkpoint' } & Checkpoint);

export interface VerifyBundleOptions {
  /** Refuse a bundle signed with any other key (compared by SPKI fingerprint, not PEM text). */
  readonly expectedPublicKeyPem?: string;
}

/** A whole bundle as text, a Node stream (e.g. a file or stdin), or an iterable of lines. */
export type BundleSource = string | Readable | Iterable<string> | AsyncIterable<string>;

const HEADER_FIELDS = ['type', 'format', 'version', 'exportedAt', 'publicKey'];
const EVENT_FIELDS = ['type', 'seq', 'at', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash'];
const CHECKPOINT_FIELDS = ['type', 'seq', 'hash', 'at', 'signature'];

/**
 * The first line of a bundle, without the line break (the writer adds `\n`).
 *
 * @example
 * out.write(serializeBundleHeader({ exportedAt: clock.now().toISOString(), publicKey: publicKeyPem }) + '\n');
 */
export function serializeBundleHeader(header: { readonly exportedAt: string; readonly publicKey: string }): string {
  const { exportedAt, publicKey } = header;
  return JSON.stringify({ type: 'header', format: bundleFormat, version: bundleVersion, exportedAt, publicKey });
}

/**
 * One event or checkpoint line, without the line break (the writer adds `\n`). Only the chain's
 * own fields are written, so extra properties of a store record never leak into an export.
 *
 * @example
 * for (const row of rows) out.write(serializeBundleLine({ type: 'event', ...row }) + '\n');
 * for (const cp of checkpoints) out.write(serializeBundleLine({ type: 'checkpoint', ...cp }) + '\n');
 */
export function serializeBundleLine(line: BundleLine): string {
  if (line.type === 'event') {
    const { seq, at, actor, action, subject, details, prevHash, hash } = line;
    return JSON.stringify({ type: 'event', seq, at, actor, action, subject, details, prevHash, hash });
  }
  const { seq, hash, at, signature } = line;
  return JSON.stringify({ type: 'checkpoint', seq, hash, at, signature });
}

type Parsed =
  | { kind: 'blank' }
  | { kind: 'header'; publicKey: string }
  | { kind: 'event'; row: ChainRow }
  | { kind: 'checkpoint'; checkpoint: Checkpoint }
  | { kind: 'error'; seq: number; reason: string };

function hasExactly(record: Record<string, unknown>, fields: readonly string[]): boolean {
  const keys = Object.keys(record);
  return keys.length === fields.length && fields.every((field) => Object.hasOwn(record, field));
}

function parseLine(text: string, lineNo: number): Parsed {
  if (lineNo > 1 && text.trim() === '') return { kind: 'blank' };
  const error = (reason: string, seq: unknown = undefined): Parsed => ({
    kind: 'error',
    seq: typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : 0,
    reason: `line ${lineNo}: ${reason}`,
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return error('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return error('not a JSON object');
  const record = value as Record<string, unknown>;
  const { type, seq } = record;
  if (lineNo === 1 || type === 'header') {
    if (lineNo !== 1) return error('a header is allowed only on line 1', seq);
    if (type !== 'header' || record['format'] !== bundleFormat) return error('not a breakglass audit bundle header');
    if (record['version'] !== bundleVersion) return error(`unsupported bundle version ${String(record['version'])}`);
    if (!hasExactly(record, HEADER_FIELDS) || typeof record['exportedAt'] !== 'string' || typeof record['publicKey'] !== 'string') {
      return error('malformed header');
    }
    return { kind: 'header', publicKey: record['publicKey'] };
  }
  if (type === 'event') {
    if (!hasExactly(record, EVENT_FIELDS)) return error('malformed event line (missing or unexpected fields)', seq);
    const { at, actor, action, subject, details, prevHash, hash } = record;
    // Field types are checked by verifyChain, which distrusts every row it is given.
    return { kind: 'event', row: { seq, at, actor, action, subject, details, prevHash, hash } as unknown as ChainRow };
  }
  if (type === 'checkpoint') {
    if (!hasExactly(record, CHECKPOINT_FIELDS)) return error('malformed checkpoint line (missing or unexpected fields)', seq);
    const { hash, at, signature } = record;
    return { kind: 'checkpoint', checkpoint: { seq, hash, at, signature } as unknown as Checkpoint };
  }
  return error('unknown line type', seq);
}

/** Splits a byte or text stream into lines; UTF-8 sequences split across chunks stay whole. */
async function* splitLines(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of chunks) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    yield* lines;
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

async function* linesOf(source: Iterable<string> | AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of source) yield line.endsWith('\n') ? line.slice(0, -1) : line;
}

const failed = (seq: number, reason: string): ChainVerification => ({ ok: false, firstBadSeq: seq, reason, events: 0 });

/**
 * Two passes over re-openable lines: the first reads the header and the (few) checkpoints,
 * which sit at the end of the file; the second streams the events into verifyChain, so memory
 * stays proportional to the number of checkpoints, not events.
 */
async function verifyLines(
  open: () => AsyncIterable<string>,
  options: VerifyBundleOptions,
): Promise<ChainVerification> {
  let publicKey: string | undefined;
  const checkpoints: Checkpoint[] = [];
  let lineNo = 0;
  for await (const raw of open()) {
    lineNo += 1;
    const parsed = parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw, lineNo);
    if (parsed.kind === 'error') return failed(parsed.seq, parsed.reason);
    if (parsed.kind === 'header') publicKey = parsed.publicKey;
    if (parsed.kind === 'checkpoint') checkpoints.push(parsed.checkpoint);
  }
  if (publicKey === undefined) return failed(0, 'empty bundle: no header line');

  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(publicKey);
  } catch {
    return failed(0, 'line 1: the public key is not an Ed25519 public key');
  }
  if (options.expectedPublicKeyPem !== undefined) {
    let expected: string | undefined;
    try {
      expected = publicKeyFingerprint(options.expectedPublicKeyPem);
    } catch {
      expected = undefined;
    }
    if (expected !== fingerprint) return failed(0, 'line 1: the bundle is signed with another key than the expected one');
  }

  // A file can change between the passes; a line that no longer parses ends the second pass.
  let lateError: ChainVerification | undefined;
  async function* events(): AsyncGenerator<ChainRow> {
    let n = 0;
    for await (const raw of open()) {
      n += 1;
      const parsed = parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw, n);
      if (parsed.kind === 'error') {
        lateError = failed(parsed.seq, parsed.reason);
        return;
      }
      if (parsed.kind === 'event') yield parsed.row;
    }
  }
  const result = await verifyChain(events(), checkpoints, publicKey);
  return lateError ?? result;
}

function isNodeStream(source: unknown): source is Readable {
  return source instanceof Readable;
}

/**
 * Verifies an audit bundle with no server and no database: parses every line (an unparsable or
 * unexpected line gives `ok: false` naming the line, `firstBadSeq` 0 when no seq is known), then
 * runs {@link verifyChain} with the bundle's public key. A stream or async iterable is read once
 * and held in memory; for large files prefer {@link verifyBundleFile}.
 *
 * @example
 * const result = await verifyBundle(process.stdin, { expectedPublicKeyPem });
 */
export async function verifyBundle(source: BundleSource, options: VerifyBundleOptions = {}): Promise<ChainVerification> {
  if (typeof source === 'string') {
    const lines = source.split('\n');
    if (lines.at(-1) === '') lines.pop(); // the newline that ends the last line
    return verifyLines(() => linesOf(lines), options);
  }
  const lines: string[] = [];
  for await (const line of isNodeStream(source) ? splitLines(source as AsyncIterable<string | Buffer>) : linesOf(source)) {
    lines.push(line);
  }
  return verifyLines(() => linesOf(lines), options);
}

/**
 * Verifies the bundle file at `path`, reading it twice so memory does not grow with its size.
 * Throws `AppError('not_found')` if the file does not exist.
 *
 * @example
 * const result = await verifyBundleFile('audit-2025-03.jsonl');
 */
export async function verifyBundleFile(path: string, options: VerifyBundleOptions = {}): Promise<ChainVerification> {
  try {
    return await verifyLines(() => splitLines(createReadStream(path) as AsyncIterable<Buffer>), options);
  } catch (cause) {
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
    if (code === 'ENOENT') throw new AppError('not_found', `audit bundle ${path} not found`, { cause });
    throw new AppError('internal', `cannot read audit bundle ${path}`, { cause });
  }
}
