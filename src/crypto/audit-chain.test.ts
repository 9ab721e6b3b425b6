import { describe, expect, it } from 'vitest';
import { genesisHash, hashEvent, linkEvent, signCheckpoint, verifyChain, verifyCheckpoint } from './audit-chain.js';
import type { ChainEvent, ChainRow, Checkpoint } from './audit-chain.js';
// issue 13 (audit)
import { canonicalEventText, hashCanonicalEvent, linkEvents, verifyChainPages, type StoredChainRow } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';
import { generateSigningKeyPair } from './signing.js';

const keys = generateSigningKeyPair();
const start = Date.parse('2025-03-01T12:00:00.000Z');

function event(seq: number): ChainEvent {
  return {
    seq,
    at: new Date(start + seq * 1000).toISOString(),
    actor: seq % 2 === 0 ? 'user:alice' : 'user:bob',
    action: 'grant.transition',
    subject: `gr_${seq}`,
    details: { from: 'requested', to: 'active', n: seq },
  };
}

/** Recomputes every hash from `fromIndex` on, as an attacker with write access could. */
function relink(rows: ChainRow[], fromIndex = 0): ChainRow[] {
  const out = rows.slice(0, fromIndex);
  let prev = fromIndex === 0 ? genesisHash : rows[fromIndex - 1]!.hash;
  for (const row of rows.slice(fromIndex)) {
    const linked = linkEvent(prev, row);
    out.push(linked);
    prev = linked.hash;
  }
  return out;
}

function buildChain(count: number, checkpointEvery = 5): { rows: ChainRow[]; checkpoints: Checkpoint[] } {
  const rows = relink(Array.from({ length: count }, (_, i) => ({ ...event(i + 1), prevHash: '', hash: '' })));
  const checkpoints = rows
    .filter((row) => row.seq % checkpointEvery === 0)
    .map((row) => signCheckpoint(keys.privateKeyPem, { seq: row.seq, hash: row.hash, at: row.at }));
  return { rows, checkpoints };
}

const verify = (rows: Iterable<ChainRow | StoredChainRow> | AsyncIterable<ChainRow | StoredChainRow>, checkpoints: Checkpoint[]) =>
  verifyChain(rows, checkpoints, keys.publicKeyPem);

describe('hashEvent', () => {
  it('is SHA-256 over prevHash and the canonical JSON of the six event fields', () => {
    const e = event(1);
    expect(hashEvent(genesisHash, e)).toMatch(/^[0-9a-f]{64}$/);
    // Extra properties (a row's own hashes) are not hashed; key order does not matter.
    const reordered = { details: e.details, subject: e.subject, action: e.action, actor: e.actor, at: e.at, seq: e.seq };
    expect(hashEvent(genesisHash, { ...reordered, hash: 'x' } as ChainEvent)).toBe(hashEvent(genesisHash, e));
    expect(hashEvent(genesisHash, { ...e, seq: 2 })).not.toBe(hashEvent(genesisHash, e));
    expect(hashEvent('1'.repeat(64), e)).not.toBe(hashEvent(genesisHash, e));
  });

  it('uses a genesis hash of 64 zeros', () => {
    expect(genesisHash).toBe('0'.repeat(64));
  });
});

describe('checkpoints', () => {
  it('sign and verify {seq, hash, at}', () => {
    const checkpoint = signCheckpoint(keys.privateKeyPem, { seq: 3, hash: 'a'.repeat(64), at: event(3).at });
    expect(verifyCheckpoint(keys.publicKeyPem, checkpoint)).toBe(true);
    expect(verifyCheckpoint(keys.publicKeyPem, { ...checkpoint, seq: 4 })).toBe(false);
    expect(verifyCheckpoint(generateSigningKeyPair().publicKeyPem, checkpoint)).toBe(false);
  });
});

