import { describe, expect, it } from 'vitest';
import { generateRootKey, rootKeyCheck } from './root-key-check.js';
import { combineUnsealShares, decodeUnsealShare, splitRootKey, unsealShareFingerprint } from './root-key-shares.js';

describe('root key unseal shares', () => {
  it('any k of n shares rebuild the root key; the key check value proves it', async () => {
    const rootKey = generateRootKey();
    const set = await splitRootKey(rootKey, 5, 3);
    expect(set.shares).toHaveLength(5);
    const decoded = set.shares.map(decodeUnsealShare);
    expect(decoded.map((d) => d.index)).toEqual([1, 2, 3, 4, 5]);
    expect(decoded.every((d) => d.setId === set.setId && d.threshold === 3 && d.total === 5)).toBe(true);
    expect(decoded.map((d) => unsealShareFingerprint(d.share))).toEqual(set.fingerprints);
    for (const pick of [[0, 1, 2], [2, 3, 4], [0, 2, 4]]) {
      const key = await combineUnsealShares(pick.map((i) => decoded[i]!.share), rootKeyCheck(rootKey));
      expect(key.equals(rootKey)).toBe(true);
    }
  });

  it('k-1 shares, or shares of two sets, are refused', async () => {
    const rootKey = generateRootKey();
    const a = (await splitRootKey(rootKey, 3, 3)).shares.map(decodeUnsealShare);
    const b = (await splitRootKey(rootKey, 3, 3)).shares.map(decodeUnsealShare);
    await expect(combineUnsealShares([a[0]!.share, a[1]!.share], rootKeyCheck(rootKey))).rejects.toMatchObject({ code: 'crypto' });
    await expect(combineUnsealShares([a[0]!.share, a[1]!.share, b[2]!.share], rootKeyCheck(rootKey))).rejects.toMatchObject({ code: 'crypto' });
  });

  it('a typo is caught by the checksum; line breaks of a paper copy are ignored', async () => {
    const share = (await splitRootKey(generateRootKey(), 3, 2)).shares[0]!;
    expect(decodeUnsealShare(`${share.slice(0, 20)}\n  ${share.slice(20)}\n`).index).toBe(1);
    const typo = share.slice(0, 15) + (share[15] === 'A' ? 'B' : 'A') + share.slice(16);
    expect(() => decodeUnsealShare(typo)).toThrow(/checksum/);
    expect(() => decodeUnsealShare('bgshare1.abc.def')).toThrow(/not a Breakglass unseal share/);
  });

  it('refuses thresholds that are not a quorum', async () => {
    await expect(splitRootKey(generateRootKey(), 3, 1)).rejects.toMatchObject({ code: 'validation' });
    await expect(splitRootKey(generateRootKey(), 2, 3)).rejects.toMatchObject({ code: 'validation' });
  });

  it('the text form carries no more than the share: no key, short enough for paper', async () => {
    const rootKey = generateRootKey();
    const { shares } = await splitRootKey(rootKey, 2, 2);
    for (const share of shares) {
      expect(share).not.toContain(rootKey.toString('base64url'));
      expect(share.length).toBeLessThan(80);
    }
  });
});
