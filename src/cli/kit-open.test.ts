import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type * as crypto from '../crypto/index.js';
import { custodianKeyId, encodeShare, generateCustodianKeyPair, kitBinding, sealToPublicKey, shareFingerprint, splitCustodianKey } from '../crypto/index.js';
import { runCli, type CliDeps } from './program.js';

// Captures the key `kit open` rebuilds, to prove it is wiped after use.
const rebuilt: Buffer[] = [];
vi.mock('../crypto/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof crypto>();
  return {
    ...original,
    combineCustodianShares: async (...args: Parameters<typeof original.combineCustodianShares>) => {
      const key = await original.combineCustodianShares(...args);
      rebuilt.push(key);
      return key;
    },
  };
});

const password = 'S3cret-offline-pw!';

/** A real ceremony (X25519 key, Shamir 2-of-3, text shares) and the kit the server would serve. */
async function ceremony(account = 'pg-vault', holders = ['carol', 'dave', 'erin'], threshold = 2) {
  const pair = generateCustodianKeyPair();
  const kid = custodianKeyId(pair.publicKey);
  const raw = await splitCustodianKey(pair.privateKey, holders.length, threshold);
  const shares: Record<string, string> = {};
  holders.forEach((holder, i) => (shares[holder] = encodeShare({ kid, account, holder, threshold, total: holders.length, share: raw[i]! })));
  const aad = 'account:acc_01J9:secret:v3' + kitBinding({ account, username: 'bg_vault', target: { type: 'postgres', host: '127.0.0.1', port: 5432 } });
  const kit = {
    format: 'breakglass-kit',
    version: 1,
    account,
    username: 'bg_vault',
    target: { name: 'prod-pg', type: 'postgres', host: '127.0.0.1', port: 5432 },
    kid,
    publicKey: pair.publicKey,
    threshold,
    custodians: holders.map((name, i) => ({ name, fingerprint: shareFingerprint(raw[i]!) })),
    kitSerial: `${kid}.3`,
    secretVersion: 3,
    aad,
    sealed: sealToPublicKey(pair.publicKey, password, aad),
    issuedAt: '2025-06-01T10:00:00.000Z',
  };
  return { pair, kid, raw, shares, kit };
}

type Ceremony = Awaited<ReturnType<typeof ceremony>>;

let dir: string;
let main: Ceremony;
const allShares: string[] = [];

const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** runCli with a fetch that fails the test if the offline command tries the network. */
async function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    init: () => Promise.reject(new Error('not offline')),
    serve: () => Promise.reject(new Error('not offline')),
    verifyFile: () => Promise.reject(new Error('not offline')),
    verifyDataDir: () => Promise.reject(new Error('not offline')),
    env: {},
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: () => Promise.reject(new Error('kit open must not use the network')),
    stdoutIsTTY: false,
    // A day after the kit was issued: within the default --max-age, so no staleness warning.
    now: () => new Date('2025-06-02T10:00:00.000Z'),
  };
  const code = await runCli(['node', 'breakglass', 'kit', 'open', ...args], deps);
  // I3: whatever happens, no share (nor a large piece of one) is printed.
  for (const share of allShares) {
    const payload = share.split('.')[1]!;
    expect(stdout + stderr).not.toContain(payload.slice(10, 40));
  }
  return { code, stdout, stderr };
}

const shareFiles = (...holders: string[]) => holders.flatMap((holder) => ['--share-file', file(`share-${holder}.txt`, `${main.shares[holder]}\n`)]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bg-kit-open-'));
  main = await ceremony();
  allShares.push(...Object.values(main.shares));
  file('sealed.json', JSON.stringify(main.kit, null, 2));
});

const sealed = () => ['--sealed', join(dir, 'sealed.json')];