describe('verifyChain', () => {
  it('verifies an intact chain and reports its head', async () => {
    const { rows, checkpoints } = buildChain(20);
    expect(await verify(rows, checkpoints)).toEqual({
      ok: true,
      events: 20,
      headSeq: 20,
      headHash: rows[19]!.hash,
      checkpoints: 4,
    });
  });

  it('verifies an empty chain', async () => {
    expect(await verify([], [])).toEqual({ ok: true, events: 0, headSeq: 0, headHash: genesisHash, checkpoints: 0 });
  });

  it('tamper: modified row is detected at its seq', async () => {
    const { rows, checkpoints } = buildChain(20);
    rows[6] = { ...rows[6]!, details: { from: 'requested', to: 'closed', n: 7 } };
    expect(await verify(rows, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 7, reason: 'hash mismatch, event modified', events: 6 });
  });

  it('tamper: modified row with its own hash recomputed breaks the next link', async () => {
    const { rows, checkpoints } = buildChain(20);
    rows[6] = linkEvent(rows[6]!.prevHash, { ...rows[6]!, actor: 'user:mallory' });
    expect(await verify(rows, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 8, reason: 'broken link' });
  });

  it('tamper: deleted row is detected', async () => {
    const { rows, checkpoints } = buildChain(20);
    const gap = rows.filter((row) => row.seq !== 9);
    expect(await verify(gap, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 9, reason: 'missing event', events: 8 });
    // Renumbering the rows after the hole does not help: seq is hashed and the links no longer meet.
    const renumbered = gap.map((row) => (row.seq > 9 ? { ...row, seq: row.seq - 1 } : row));
    expect(await verify(renumbered, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 9 });
  });

  it('tamper: inserted row is detected', async () => {
    const { rows, checkpoints } = buildChain(20);
    // A well-linked forgery claiming seq 7, slipped in between the real rows 6 and 7.
    const forged = linkEvent(rows[5]!.hash, { ...event(7), action: 'grant.approve', actor: 'user:mallory' });
    const inserted = [...rows.slice(0, 6), forged, ...rows.slice(6)];
    expect(await verify(inserted, checkpoints)).toMatchObject({
      ok: false,
      firstBadSeq: 7,
      reason: 'duplicate or out-of-order event',
    });
    // Shifting the later rows up by one leaves the real row 7 (now 8) pointing at row 6.
    const shifted = [...rows.slice(0, 6), forged, ...rows.slice(6).map((row) => ({ ...row, seq: row.seq + 1 }))];
    expect(await verify(shifted, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 8, reason: 'broken link' });
    // Landing exactly on a checkpoint's seq, the signed checkpoint catches it first.
    const onCheckpoint = linkEvent(rows[3]!.hash, { ...event(5), actor: 'user:mallory' });
    expect(await verify([...rows.slice(0, 4), onCheckpoint, ...rows.slice(4)], checkpoints)).toMatchObject({
      ok: false,
      firstBadSeq: 1,
      reason: 'chain rewritten before checkpoint 5',
    });
  });

  it('tamper: reordered rows are detected', async () => {
    const { rows, checkpoints } = buildChain(20);
    const swapped = [...rows];
    [swapped[3], swapped[4]] = [rows[4]!, rows[3]!];
    expect(await verify(swapped, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'missing event' });
    // Swapping the contents but keeping the seq numbers in place changes what seq 4 hashes to.
    const contentSwapped = [...rows];
    contentSwapped[3] = { ...rows[4]!, seq: 4 };
    contentSwapped[4] = { ...rows[3]!, seq: 5 };
    expect(await verify(contentSwapped, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 4 });
  });

  it('tamper: a fully recomputed (re-hashed) chain is detected through the signed checkpoints', async () => {
    const { rows, checkpoints } = buildChain(20);
    const edited = [...rows];
    edited[11] = { ...rows[11]!, details: { note: 'nothing to see here' } };
    const rewritten = relink(edited, 11);
    // Every link and hash is consistent again; only the checkpoint at seq 15 knows better.
    expect(await verify(rewritten, [])).toMatchObject({ ok: true });
    expect(await verify(rewritten, checkpoints)).toMatchObject({
      ok: false,
      firstBadSeq: 11,
      reason: 'chain rewritten before checkpoint 15',
      events: 15,
    });
  });

  it('tamper: truncated tail is detected through a checkpoint', async () => {
    const { rows, checkpoints } = buildChain(20);
    expect(await verify(rows.slice(0, 17), checkpoints)).toMatchObject({
      ok: false,
      firstBadSeq: 18,
      reason: 'events deleted after seq 17',
      events: 17,
    });
    expect(await verify([], checkpoints)).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'events deleted after seq 0' });
  });

  it('tamper: forged checkpoint signature is detected', async () => {
    const { rows, checkpoints } = buildChain(20);
    const attacker = generateSigningKeyPair();
    const forged = [...checkpoints];
    forged[1] = signCheckpoint(attacker.privateKeyPem, { seq: 10, hash: rows[9]!.hash, at: rows[9]!.at });
    expect(await verify(rows, forged)).toMatchObject({ ok: false, firstBadSeq: 10, reason: 'bad checkpoint signature' });
    // A forged checkpoint beyond the end is not taken as proof of deletion.
    const beyond = signCheckpoint(attacker.privateKeyPem, { seq: 25, hash: 'f'.repeat(64), at: rows[19]!.at });
    expect(await verify(rows, [...checkpoints, beyond])).toMatchObject({ ok: false, firstBadSeq: 25, reason: 'bad checkpoint signature' });
    // An altered hash in a genuine checkpoint no longer matches its signature.
    const altered = checkpoints.map((c) => (c.seq === 5 ? { ...c, hash: rows[5]!.hash } : c));
    expect(await verify(rows, altered)).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'bad checkpoint signature' });
  });

  it('requires seq 1 to start from the genesis hash', async () => {
    const { rows } = buildChain(3);
    expect(await verify(rows.slice(1), [])).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'missing event' });
    const detached = relink(rows);
    detached[0] = { ...detached[0]!, prevHash: 'a'.repeat(64) };
    expect(await verify(detached, [])).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'broken link' });
  });

  it('reports malformed rows and checkpoints instead of throwing', async () => {
    const { rows, checkpoints } = buildChain(5);
    const broken = [...rows];
    broken[2] = { ...rows[2]!, details: null } as unknown as ChainRow;
    expect(await verify(broken, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'malformed event' });
    const badHash = [...rows];
    badHash[1] = { ...rows[1]!, hash: 'XYZ' };
    expect(await verify(badHash, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'malformed event' });
    const infinite = [...rows];
    infinite[3] = { ...rows[3]!, details: { n: Number.POSITIVE_INFINITY } };
    expect(await verify(infinite, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 4 });
    const badCheckpoint = { ...checkpoints[0]!, seq: 0 };
    expect(await verify(rows, [badCheckpoint])).toMatchObject({ ok: false, firstBadSeq: 0, reason: 'malformed checkpoint' });
  });

  it('accepts checkpoints in any order', async () => {
    const { rows, checkpoints } = buildChain(20);
    expect(await verify(rows, [...checkpoints].reverse())).toMatchObject({ ok: true, checkpoints: 4 });
  });

  it('verifies an intact chain of 10k events streamed from an async iterable', async () => {
    const { rows, checkpoints } = buildChain(10_000, 100);
    async function* stream(): AsyncGenerator<ChainRow> {
      for (const row of rows) {
        await Promise.resolve(); // as a paging store cursor would
        yield row;
      }
    }
    const result = await verify(stream(), checkpoints);
    expect(result).toEqual({ ok: true, events: 10_000, headSeq: 10_000, headHash: rows[9_999]!.hash, checkpoints: 100 });
  });
});

