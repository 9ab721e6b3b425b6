import { describe, expect, it } from 'vitest';
import { custodianKeyId, custodianPublicKey, generateCustodianKeyPair, openWithPrivateKey, sealToPublicKey, sealedKeyId } from './custodian-seal.js';
import { combineCustodianShares, decodeShare, encodeShare, shareFingerprint, splitCustodianKey } from './custodian-shares.js';

const aad = 'account:acc_1:secret:v1';

describe('sealing to a custodian public key', () => {
  it('round trips, binds the associated data, and differs each time', () => {
    const pair = generateCustodianKeyPair();
    const sealed = sealToPublicKey(pair.publicKey, 'hunter2-very-secret', aad);
    expect(sealed).not.toContain('hunter2');
    expect(sealToPublicKey(pair.publicKey, 'hunter2-very-secret', aad)).not.toBe(sealed);
    expect(openWithPrivateKey(pair.privateKey, sealed, aad).toString()).toBe('hunter2-very-secret');
    expect(() => openWithPrivateKey(pair.privateKey, sealed, 'account:acc_2:secret:v1')).toThrow('cannot open sealed value');
    expect(() => openWithPrivateKey(generateCustodianKeyPair().privateKey, sealed, aad)).toThrow('cannot open sealed value');
    expect(sealedKeyId(sealed)).toBe(custodianKeyId(pair.publicKey));
    expect(custodianPublicKey(pair.privateKey)).toBe(pair.publicKey);
  });

  it('I3: tampered ciphertext fails to open', () => {
    const pair = generateCustodianKeyPair();
    const sealed = JSON.parse(sealToPublicKey(pair.publicKey, 'secret', aad)) as Record<string, string>;
    for (const field of ['epk', 'iv', 'ct', 'tag']) {
      const bytes = Buffer.from(sealed[field]!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      expect(() => openWithPrivateKey(pair.privateKey, JSON.stringify({ ...sealed, [field]: bytes.toString('base64url') }), aad)).toThrow('cannot open');
    }
  });
});

describe('custodian shares', () => {
  const envelope = async () => {
    const pair = generateCustodianKeyPair();
    const shares = await splitCustodianKey(pair.privateKey, 3, 2);
    return { pair, shares, kid: custodianKeyId(pair.publicKey) };
  };

  it('I4: any k shares rebuild the key; k-1 shares do not', async () => {
    const { pair, shares } = await envelope();
    expect((await combineCustodianShares([shares[0]!, shares[2]!], pair.publicKey)).equals(pair.privateKey)).toBe(true);
    expect((await combineCustodianShares([shares[1]!, shares[2]!], pair.publicKey)).equals(pair.privateKey)).toBe(true);
    await expect(combineCustodianShares([shares[0]!], pair.publicKey)).rejects.toThrow('do not rebuild');
  });

  it('shares of another ceremony do not combine into this key', async () => {
    const a = await envelope();
    const b = await envelope();
    await expect(combineCustodianShares([a.shares[0]!, b.shares[1]!], a.pair.publicKey)).rejects.toThrow('do not rebuild');
  });

  it('the text form names its account and ceremony and detects typos', async () => {
    const { shares, kid } = await envelope();
    const text = encodeShare({ kid, account: 'pg-vault', holder: 'carol', threshold: 2, total: 3, share: shares[0]! });
    expect(text.startsWith('bgshare1.')).toBe(true);
    const decoded = decodeShare(`  ${text.slice(0, 20)}\n${text.slice(20)}  `);
    expect(decoded).toMatchObject({ kid, account: 'pg-vault', holder: 'carol', threshold: 2, total: 3 });
    expect(decoded.share.equals(shares[0]!)).toBe(true);
    const typo = text.slice(0, 30) + (text[30] === 'A' ? 'B' : 'A') + text.slice(31);
    expect(() => decodeShare(typo)).toThrow('checksum');
    expect(() => decodeShare('hello')).toThrow('not a Breakglass share');
    expect(shareFingerprint(shares[0]!)).not.toBe(shareFingerprint(shares[1]!));
  });

  it('refuses a quorum that is not a quorum', async () => {
    const { pair } = await envelope();
    await expect(splitCustodianKey(pair.privateKey, 3, 1)).rejects.toThrow('threshold');
    await expect(splitCustodianKey(pair.privateKey, 2, 3)).rejects.toThrow('threshold');
  });
});
