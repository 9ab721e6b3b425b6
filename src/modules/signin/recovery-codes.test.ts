import { describe, expect, it } from 'vitest';
import { consumeRecoveryCode, hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { systemRandomBytes } from './random-bytes.js';

describe('recovery codes are human-friendly and carry 80 random bits', () => {
  it('ten codes by default, xxxx-xxxx-xxxx-xxxx in lowercase base32, all distinct', () => {
    const codes = newRecoveryCodes(systemRandomBytes);
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    expect(new Set(codes).size).toBe(10);
  });

  it('every symbol of the alphabet is drawn (1,600 symbols miss one with probability ~1e-21)', () => {
    const codes = newRecoveryCodes(systemRandomBytes, 100);
    const seen = new Set(codes.join('').replace(/-/g, ''));
    expect(seen.size).toBe(32);
  });

  it('a source that repeats itself draws again rather than issuing one code twice', () => {
    let calls = 0;
    const repeatsOnce = (size: number) => new Uint8Array(size).fill(calls++ < 2 ? 1 : 2);
    expect(newRecoveryCodes(repeatsOnce, 2)).toEqual(['bbbb-bbbb-bbbb-bbbb', 'cccc-cccc-cccc-cccc']);
  });
});

describe('a recovery code is stored only as a hash and works once only', () => {
  const codes = newRecoveryCodes(systemRandomBytes, 3);
  const stored = codes.map(hashRecoveryCode);

  it('the stored form is a SHA-256 hash that does not contain the code', () => {
    for (const [i, h] of stored.entries()) {
      expect(h).toMatch(/^[0-9a-f]{64}$/);
      expect(h).not.toContain(codes[i]!.replace(/-/g, ''));
    }
  });

  it('a code is accepted once: the remaining list drops it, and the same code is refused next time', () => {
    const first = consumeRecoveryCode(stored, codes[1]!);
    expect(first).toEqual({ ok: true, remaining: [stored[0], stored[2]] });
    if (!first.ok) return;
    expect(consumeRecoveryCode(first.remaining, codes[1]!)).toEqual({ ok: false });
    expect(consumeRecoveryCode(first.remaining, codes[0]!)).toEqual({ ok: true, remaining: [stored[2]] });
  });

  it('case, dashes and spaces do not matter', () => {
    const bare = codes[2]!.replace(/-/g, '');
    for (const typed of [codes[2]!.toUpperCase(), bare, ` ${bare.slice(0, 8)} ${bare.slice(8)} `, codes[2]!.replace(/-/g, '--')]) {
      expect(consumeRecoveryCode(stored, typed)).toEqual({ ok: true, remaining: [stored[0], stored[1]] });
    }
  });

  it('wrong, malformed or empty input is refused and leaves nothing to learn', () => {
    for (const typed of ['', 'aaaa-aaaa-aaaa-aaaa', codes[0]!.slice(0, -1), codes[0]! + 'a', codes[0]!.replace(/[a-z]/, '0'), 'x'.repeat(10_000)]) {
      expect(consumeRecoveryCode(stored, typed)).toEqual({ ok: false });
    }
    expect(consumeRecoveryCode([], codes[0]!)).toEqual({ ok: false });
  });

  it('a malformed stored entry matches nothing and is kept', () => {
    expect(consumeRecoveryCode(['not-a-hash', stored[0]!], codes[0]!)).toEqual({ ok: true, remaining: ['not-a-hash'] });
  });
});