// issue 13 (audit): stored rows hashed from their canonical text, batched linking, pages.
describe('stored rows (canonical details text)', () => {
  const stored = (rows: readonly ChainRow[]): StoredChainRow[] =>
    rows.map(({ details, ...row }) => ({ ...row, detailsJson: canonicalJson(details) }));

  it('canonicalEventText is canonicalJson of the six fields, byte for byte, whatever the strings hold', () => {
    const odd = { seq: 12, at: '2025-03-01T12:00:00.000Z', actor: 'Zoë "x" \\ \u2028', action: 'grant.requested', subject: 'gr_\ud83d\ude00\n' };
    const details = { z: [1, 2.5, -0, 1e21, null], a: { y: 'é', b: true }, 'é': '\u0001', '10': 'n', '9': 'm' };
    expect(canonicalEventText(odd, canonicalJson(details))).toBe(canonicalJson({ ...odd, details }));
    expect(hashCanonicalEvent(genesisHash, odd, canonicalJson(details))).toBe(hashEvent(genesisHash, { ...odd, details }));
  });

  // issue 13 (verify): strings with nothing to escape are only quoted; the rest go through JSON.stringify.
  it('canonicalEventText quotes each string as canonicalJson does: every control character, quote, backslash, lone and paired surrogates', () => {
    const odd = [...Array.from({ length: 0x30 }, (_, code) => String.fromCharCode(code)), '"', '\\', '\u007f', '\u2028', '\ud800', '\udfff', '\udc00\ud800', '\ud83d\ude00', 'é', ''];
    for (const ch of odd) {
      const fields = { seq: 3, at: `2025${ch}`, actor: `a${ch}b`, action: ch, subject: `${ch}${ch}z` };
      expect(canonicalEventText(fields, '{}')).toBe(canonicalJson({ ...fields, details: {} }));
    }
  });

  it('linkEvents gives the chain linkEvent gives one event at a time, with the canonical details text', () => {
    const events = Array.from({ length: 25 }, (_, i) => event(i + 1));
    const batched = linkEvents(genesisHash, events);
    let prev = genesisHash;
    for (const [i, e] of events.entries()) {
      const single = linkEvent(prev, e);
      expect(batched[i]).toStrictEqual({ ...single, detailsJson: canonicalJson(e.details) });
      prev = single.hash;
    }
  });

  it('verifies an intact stored chain, in pages too', async () => {
    const { rows, checkpoints } = buildChain(40);
    const result = await verify(stored(rows), checkpoints);
    expect(result).toStrictEqual(await verify(rows, checkpoints));
    expect(result.ok).toBe(true);
    const pages = [stored(rows.slice(0, 13)), stored(rows.slice(13, 30)), [], stored(rows.slice(30))];
    expect(await verifyChainPages(pages, checkpoints, keys.publicKeyPem)).toStrictEqual(result);
  });

  it('accepts a row written before issue 13 in another JSON spelling of the same details', async () => {
    const { rows, checkpoints } = buildChain(10);
    const legacy = stored(rows).map((row, i) => (i === 3 ? { ...row, detailsJson: JSON.stringify({ to: 'active', n: 4, from: 'requested' }, null, 1) } : row));
    expect(legacy[3]!.detailsJson).not.toBe(canonicalJson(rows[3]!.details));
    expect((await verify(legacy, checkpoints)).ok).toBe(true);
  });

  it('tamper: a changed details text is detected at its seq', async () => {
    const { rows, checkpoints } = buildChain(10);
    const changed = stored(rows).map((row) => (row.seq === 6 ? { ...row, detailsJson: row.detailsJson.replace('"active"', '"revoked"') } : row));
    expect(await verify(changed, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 6, reason: 'hash mismatch, event modified' });
  });

  it('tamper: bytes moved between the details text and a neighbouring field are detected', async () => {
    const { rows, checkpoints } = buildChain(10);
    const row = stored(rows)[4]!;
    // The same bytes after `"details":`, split differently: the subject cannot absorb them.
    const moved = { ...row, detailsJson: `${row.detailsJson},"seq":${row.seq},"subject":${JSON.stringify(row.subject)}`.slice(0, -1), subject: '' };
    const tampered = stored(rows).map((r) => (r.seq === 5 ? moved : r));
    expect(await verify(tampered, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('tamper: a removed, a reordered and an unparsable stored row are named', async () => {
    const { rows, checkpoints } = buildChain(10);
    const all = stored(rows);
    expect(await verify(all.filter((row) => row.seq !== 4), checkpoints)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'missing event' });
    const swapped = [...all.slice(0, 3), all[4]!, all[3]!, ...all.slice(5)];
    expect(await verify(swapped, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'missing event' });
    const reordered = [...all.slice(0, 4), all[2]!, ...all.slice(4)];
    expect(await verify(reordered, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'duplicate or out-of-order event' });
    const unparsable = all.map((row) => (row.seq === 7 ? { ...row, detailsJson: '{"n":' } : row));
    expect(await verify(unparsable, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 7, reason: 'malformed event (details cannot be canonicalized)' });
    const notObject = all.map((row) => (row.seq === 7 ? { ...row, detailsJson: '[1]' } : row));
    expect(await verify(notObject, checkpoints)).toMatchObject({ ok: false, firstBadSeq: 7 });
  });

  it('tamper: a forged checkpoint signature is detected over stored rows, once per checkpoint', async () => {
    const { rows, checkpoints } = buildChain(10);
    const forged = checkpoints.map((c) => (c.seq === 10 ? { ...c, signature: signCheckpoint(generateSigningKeyPair().privateKeyPem, c).signature } : c));
    expect(await verify(stored(rows), forged)).toMatchObject({ ok: false, firstBadSeq: 10, reason: 'bad checkpoint signature' });
    expect(await verifyChain(stored(rows), checkpoints, 'not a key')).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'bad checkpoint signature' });
  });

  it('tamper: a stored chain re-hashed from its canonical texts is caught by the checkpoints', async () => {
    const { rows, checkpoints } = buildChain(10);
    const rewritten = relink(rows.map((row) => (row.seq === 7 ? { ...row, details: { ...row.details, to: 'revoked' } } : row)), 6);
    expect(await verify(stored(rewritten), checkpoints)).toMatchObject({ ok: false, firstBadSeq: 6, reason: 'chain rewritten before checkpoint 10' });
  });
});
