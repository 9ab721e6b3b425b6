import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { constantTimeEqual, generateApiToken, generatePassword, hashToken, newId } from './tokens.js';

describe('generateApiToken', () => {
  it('is bg_ + 32 random bytes in base64url', () => {
    const token = generateApiToken();
    expect(token).toMatch(/^bg_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(3), 'base64url').length).toBe(32);
    expect(generateApiToken()).not.toBe(token);
  });
});

describe('hashToken', () => {
  it('is the SHA-256 hex of the token', () => {
    expect(hashToken('bg_abc')).toBe(createHash('sha256').update('bg_abc').digest('hex'));
    expect(hashToken('bg_abc')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('constantTimeEqual', () => {
  it('compares strings, including different lengths, without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('é', 'e\u0301')).toBe(false);
  });
});

describe('generatePassword', () => {
  it('has the requested length and only letters, digits, - and _', () => {
    expect(generatePassword()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generatePassword(16)).toHaveLength(16);
    expect(generatePassword(200)).toHaveLength(200);
  });

  it('always satisfies common server password policies', () => {
    for (let i = 0; i < 500; i += 1) {
      const password = generatePassword(16);
      expect(password).toMatch(/^[A-Za-z0-9]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[-_]/);
    }
  });

  it('uses the whole alphabet roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i += 1) {
      for (const c of generatePassword(64).slice(1)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(64);
    // 400 * 63 / 64 ≈ 394 per symbol; a biased mapping would push some far outside this band.
    for (const count of counts.values()) expect(count).toBeGreaterThan(250);
  });

  it('refuses a length that is too short, too long or not an integer', () => {
    for (const length of [0, 8, 15, 1025, 20.5, Number.NaN]) {
      expect(() => generatePassword(length)).toThrow(AppError);
    }
  });
});

describe('newId', () => {
  it('is prefix_ + 26 lowercase base32 symbols', () => {
    const id = newId('gr_');
    expect(id).toMatch(/^gr_[a-z2-7]{26}$/);
    expect(encodeURIComponent(id)).toBe(id);
    expect(newId('gr_')).not.toBe(id);
  });

  it('does not repeat across many draws', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('ev_')));
    expect(ids.size).toBe(10_000);
  });

  it('refuses a prefix that would make ids ambiguous or unsafe in URLs', () => {
    for (const prefix of ['', 'gr', 'gr__', '_', 'GR_', '1x_', 'a/b_', `${'x'.repeat(17)}_`]) {
      expect(() => newId(prefix)).toThrow(AppError);
    }
  });
});
