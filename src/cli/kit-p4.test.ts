/**
 * issue 12 (P4): the kit with custodians who registered a recipient key (their shares come out
 * of the ceremony encrypted to them: `kit export --shares` must take them and `kit open
 * --identity` must open them), and `kit open` warning loudly about a sealed.json that may be
 * stale (older than --max-age, or older than a secret version known to exist).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { custodianKeyId, encodeShare, generateCustodianKeyPair, kitBinding, sealToPublicKey, shareFingerprint, splitCustodianKey } from '../crypto/index.js';
import { runCli, type CliDeps } from './program.js';

const password = 'S3cret-p4-pw!';
const holders = ['carol', 'dave', 'erin'];
const issuedAt = '2025-06-01T10:00:00.000Z';
const day = 86_400_000;

/** A ceremony as the server holds it, with carol and dave's shares encrypted to their own keys. */
async function ceremony(account = 'pg-vault') {
  const pair = generateCustodianKeyPair();
  const kid = custodianKeyId(pair.publicKey);
  const raw = await splitCustodianKey(pair.privateKey, holders.length, 2);
  const custodianKeys = { carol: generateCustodianKeyPair(), dave: generateCustodianKeyPair() } as Record<string, ReturnType<typeof generateCustodianKeyPair>>;
  const plain: Record<string, string> = {};
  const shares: Record<string, string> = {};
  holders.forEach((holder, i) => {
    plain[holder] = encodeShare({ kid, account, holder, threshold: 2, total: 3, share: raw[i]! });
    const recipient = custodianKeys[holder];
    // Exactly what runCeremony hands out for a custodian with a recipient.
    shares[holder] = recipient === undefined ? plain[holder] : `bgshare1e.${holder}.${Buffer.from(sealToPublicKey(recipient.publicKey, plain[holder], `share:${account}:${holder}`)).toString('base64url')}`;
  });
  const aad = 'account:acc_01J9:secret:v3' + kitBinding({ account, username: 'bg_vault', target: { type: 'postgres', host: '127.0.0.1', port: 5432 } });
  const kit = {
    format: 'breakglass-kit',
    version: 1,
    account,
    username: 'bg_vault',
    target: { name: 'prod-pg', type: 'postgres', host: '127.0.0.1', port: 5432 },
    kid,
    publicKey: pair.publicKey,
    threshold: 2,
    custodians: holders.map((name, i) => ({ name, fingerprint: shareFingerprint(raw[i]!) })),
    kitSerial: `${kid}.3`,
    secretVersion: 3,
    aad,
    sealed: sealToPublicKey(pair.publicKey, password, aad),
    issuedAt,
  };
  return { plain, shares, kit, custodianKeys };
}

let main: Awaited<ReturnType<typeof ceremony>>;
let other: Awaited<ReturnType<typeof ceremony>>;
let work: string;
let now = new Date(Date.parse(issuedAt) + day);
/** What the server answers for the kit; undefined: it is down. */
let serverKit: unknown;
let fetched: string[] = [];

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    init: () => Promise.reject(new Error('unused')),
    serve: () => Promise.reject(new Error('unused')),
    verifyFile: () => Promise.reject(new Error('unused')),
    verifyDataDir: () => Promise.reject(new Error('unused')),
    env: { BREAKGLASS_TOKEN: 'bgt_admin_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (args[1] === 'open' && !args.includes('--check-server')) return Promise.reject(new Error('kit open must not use the network'));
      fetched.push(url.pathname);
      if (url.pathname === '/v1/accounts/pg-vault/kit' && serverKit !== undefined) return Promise.resolve(json(200, serverKit));
      if (url.pathname === '/v1/accounts/pg-vault/kit') return Promise.reject(new TypeError('fetch failed'));
      return Promise.resolve(json(404, { error: { code: 'not_found', message: 'no such account' } }));
    },
    stdoutIsTTY: false,
    now: () => now,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  // I3: no share, plain or encrypted, is ever printed.
  for (const share of [...Object.values(main.plain), ...Object.values(main.shares)]) {
    const payload = share.split('.').reduce((a, b) => (b.length > a.length ? b : a), '');
    expect(stdout + stderr).not.toContain(payload.slice(10, 40));
  }
  return { code, stdout, stderr };
}

