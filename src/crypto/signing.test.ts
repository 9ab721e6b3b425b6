import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { generateSigningKeyPair, publicKeyFingerprint, signCanonical, verifyCanonical } from './signing.js';

const pair = generateSigningKeyPair();
const value = { seq: 7, hash: 'a'.repeat(64), at: '2025-01-01T00:00:00.000Z' };

describe('Ed25519 signing over canonical JSON', () => {
  it('produces SPKI and PKCS#8 PEM keys', () => {
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('signs and verifies', () => {
    const signature = signCanonical(pair.privateKeyPem, value);
    expect(Buffer.from(signature, 'base64').length).toBe(64);
    expect(verifyCanonical(pair.publicKeyPem, value, signature)).toBe(true);
  });

  it('covers the value, not its key order', () => {
    const signature = signCanonical(pair.privateKeyPem, value);
    expect(verifyCanonical(pair.publicKeyPem, { at: value.at, hash: value.hash, seq: value.seq }, signature)).toBe(true);
  });

  it('returns false (never throws) for a changed value, another key, or a malformed signature', () => {
    const signature = signCanonical(pair.privateKeyPem, value);
    expect(verifyCanonical(pair.publicKeyPem, { ...value, seq: 8 }, signature)).toBe(false);
    expect(verifyCanonical(generateSigningKeyPair().publicKeyPem, value, signature)).toBe(false);
    const flipped = Buffer.from(signature, 'base64');
    flipped[10] = (flipped[10] ?? 0) ^ 0x80;
    expect(verifyCanonical(pair.publicKeyPem, value, flipped.toString('base64'))).toBe(false);
    expect(verifyCanonical(pair.publicKeyPem, value, '')).toBe(false);
    expect(verifyCanonical(pair.publicKeyPem, value, 'not base64 !')).toBe(false);
    expect(verifyCanonical(pair.publicKeyPem, value, signature.slice(0, 40))).toBe(false);
    expect(verifyCanonical('garbage', value, signature)).toBe(false);
    expect(verifyCanonical(pair.publicKeyPem, { n: Number.NaN }, signature)).toBe(false);
  });

  it('refuses a key of another type', () => {
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(() => signCanonical(ec.privateKey, value)).toThrow(AppError);
    expect(() => signCanonical('garbage', value)).toThrow(AppError);
    expect(verifyCanonical(ec.publicKey, value, signCanonical(pair.privateKeyPem, value))).toBe(false);
  });

  it('fingerprints a public key independently of its PEM spelling', () => {
    const fingerprint = publicKeyFingerprint(pair.publicKeyPem);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(publicKeyFingerprint(`\n${pair.publicKeyPem}\n`)).toBe(fingerprint);
    expect(publicKeyFingerprint(generateSigningKeyPair().publicKeyPem)).not.toBe(fingerprint);
    expect(() => publicKeyFingerprint('garbage')).toThrow(AppError);
  });
});
