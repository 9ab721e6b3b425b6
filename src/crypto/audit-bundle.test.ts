import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { genesisHash, linkEvent, signCheckpoint } from './audit-chain.js';
import type { ChainRow, Checkpoint } from './audit-chain.js';
import { serializeBundleHeader, serializeBundleLine, verifyBundle, verifyBundleFile } from './audit-bundle.js';
import { generateSigningKeyPair } from './signing.js';

const keys = generateSigningKeyPair();
const start = Date.parse('2025-03-01T12:00:00.000Z');

function chain(count: number, privateKeyPem = keys.privateKeyPem): { rows: ChainRow[]; checkpoints: Checkpoint[] } {
  const rows: ChainRow[] = [];
  let prev = genesisHash;
  for (let seq = 1; seq <= count; seq += 1) {
    const row = linkEvent(prev, {
      seq,
      at: new Date(start + seq * 1000).toISOString(),
      actor: 'user:zoë',
      action: 'grant.revealed',
      subject: `gr_${seq}`,
      details: { note: 'naïve café ☕ 🔐', n: seq, nested: { ok: true, list: [1, 2.5, null] } },
    });
    rows.push(row);
    prev = row.hash;
  }
  const checkpoints = rows
    .filter((row) => row.seq % 4 === 0)
    .map((row) => signCheckpoint(privateKeyPem, { seq: row.seq, hash: row.hash, at: row.at }));
  return { rows, checkpoints };
}

/** What exportBundle writes: header, events, checkpoints, one per line. */
function bundle(rows: ChainRow[], checkpoints: Checkpoint[], publicKey = keys.publicKeyPem): string {
  const lines = [
    serializeBundleHeader({ exportedAt: '2025-03-02T00:00:00.000Z', publicKey }),
    ...rows.map((row) => serializeBundleLine({ type: 'event', ...row })),
    ...checkpoints.map((checkpoint) => serializeBundleLine({ type: 'checkpoint', ...checkpoint })),
  ];
  return lines.map((line) => `${line}\n`).join('');
}

const { rows, checkpoints } = chain(10);
const text = bundle(rows, checkpoints);
const intact = { ok: true, events: 10, headSeq: 10, headHash: rows[9]!.hash, checkpoints: 2 };

function replaceLine(source: string, index: number, change: (line: Record<string, unknown>) => void): string {
  const lines = source.split('\n');
  const line = JSON.parse(lines[index]!) as Record<string, unknown>;
  change(line);
  lines[index] = JSON.stringify(line);
  return lines.join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'bg-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('audit bundle', () => {
  it('writes the documented header', () => {
    expect(JSON.parse(text.split('\n')[0]!)).toEqual({
      type: 'header',
      format: 'breakglass-audit-bundle',
      version: 1,
      exportedAt: '2025-03-02T00:00:00.000Z',
      publicKey: keys.publicKeyPem,
    });
  });

  it('writes only the chain fields of a store record', () => {
    const line = serializeBundleLine({ type: 'event', ...rows[0]!, secret: 'x' } as never);
    expect(Object.keys(JSON.parse(line) as object)).toEqual(['type', 'seq', 'at', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash']);
  });

  it('round-trips export → verify from text', async () => {
    expect(await verifyBundle(text)).toEqual(intact);
    expect(await verifyBundle(text.replaceAll('\n', '\r\n'))).toEqual(intact);
  });

  it('round-trips from a byte stream cut in the middle of UTF-8 characters', async () => {
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    expect(await verifyBundle(Readable.from(chunks))).toEqual(intact);
  });

  it('round-trips from readline lines and from a file', async () => {
    const path = join(dir, 'bundle.jsonl');
    writeFileSync(path, text);
    const lines = createInterface({ input: Readable.from([text]), crlfDelay: Number.POSITIVE_INFINITY });
    expect(await verifyBundle(lines)).toEqual(intact);
    expect(await verifyBundleFile(path)).toEqual(intact);
  });

  it('tamper: a modified event line fails naming its seq', async () => {
    const tampered = replaceLine(text, 6, (line) => (line['actor'] = 'user:mallory')); // line 7 = seq 6
    expect(await verifyBundle(tampered)).toMatchObject({ ok: false, firstBadSeq: 6, reason: 'hash mismatch, event modified' });
    const path = join(dir, 'tampered.jsonl');
    writeFileSync(path, tampered);
    expect(await verifyBundleFile(path)).toMatchObject({ ok: false, firstBadSeq: 6 });
  });

  it('tamper: a truncated bundle is detected through its checkpoints', async () => {
    expect(await verifyBundle(bundle(rows.slice(0, 6), checkpoints))).toMatchObject({
      ok: false,
      firstBadSeq: 7,
      reason: 'events deleted after seq 6',
    });
  });

  it('names the line of an unparsable or unexpected line', async () => {
    const lines = text.split('\n');
    const broken = [...lines.slice(0, 4), '{"type":"event",', ...lines.slice(4)].join('\n');
    expect(await verifyBundle(broken)).toEqual({ ok: false, firstBadSeq: 0, reason: 'line 5: not valid JSON', events: 0 });
    const extra = replaceLine(text, 3, (line) => (line['comment'] = 'approved by CISO'));
    expect(await verifyBundle(extra)).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringContaining('line 4: malformed event line') });
    const unknown = replaceLine(text, 2, (line) => (line['type'] = 'note'));
    expect(await verifyBundle(unknown)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'line 3: unknown line type' });
    const secondHeader = `${text}${text.split('\n')[0]!}\n`;
    expect(await verifyBundle(secondHeader)).toMatchObject({ ok: false, firstBadSeq: 0, reason: 'line 14: a header is allowed only on line 1' });
  });

  it('refuses a missing or foreign header', async () => {
    expect(await verifyBundle('')).toMatchObject({ ok: false, firstBadSeq: 0, reason: 'empty bundle: no header line' });
    expect(await verifyBundle(`\n${text}`)).toMatchObject({ ok: false, firstBadSeq: 0, reason: 'line 1: not valid JSON' });
    expect(await verifyBundle(text.split('\n').slice(1).join('\n'))).toMatchObject({ ok: false, firstBadSeq: 0, reason: 'line 1: not a breakglass audit bundle header' });
    const v2 = replaceLine(text, 0, (line) => (line['version'] = 2));
    expect(await verifyBundle(v2)).toMatchObject({ ok: false, reason: 'line 1: unsupported bundle version 2' });
    const badKey = replaceLine(text, 0, (line) => (line['publicKey'] = 'not a key'));
    expect(await verifyBundle(badKey)).toMatchObject({ ok: false, reason: 'line 1: the public key is not an Ed25519 public key' });
  });

  it('tamper: a bundle rewritten and re-signed with another key fails against the expected key', async () => {
    const attacker = generateSigningKeyPair();
    const forged = chain(10, attacker.privateKeyPem);
    const forgedText = bundle(forged.rows, forged.checkpoints, attacker.publicKeyPem);
    // Self-consistent: a bundle alone proves integrity, not who signed it.
    expect(await verifyBundle(forgedText)).toMatchObject({ ok: true });
    expect(await verifyBundle(forgedText, { expectedPublicKeyPem: keys.publicKeyPem })).toMatchObject({
      ok: false,
      firstBadSeq: 0,
      reason: 'line 1: the bundle is signed with another key than the expected one',
    });
    expect(await verifyBundle(text, { expectedPublicKeyPem: keys.publicKeyPem })).toEqual(intact);
  });

  it('throws not_found for a missing file', async () => {
    const error: unknown = await verifyBundleFile(join(dir, 'missing.jsonl')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('not_found');
  });
});