const file = (name: string, content: string) => {
  const path = join(work, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
const keyFile = (holder: string, c = main) => file(`${holder}-${Math.random().toString(36).slice(2)}.key`, `${c.custodianKeys[holder]!.privateKey.toString('base64url')}\n`);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bg-kit-p4-'));
  main = await ceremony();
  other = await ceremony();
  file('sealed.json', JSON.stringify(main.kit, null, 2));
});

beforeEach(() => {
  now = new Date(Date.parse(issuedAt) + day);
  serverKit = main.kit;
  fetched = [];
});

const sealed = () => ['--sealed', join(work, 'sealed.json')];

describe('issue 12 (P4): kit export --shares with shares encrypted to the custodians', () => {
  it('takes the ceremony output with encrypted shares; each envelope carries its own encrypted share and says it needs the key file', async () => {
    const shares = file('shares.json', JSON.stringify({ account: 'pg-vault', kid: 'x', threshold: 2, shares: main.shares, plaintextFor: ['erin'] }));
    const out = join(work, `kit-${Math.random().toString(36).slice(2)}`);
    const result = await run('kit', 'export', 'pg-vault', '--out', out, '--shares', shares, '--json');
    expect(result.code, result.stderr).toBe(0);
    const carol = readFileSync(join(out, 'envelope-carol.html'), 'utf8');
    // The encrypted share is printed in groups of 5; its start shows as such.
    expect(carol).toContain('bgshare1e');
    expect(carol).toContain("This share is encrypted to carol's own key");
    expect(carol).toContain('--identity KEYFILE');
    // erin registered no recipient: her envelope holds her plain share.
    const erin = readFileSync(join(out, 'envelope-erin.html'), 'utf8');
    expect(erin).not.toContain('This share is encrypted');
    expect(erin).toContain('Share of erin');
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toContain('--identity KEYFILE');
  });

  it('an encrypted share filed under another custodian, or damaged, is refused and nothing is written', async () => {
    const swapped = file('swapped.json', JSON.stringify({ shares: { ...main.shares, carol: main.shares['dave'] } }));
    const out = join(work, 'kit-refused');
    const r1 = await run('kit', 'export', 'pg-vault', '--out', out, '--shares', swapped);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('the share filed under carol belongs to dave');
    const damaged = file('damaged.json', JSON.stringify({ shares: { ...main.shares, carol: 'bgshare1e.carol.%%%' } }));
    const r2 = await run('kit', 'export', 'pg-vault', '--out', out, '--shares', damaged);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('damaged');
  });
});

describe('issue 12 (P4): kit open with encrypted shares and the custodians\' key files', () => {
  it('two encrypted shares open with their custodians\' --identity, in any order; one encrypted and one plain works too', async () => {
    const [carol, dave] = [file('carol.share', main.shares['carol']!), file('dave.share', main.shares['dave']!)];
    const both = await run('kit', 'open', ...sealed(), '--share-file', carol, '--share-file', dave, '--identity', keyFile('dave'), '--identity', keyFile('carol'), '--json');
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout)).toEqual({ username: 'bg_vault', password });
    const mixed = await run('kit', 'open', ...sealed(), '--share-file', carol, '--identity', keyFile('carol'), '--share-file', file('erin.share', main.shares['erin']!), '--json');
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(JSON.parse(mixed.stdout)).toMatchObject({ password });
  });

  it('an encrypted share without its key file, or with another custodian\'s, is refused naming what is missing', async () => {
    const [carol, dave] = [file('carol2.share', main.shares['carol']!), file('dave2.share', main.shares['dave']!)];
    const none = await run('kit', 'open', ...sealed(), '--share-file', carol, '--share-file', dave);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("encrypted to carol's key; give carol's key file with --identity");
    const wrong = await run('kit', 'open', ...sealed(), '--share-file', carol, '--share-file', dave, '--identity', keyFile('carol', other), '--identity', keyFile('dave'));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("give carol's key file");
    const notAKey = await run('kit', 'open', ...sealed(), '--share-file', carol, '--share-file', dave, '--identity', file('junk.key', 'hello'));
    expect(notAKey.code).toBe(2);
    expect(notAKey.stderr).toContain('not a custodian key file');
  });
});

