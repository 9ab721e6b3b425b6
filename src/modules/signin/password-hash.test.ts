import { hash, parseOptions, type Algorithm } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import {
  dummyVerify,
  dummyVerifyParameters,
  hashPassword,
  needsRehash,
  PASSWORD_MEMORY_KIB,
  PASSWORD_PARALLELISM,
  PASSWORD_TIME_COST,
  passwordSchema,
  verifyPassword,
} from './password-hash.js';

// Real argon2id at the product's parameters (19 MiB, t=2): tens of milliseconds per call.
const password = 'correct horse battery staple';

describe('a password is stored only as an argon2id hash at OWASP parameters or stronger', () => {
  it('the constants are at least OWASP\'s (19456 KiB, t=2, p=1) and the hash records them', async () => {
    expect(PASSWORD_MEMORY_KIB).toBeGreaterThanOrEqual(19_456);
    expect(PASSWORD_TIME_COST).toBeGreaterThanOrEqual(2);
    expect(PASSWORD_PARALLELISM).toBeGreaterThanOrEqual(1);
    const stored = await hashPassword(password);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain(password);
    expect(parseOptions(stored)).toMatchObject({ saltLen: 16, outputLen: 32 });
    expect(await hashPassword(password)).not.toBe(stored); // a fresh salt each time
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword(password);
    expect(await verifyPassword(stored, password)).toBe(true);
    expect(await verifyPassword(stored, password + '!')).toBe(false);
    expect(await verifyPassword(stored, '')).toBe(false);
  });

  it('the same password typed composed or decomposed (NFC) verifies', async () => {
    const composed = 'mot de passe très long';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    const stored = await hashPassword(passwordSchema.parse(decomposed));
    expect(await verifyPassword(stored, composed)).toBe(true);
  });
});

describe('a malformed stored password hash fails closed without throwing', () => {
  it.each([
    '',
    'plaintext password',
    '$argon2id$',
    '$argon2id$v=19$m=19456,t=2,p=1$',
    '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$',
    '$argon2id$v=19$m=19456,t=2,p=1$!!!$!!!',
    '$2b$12$abcdefghijklmnopqrstuu5Y3Ux1Yx0gX4yO8Dk1yH8n1L2b3c4d6', // bcrypt
  ])('%j verifies nothing', async (stored) => {
    await expect(verifyPassword(stored, password)).resolves.toBe(false);
    expect(needsRehash(stored)).toBe(true);
  });

  it('an argon2i hash of the right password is refused (not a variant we write)', async () => {
    const argon2i = await hash(password, { algorithm: 1 as Algorithm, memoryCost: 19_456, timeCost: 2 });
    expect(await verifyPassword(argon2i, password)).toBe(false);
  });
});

describe('a hash below the current parameters needs a rehash', () => {
  it.each([
    ['less memory', { memoryCost: 8_192, timeCost: 2, parallelism: 1 }],
    ['fewer passes', { memoryCost: 19_456, timeCost: 1, parallelism: 1 }],
  ])('%s', async (_label, params) => {
    const weak = await hash(password, { algorithm: 2 as Algorithm, ...params });
    expect(await verifyPassword(weak, password)).toBe(true);
    expect(needsRehash(weak)).toBe(true);
  });

  it('a current or stronger hash does not', async () => {
    expect(needsRehash(await hashPassword(password))).toBe(false);
    const stronger = await hash(password, { algorithm: 2 as Algorithm, memoryCost: 32_768, timeCost: 3, parallelism: 1 });
    expect(needsRehash(stronger)).toBe(false);
  });
});

describe('an unknown user costs the same password verification as a known one', () => {
  it('dummyVerify answers false, for any password, after verifying against a hash of the current parameters', async () => {
    await expect(dummyVerify(password)).resolves.toBe(false);
    await expect(dummyVerify('')).resolves.toBe(false);
    expect(dummyVerifyParameters()).toEqual({
      memoryCost: PASSWORD_MEMORY_KIB,
      timeCost: PASSWORD_TIME_COST,
      parallelism: PASSWORD_PARALLELISM,
      outputLen: 32,
    });
  });
});

describe('a password is validated at the edge', () => {
  it('counts code points after NFC: 15 to 1024', () => {
    expect(passwordSchema.safeParse('a'.repeat(14)).success).toBe(false);
    expect(passwordSchema.safeParse('a'.repeat(15)).success).toBe(true);
    expect(passwordSchema.safeParse('😀'.repeat(15)).success).toBe(true); // 30 UTF-16 units, 15 characters
    expect(passwordSchema.safeParse('e\u0301'.repeat(15)).success).toBe(true); // NFC makes 15 'é'
    expect(passwordSchema.safeParse('😀'.repeat(1024)).success).toBe(true);
    expect(passwordSchema.safeParse('a'.repeat(1025)).success).toBe(false);
    expect(passwordSchema.safeParse(123456789012345).success).toBe(false);
  });

  it('the error names the rule, never the password', () => {
    const secret = 'short-secret';
    const result = passwordSchema.safeParse(secret);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error)).not.toContain(secret);
  });
});