describe('kit open: offline, k of n custodians', () => {
  it('any k shares give the credential; --json prints exactly {username, password}; the rebuilt key is wiped', async () => {
    rebuilt.length = 0;
    for (const pair of [['carol', 'dave'], ['dave', 'erin'], ['erin', 'carol'], ['carol', 'dave', 'erin']]) {
      const result = await run(...sealed(), ...shareFiles(...pair), '--json');
      expect(result.code, pair.join('+')).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ username: 'bg_vault', password });
    }
    expect(rebuilt).toHaveLength(4);
    for (const key of rebuilt) expect(key.equals(Buffer.alloc(32))).toBe(true);
  });

  it('for people: the credential, then a warning to report the use and have it rotated', async () => {
    const result = await run(...sealed(), ...shareFiles('carol', 'erin'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/username\s+bg_vault/);
    expect(result.stdout).toMatch(new RegExp(`password\\s+${password}`));
    expect(result.stderr).toContain('Report the use');
    expect(result.stderr).toContain('rotated');
  });

  it('a share typed from paper, in groups and on several lines, works', async () => {
    const groups = main.shares['dave']!.match(/.{1,5}/g)!.join(' ').replace(/((?:\S+ ){6})/g, '$1\n  ');
    const result = await run(...sealed(), '--share-file', file('typed-dave.txt', groups), ...shareFiles('carol'), '--json');
    expect(result.code).toBe(0);
  });

  it('k-1 shares: exit 2, "this kit needs 2 shares, got 1"; none: got 0', async () => {
    const one = await run(...sealed(), ...shareFiles('carol'));
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('this kit needs 2 shares, got 1');
    expect(one.stdout).toBe('');
    expect((await run(...sealed())).stderr).toContain('this kit needs 2 shares, got 0');
  });

  it('the same custodian twice is refused, even from two files', async () => {
    const twice = await run(...sealed(), ...shareFiles('carol'), '--share-file', file('carol-copy.txt', main.shares['carol']!));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/the share of carol is given twice \(.*share-carol\.txt and .*carol-copy\.txt\)/);
  });

  it('I3: tampered sealed ciphertext does not open (exit 1), and nothing is printed on stdout', async () => {
    const parsed = JSON.parse(main.kit.sealed) as Record<string, string>;
    const ct = Buffer.from(parsed['ct']!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    const tampered = { ...main.kit, sealed: JSON.stringify({ ...parsed, ct: ct.toString('base64url') }) };
    const result = await run('--sealed', file('tampered.json', JSON.stringify(tampered)), ...shareFiles('carol', 'dave'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot open the sealed credential: the kit file is damaged or was altered');
    expect(result.stdout).toBe('');
    const rebound = await run('--sealed', file('aad.json', JSON.stringify({ ...main.kit, aad: 'account:acc_OTHER:secret:v3' })), ...shareFiles('carol', 'dave'));
    expect(rebound.code).toBe(1);
  });

  it('security: a kit whose displayed target was altered does not open (no password typed into a host an attacker chose)', async () => {
    const redirected = { ...main.kit, target: { ...main.kit.target, host: 'evil.example.net' } };
    const result = await run('--sealed', file('redirect.json', JSON.stringify(redirected)), ...shareFiles('carol', 'dave'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not match its seal');
    expect(result.stdout).not.toContain(password);
    // Altering the associated data to match the new host breaks the seal itself.
    const resealed = { ...redirected, aad: 'account:acc_01J9:secret:v3' + kitBinding({ account: 'pg-vault', username: 'bg_vault', target: redirected.target }) };
    expect((await run('--sealed', file('redirect2.json', JSON.stringify(resealed)), ...shareFiles('carol', 'dave'))).code).toBe(1);
  });

  it('a kit whose key id or serial was altered is refused before any share is used', async () => {
    const altered = await run('--sealed', file('kid.json', JSON.stringify({ ...main.kit, kitSerial: 'x.3' })), ...shareFiles('carol', 'dave'));
    expect(altered.code).toBe(2);
    expect(altered.stderr).toContain('is damaged or altered');
    const notKit = await run('--sealed', file('other.json', '{"shares":{}}'), ...shareFiles('carol', 'dave'));
    expect(notKit.code).toBe(2);
    expect(notKit.stderr).toContain('is not a Breakglass kit');
    const missing = await run('--sealed', join(dir, 'nope.json'), ...shareFiles('carol', 'dave'));
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toContain('nope.json: no such file');
  });
});

describe('kit open: a wrong share is refused clearly, naming its file', () => {
  it('a share of another account', async () => {
    const other = await ceremony('mysql-vault');
    allShares.push(...Object.values(other.shares));
    const result = await run(...sealed(), '--share-file', file('other-carol.txt', other.shares['carol']!), ...shareFiles('dave'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/other-carol\.txt: share of carol is for account mysql-vault, this kit is for pg-vault/);
  });

  it('a share of an older ceremony of the same account', async () => {
    const older = await ceremony('pg-vault');
    allShares.push(...Object.values(older.shares));
    const result = await run(...sealed(), ...shareFiles('dave'), '--share-file', file('old-carol.txt', older.shares['carol']!));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'old-carol.txt')}: share of carol is from an older ceremony (kid ${older.kid}), this kit needs kid ${main.kid}`);
  });

  it("a share filed under one custodian's name with another's bytes does not match the fingerprint", async () => {
    const forged = encodeShare({ kid: main.kid, account: 'pg-vault', holder: 'carol', threshold: 2, total: 3, share: main.raw[1]! });
    allShares.push(forged);
    const result = await run(...sealed(), '--share-file', file('forged.txt', forged), ...shareFiles('erin'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("does not match carol's fingerprint in the kit");
  });

  it('a corrupted checksum (a typo)', async () => {
    const share = main.shares['erin']!;
    const at = 40;
    const typo = share.slice(0, at) + (share[at] === 'A' ? 'B' : 'A') + share.slice(at + 1);
    const result = await run(...sealed(), ...shareFiles('carol'), '--share-file', file('typo.txt', typo));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/typo\.txt: the share is damaged: its checksum does not match \(check for a typo\)/);
  });

  it('one share per file: the ceremony JSON or two shares in a file are refused', async () => {
    const json = await run(...sealed(), '--share-file', file('ceremony.json', JSON.stringify({ shares: main.shares })));
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('holds JSON (the ceremony output?), not a share');
    const two = await run(...sealed(), '--share-file', file('two.txt', `${main.shares['carol']}\n${main.shares['dave']}\n`));
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('holds 2 shares; put one share per file');
    const text = await run(...sealed(), '--share-file', file('note.txt', 'carol: see the safe'), ...shareFiles('dave'));
    expect(text.stderr).toContain('this is not a Breakglass share');
  });
});