describe('issue 12 (P4): kit open warns loudly about a sealed.json that may be stale', () => {
  const shares = () => ['--share-file', file('c.share', main.plain['carol']!), '--share-file', file('e.share', main.plain['erin']!)];

  it('older than --max-age (30d by default): a WARNING on stderr and `warnings` in --json; the credential is still given', async () => {
    now = new Date(Date.parse(issuedAt) + 45 * day);
    const human = await run('kit', 'open', ...sealed(), ...shares());
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(/WARNING: this kit was issued 45 days ago \(2025-06-01T10:00:00.000Z, secret version 3\)/);
    const machine = await run('kit', 'open', ...sealed(), ...shares(), '--json');
    expect(JSON.parse(machine.stdout)).toEqual({ username: 'bg_vault', password, warnings: [expect.stringContaining('issued 45 days ago')] });
    // A longer --max-age, or off, silences it; 29 days is within the default.
    expect(JSON.parse((await run('kit', 'open', ...sealed(), ...shares(), '--json', '--max-age', '60d')).stdout)).toEqual({ username: 'bg_vault', password });
    expect(JSON.parse((await run('kit', 'open', ...sealed(), ...shares(), '--json', '--max-age', 'off')).stdout)).toEqual({ username: 'bg_vault', password });
    now = new Date(Date.parse(issuedAt) + 29 * day);
    expect(JSON.parse((await run('kit', 'open', ...sealed(), ...shares(), '--json')).stdout)).toEqual({ username: 'bg_vault', password });
    const shorter = await run('kit', 'open', ...sealed(), ...shares(), '--json', '--max-age', '12h');
    expect(JSON.parse(shorter.stdout).warnings).toEqual([expect.stringContaining('issued 29 days ago')]);
    expect((await run('kit', 'open', ...sealed(), ...shares(), '--max-age', 'soon')).code).toBe(2);
  });

  it('--expect-version newer than the kit\'s secret version: a WARNING that the credential is most likely dead', async () => {
    const human = await run('kit', 'open', ...sealed(), ...shares(), '--expect-version', '5');
    expect(human.code).toBe(0);
    expect(human.stderr).toContain('WARNING: this kit seals secret version 3');
    expect(human.stderr).toContain('but version 5 exists');
    const machine = await run('kit', 'open', ...sealed(), ...shares(), '--expect-version', '5', '--json');
    expect(JSON.parse(machine.stdout).warnings).toEqual([expect.stringContaining('most likely dead')]);
    expect(JSON.parse((await run('kit', 'open', ...sealed(), ...shares(), '--expect-version', '3', '--json')).stdout)).toEqual({ username: 'bg_vault', password });
    expect((await run('kit', 'open', ...sealed(), ...shares(), '--expect-version', 'x')).code).toBe(2);
  });
});

describe('issue 12 (P4): kit open --check-server asks Breakglass for the current serial, if it answers', () => {
  const shares = () => ['--share-file', file('c3.share', main.plain['carol']!), '--share-file', file('d3.share', main.plain['dave']!)];
  const rotated = (secretVersion: number) => ({ ...main.kit, secretVersion, kitSerial: `${main.kit.kid}.${secretVersion}` });

  it('a newer secret version on the server: WARNING, and `warnings` in --json', async () => {
    serverKit = rotated(4);
    const machine = await run('kit', 'open', ...sealed(), ...shares(), '--check-server', '--json');
    expect(machine.code, machine.stderr).toBe(0);
    expect(fetched).toEqual(['/v1/accounts/pg-vault/kit']);
    expect(JSON.parse(machine.stdout)).toEqual({ username: 'bg_vault', password, warnings: [expect.stringContaining('but version 4 exists')] });
    expect(machine.stderr).toContain('WARNING: this kit seals secret version 3');
  });

  it('a newer ceremony on the server: WARNING that the envelopes are stale too', async () => {
    serverKit = { ...other.kit };
    const machine = await run('kit', 'open', ...sealed(), ...shares(), '--check-server', '--json');
    expect(machine.code, machine.stderr).toBe(0);
    expect(JSON.parse(machine.stdout).warnings).toEqual([expect.stringContaining('newer key ceremony')]);
  });

  it('the same serial: no warning; the server down: a note, and the kit opens offline as usual', async () => {
    expect(JSON.parse((await run('kit', 'open', ...sealed(), ...shares(), '--check-server', '--json')).stdout)).toEqual({ username: 'bg_vault', password });
    serverKit = undefined;
    const down = await run('kit', 'open', ...sealed(), ...shares(), '--check-server', '--json');
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toEqual({ username: 'bg_vault', password });
    expect(down.stderr).toContain('could not check the kit with Breakglass');
  });
});
