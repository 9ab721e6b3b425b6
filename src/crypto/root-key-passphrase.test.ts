import { describe, expect, it } from 'vitest';
import { generateRootKey, rootKeyCheck, rootKeyCheckMatches } from './root-key-check.js';
import { openWithPassphrase, passphraseKdfMinimum, sealWithPassphrase } from './root-key-passphrase.js';

// Real argon2id at the production parameters (64 MiB, 3 passes): a few hundred ms per call.
describe('passphrase seal (argon2id + AES-256-GCM)', () => {
  const passphrase = 'correct horse battery staple';

  it('round trip: the passphrase opens the root key it sealed', async () => {
    const rootKey = generateRootKey();
    const seal = await sealWithPassphrase(rootKey, passphrase);
    expect((await openWithPassphrase(seal, passphrase)).equals(rootKey)).toBe(true);
  });

  it('records OWASP-or-stronger argon2id parameters and a random 16-byte salt, and no secret', async () => {
    const rootKey = generateRootKey();
    const a = await sealWithPassphrase(rootKey, passphrase);
    const b = await sealWithPassphrase(rootKey, passphrase);
    expect(a.kdf).toMatchObject({ alg: 'argon2id', m: 65_536, t: 3, p: 1 });
    expect(a.kdf.m).toBeGreaterThanOrEqual(passphraseKdfMinimum.m);
    expect(Buffer.from(a.kdf.salt, 'base64')).toHaveLength(16);
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    const text = JSON.stringify(a);
    expect(text).not.toContain(rootKey.toString('base64'));
    expect(text).not.toContain(rootKey.toString('hex'));
    expect(text).not.toContain(passphrase);
  });

  it('a wrong passphrase is refused with a clear error', async () => {
    const seal = await sealWithPassphrase(generateRootKey(), passphrase);
    await expect(openWithPassphrase(seal, 'correct horse battery stapler')).rejects.toMatchObject({ code: 'crypto', message: expect.stringMatching(/wrong passphrase/) });
  });

  it('tamper: an altered wrapped key or lowered KDF parameters do not open', async () => {
    const seal = await sealWithPassphrase(generateRootKey(), passphrase);
    const ct = Buffer.from(seal.wrapped.ct, 'base64');
    ct[0] = (ct[0] ?? 0) ^ 1;
    await expect(openWithPassphrase({ ...seal, wrapped: { ...seal.wrapped, ct: ct.toString('base64') } }, passphrase)).rejects.toMatchObject({ code: 'crypto' });
    await expect(openWithPassphrase({ ...seal, kdf: { ...seal.kdf, t: 1 } }, passphrase)).rejects.toMatchObject({ code: 'crypto' });
  });

  it('refuses to seal with parameters below the minimum', async () => {
    await expect(sealWithPassphrase(generateRootKey(), passphrase, { m: 19_456, t: 2, p: 1 })).rejects.toMatchObject({ code: 'validation' });
  });

  it('the key check value identifies a key without revealing it', () => {
    const key = generateRootKey();
    expect(rootKeyCheckMatches(key, rootKeyCheck(key))).toBe(true);
    expect(rootKeyCheckMatches(generateRootKey(), rootKeyCheck(key))).toBe(false);
    expect(rootKeyCheckMatches(key, 'not-a-check')).toBe(false);
  });
});
