import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { openWithRootKey, rewrapDataKey, sealWithRootKey } from './envelope.js';

const rootKey = randomBytes(32);
const aad = 'account:acc_1:secret:v3';
const secret = 'correct-horse-battery-staple-42';

function expectCannotOpen(open: () => unknown): void {
  let caught: unknown;
  try {
    open();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe('crypto');
  // One vague answer for every failure.
  expect((caught as AppError).message).toBe('cannot open sealed value');
}

function mutate(sealed: string, change: (fields: Record<string, unknown>) => void): string {
  const fields = JSON.parse(sealed) as Record<string, unknown>;
  change(fields);
  return JSON.stringify(fields);
}

function flipBit(base64: unknown): string {
  const bytes = Buffer.from(base64 as string, 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('envelope encryption', () => {
  it('round-trips a string and a buffer', () => {
    expect(openWithRootKey(rootKey, sealWithRootKey(rootKey, secret, aad), aad).toString('utf8')).toBe(secret);
    const binary = randomBytes(100);
    expect(openWithRootKey(rootKey, sealWithRootKey(rootKey, binary, aad), aad)).toEqual(binary);
    expect(openWithRootKey(rootKey, sealWithRootKey(rootKey, '', aad), aad).length).toBe(0);
  });

  it('has the documented compact format', () => {
    const fields = JSON.parse(sealWithRootKey(rootKey, secret, aad)) as Record<string, unknown>;
    expect(Object.keys(fields)).toEqual(['v', 'alg', 'wk', 'wiv', 'wtag', 'iv', 'ct', 'tag']);
    expect(fields['v']).toBe(1);
    expect(fields['alg']).toBe('A256GCM');
  });

  it('fails with the wrong associated data (ciphertext moved to another row)', () => {
    const sealed = sealWithRootKey(rootKey, secret, aad);
    expectCannotOpen(() => openWithRootKey(rootKey, sealed, 'account:acc_2:secret:v3'));
    expectCannotOpen(() => openWithRootKey(rootKey, sealed, 'account:acc_1:secret:v2'));
  });

  it('fails with the wrong root key', () => {
    const sealed = sealWithRootKey(rootKey, secret, aad);
    expectCannotOpen(() => openWithRootKey(randomBytes(32), sealed, aad));
  });

  it.each(['wk', 'wiv', 'wtag', 'iv', 'ct', 'tag'])('tamper: a modified %s field fails', (field) => {
    const sealed = sealWithRootKey(rootKey, secret, aad);
    const tampered = mutate(sealed, (fields) => {
      fields[field] = flipBit(fields[field]);
    });
    expectCannotOpen(() => openWithRootKey(rootKey, tampered, aad));
  });

  it('tamper: swapping the data parts of two records fails', () => {
    const a = JSON.parse(sealWithRootKey(rootKey, 'a-secret', aad)) as Record<string, unknown>;
    const b = JSON.parse(sealWithRootKey(rootKey, 'b-secret', aad)) as Record<string, unknown>;
    const mixed = JSON.stringify({ ...a, iv: b['iv'], ct: b['ct'], tag: b['tag'] });
    expectCannotOpen(() => openWithRootKey(rootKey, mixed, aad));
  });

  it.each([
    ['not JSON', () => 'nope'],
    ['JSON null', () => 'null'],
    ['another version', (s: string) => mutate(s, (f) => (f['v'] = 2))],
    ['another algorithm', (s: string) => mutate(s, (f) => (f['alg'] = 'A128GCM'))],
    ['a missing field', (s: string) => mutate(s, (f) => delete f['wtag'])],
    ['an extra field', (s: string) => mutate(s, (f) => (f['x'] = 'y'))],
    ['a truncated tag', (s: string) => mutate(s, (f) => (f['tag'] = Buffer.from(f['tag'] as string, 'base64').subarray(0, 12).toString('base64')))],
    ['non-canonical base64', (s: string) => mutate(s, (f) => (f['ct'] = ` ${f['ct'] as string}`))],
  ])('fails on bad format: %s', (_name, make) => {
    const sealed = make(sealWithRootKey(rootKey, secret, aad));
    expectCannotOpen(() => openWithRootKey(rootKey, sealed, aad));
  });

  it('gives a different sealed value each time for the same plaintext', () => {
    const a = JSON.parse(sealWithRootKey(rootKey, secret, aad)) as Record<string, unknown>;
    const b = JSON.parse(sealWithRootKey(rootKey, secret, aad)) as Record<string, unknown>;
    for (const field of ['wk', 'wiv', 'iv', 'ct', 'tag']) expect(a[field]).not.toBe(b[field]);
  });

  it('secret-in-storage: the plaintext appears nowhere in the sealed string', () => {
    const sealed = sealWithRootKey(rootKey, secret, aad);
    const plain = Buffer.from(secret, 'utf8');
    for (const spelling of [secret, plain.toString('base64'), plain.toString('hex'), plain.toString('base64url')]) {
      expect(sealed).not.toContain(spelling);
    }
    expect(sealed).not.toContain(rootKey.toString('base64'));
  });

  it('refuses a root key that is not 32 bytes', () => {
    expect(() => sealWithRootKey(randomBytes(16), secret, aad)).toThrow('root key must be 32 bytes');
  });

  describe('rewrapDataKey', () => {
    it('moves the record to the new root key and keeps the data ciphertext', () => {
      const newRoot = randomBytes(32);
      const sealed = sealWithRootKey(rootKey, secret, aad);
      const rewrapped = rewrapDataKey(rootKey, newRoot, sealed, aad);
      expect(openWithRootKey(newRoot, rewrapped, aad).toString('utf8')).toBe(secret);
      expectCannotOpen(() => openWithRootKey(rootKey, rewrapped, aad));
      const before = JSON.parse(sealed) as Record<string, unknown>;
      const after = JSON.parse(rewrapped) as Record<string, unknown>;
      for (const field of ['iv', 'ct', 'tag']) expect(after[field]).toBe(before[field]);
      for (const field of ['wk', 'wiv', 'wtag']) expect(after[field]).not.toBe(before[field]);
    });

    it('fails with the wrong old key, the wrong aad, or a tampered record', () => {
      const sealed = sealWithRootKey(rootKey, secret, aad);
      const newRoot = randomBytes(32);
      expectCannotOpen(() => rewrapDataKey(randomBytes(32), newRoot, sealed, aad));
      expectCannotOpen(() => rewrapDataKey(rootKey, newRoot, sealed, 'account:other:secret:v3'));
      const tampered = mutate(sealed, (f) => (f['ct'] = flipBit(f['ct'])));
      expectCannotOpen(() => rewrapDataKey(rootKey, newRoot, tampered, aad));
    });
  });
});
