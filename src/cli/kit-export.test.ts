import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { custodianKeyId, encodeShare, generateCustodianKeyPair, kitBinding, sealToPublicKey, shareFingerprint, splitCustodianKey } from '../crypto/index.js';
import { shareLines, shareQrSvg } from './kit/kit-envelope.js';
import { runCli, type CliDeps } from './program.js';

const password = 'S3cret-exported-pw!';
const holders = ['carol', 'dave', 'erin'];

/** A real ceremony (X25519 key, Shamir 2-of-3, text shares) and the kit the server would serve. */
async function ceremony(account = 'pg-vault') {
  const pair = generateCustodianKeyPair();
  const kid = custodianKeyId(pair.publicKey);
  const raw = await splitCustodianKey(pair.privateKey, holders.length, 2);
  const shares: Record<string, string> = {};
  holders.forEach((holder, i) => (shares[holder] = encodeShare({ kid, account, holder, threshold: 2, total: 3, share: raw[i]! })));
  const kitAt = (secretVersion: number) => {
    const aad = `account:acc_01J9:secret:v${secretVersion}` + kitBinding({ account, username: 'bg_vault', target: { type: 'postgres', host: '127.0.0.1', port: 5432 } });
    return {
      format: 'breakglass-kit',
      version: 1,
      account,
      username: 'bg_vault',
      target: { name: 'prod-pg', type: 'postgres', host: '127.0.0.1', port: 5432 },
      kid,
      publicKey: pair.publicKey,
      threshold: 2,
      custodians: holders.map((name, i) => ({ name, fingerprint: shareFingerprint(raw[i]!) })),
      kitSerial: `${kid}.${secretVersion}`,
      secretVersion,
      aad,
      sealed: sealToPublicKey(pair.publicKey, password, aad),
      issuedAt: '2025-06-01T10:00:00.000Z',
    };
  };
  return { kid, shares, kit: kitAt(3), kitAt };
}

type Ceremony = Awaited<ReturnType<typeof ceremony>>;

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

let main: Ceremony;
let other: Ceremony;
let served: unknown;
let sent: string[];
let work: string;

async function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    init: () => Promise.reject(new Error('unused')),
    serve: () => Promise.reject(new Error('unused')),
    verifyFile: () => Promise.reject(new Error('unused')),
    verifyDataDir: () => Promise.reject(new Error('unused')),
    env: { BREAKGLASS_TOKEN: 'bgt_carol_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: (input) => {
      const url = new URL(input instanceof Request ? input.url : input);
      sent.push(url.pathname);
      if (url.pathname === '/v1/accounts/pg-vault/kit' && served !== undefined) return Promise.resolve(json(200, served));
      return Promise.resolve(json(404, { error: { code: 'not_found', message: 'pg-vault has no key ceremony yet' } }));
    },
    stdoutIsTTY: false,
    // A day after the kit was issued: within kit open's default --max-age, so no staleness warning.
    now: () => new Date('2025-06-02T10:00:00.000Z'),
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  // I3: a share is never printed, whatever the command and outcome.
  for (const share of [...Object.values(main.shares), ...Object.values(other.shares)]) {
    expect(stdout + stderr).not.toContain(share.split('.')[1]!.slice(10, 40));
  }
  return { code, stdout, stderr };
}

const sharesFile = (shares: Record<string, string>) => {
  const path = join(work, `ceremony-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ account: 'pg-vault', shares }));
  return path;
};
const read = (path: string) => readFileSync(path, 'utf8');
const mode = (path: string) => statSync(path).mode & 0o777;

beforeAll(async () => {
  main = await ceremony();
  other = await ceremony();
});

beforeEach(() => {
  served = main.kit;
  sent = [];
  work = mkdtempSync(join(tmpdir(), 'bg-kit-export-'));
});

describe('kit export', () => {
  it('writes sealed.json (the kit document, 0600) in a 0700 dir, one envelope per custodian and README.txt', async () => {
    const out = join(work, 'kit');
    const result = await run('kit', 'export', 'pg-vault', '--out', out, '--json');
    expect(result.code).toBe(0);
    expect(sent).toEqual(['/v1/accounts/pg-vault/kit']);
    const names = ['sealed.json', 'envelope-carol.html', 'envelope-dave.html', 'envelope-erin.html', 'README.txt'];
    expect(JSON.parse(result.stdout)).toEqual({ dir: out, kitSerial: main.kit.kitSerial, files: names.map((n) => join(out, n)) });
    expect(readdirSync(out).sort()).toEqual([...names].sort());
    expect(mode(out)).toBe(0o700);
    for (const name of names) expect(mode(join(out, name)), name).toBe(0o600);
    expect(JSON.parse(read(join(out, 'sealed.json')))).toEqual(main.kit);
  });

  it('without --shares: each envelope has serial, quorum, custodian, fingerprint, instructions, and a marked box instead of a share', async () => {
    const out = join(work, 'kit');
    const result = await run('kit', 'export', 'pg-vault', '--out', out);
    expect(result.stderr).toContain('warning: the envelopes hold no share');
    main.kit.custodians.forEach((custodian) => {
      const html = read(join(out, `envelope-${custodian.name}.html`));
      for (const text of [main.kit.kitSerial, 'pg-vault', 'bg_vault', 'prod-pg (postgres, 127.0.0.1:5432)', '2 of 3 custodians', custodian.fingerprint]) {
        expect(html, text).toContain(text);
      }
      expect(html).toContain(`envelope of ${custodian.name}`);
      expect(html).toContain('breakglass kit open --sealed sealed.json --share-file share-carol.txt --share-file share-dave.txt');
      expect(html).toContain('must be rotated');
      expect(html).toContain('WARNING: this envelope holds NO share');
      expect(html).toContain(`Attach or write the share of ${custodian.name} here`);
      expect(html).not.toContain('<svg');
      for (const share of Object.values(main.shares)) expect(html).not.toContain(share.split('.')[1]!.slice(0, 30));
    });
    expect(result.stdout).toContain('(no share)');
  });

  it('with --shares: each envelope carries its own share as grouped text and QR code, and no other share', async () => {
    const out = join(work, 'kit');
    const ceremonyFile = sharesFile(main.shares);
    const result = await run('kit', 'export', 'pg-vault', '--out', out, '--shares', ceremonyFile);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`now holds every custodian's share`);
    for (const holder of holders) {
      const html = read(join(out, `envelope-${holder}.html`));
      expect(html).toContain(await shareQrSvg(main.shares[holder]!));
      for (const line of shareLines(main.shares[holder]!)) expect(html).toContain(line);
      expect(html).not.toContain('holds NO share');
      for (const otherHolder of holders.filter((h) => h !== holder)) {
        expect(html).not.toContain(await shareQrSvg(main.shares[otherHolder]!));
        expect(html).not.toContain(shareLines(main.shares[otherHolder]!).at(-2)!);
      }
    }
    for (const name of ['sealed.json', 'README.txt']) {
      for (const share of Object.values(main.shares)) expect(read(join(out, name))).not.toContain(share.split('.')[1]!.slice(0, 30));
    }
  });

  it('an envelope is self-contained: no script, no external resource, a CSP that forbids fetching', async () => {
    const out = join(work, 'kit');
    await run('kit', 'export', 'pg-vault', '--out', out, '--shares', sharesFile(main.shares));
    const html = read(join(out, 'envelope-carol.html'));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).toContain('@media print');
    const withoutSvgNamespace = html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '');
    expect(withoutSvgNamespace).not.toMatch(/<script|<link|<img|<iframe|src=|url\(|https?:\/\//i);
  });

  it('the exported kit opens offline with the shares as a custodian types them from the envelope', async () => {
    const out = join(work, 'kit');
    await run('kit', 'export', 'pg-vault', '--out', out, '--shares', sharesFile(main.shares));
    const typed = (holder: string) => {
      const path = join(work, `share-${holder}.txt`);
      writeFileSync(path, shareLines(main.shares[holder]!).join('\n'));
      return path;
    };
    const result = await run('kit', 'open', '--sealed', join(out, 'sealed.json'), '--share-file', typed('erin'), '--share-file', typed('dave'), '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ username: 'bg_vault', password });
  });

  it('README.txt has the kit facts and the plain-text instructions', async () => {
    const out = join(work, 'kit');
    await run('kit', 'export', 'pg-vault', '--out', out);
    const readme = read(join(out, 'README.txt'));
    for (const text of [main.kit.kitSerial, '2 of 3 custodians', 'HOW TO OPEN THE KIT OFFLINE', 'AFTERWARDS', 'breakglass kit open --sealed sealed.json', 'envelope-erin.html']) {
      expect(readme).toContain(text);
    }
    expect(readme).not.toContain('<');
  });

  it('a wrong --shares file writes nothing: another ceremony, a missing custodian, a share under the wrong name', async () => {
    const out = join(work, 'kit');
    const cases: [Record<string, string>, string][] = [
      [other.shares, 'is from an older ceremony'],
      [{ carol: main.shares['carol']!, dave: main.shares['dave']! }, 'has no share for erin'],
      [{ ...main.shares, carol: main.shares['dave']! }, 'the share filed under carol belongs to dave'],
      [{ ...main.shares, mallory: main.shares['carol']! }, 'mallory is not a custodian of this kit'],
    ];
    for (const [shares, message] of cases) {
      const result = await run('kit', 'export', 'pg-vault', '--out', out, '--shares', sharesFile(shares));
      expect(result.code, message).toBe(2);
      expect(result.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    }
    writeFileSync(join(work, 'single.txt'), main.shares['carol']!);
    expect((await run('kit', 'export', 'pg-vault', '--out', out, '--shares', join(work, 'single.txt'))).stderr).toContain('is not the output of `breakglass ceremony pg-vault --json`');
  });

  it('refuses to put shares in a directory other users can read; warns without shares', async () => {
    const out = join(work, 'open-dir');
    mkdirSync(out);
    chmodSync(out, 0o755);
    const refused = await run('kit', 'export', 'pg-vault', '--out', out, '--shares', sharesFile(main.shares));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is accessible to other users (mode 0755)');
    expect(readdirSync(out)).toEqual([]);
    const warned = await run('kit', 'export', 'pg-vault', '--out', out);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('warning: ' + out + ' is accessible to other users');
  });

  it('404 (no ceremony yet) exits 4 and writes nothing; an inconsistent kit from the server exits 1', async () => {
    served = undefined;
    const out = join(work, 'kit');
    const missing = await run('kit', 'export', 'pg-vault', '--out', out);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('pg-vault has no key ceremony yet');
    served = { ...main.kit, kid: other.kid };
    const inconsistent = await run('kit', 'export', 'pg-vault', '--out', out);
    expect(inconsistent.code).toBe(1);
    expect(inconsistent.stderr).toContain("the server's kit of pg-vault is not consistent");
    expect(existsSync(out)).toBe(false);
  });
});

describe('kit status', () => {
  it('shows the current serial, version and issue time only', async () => {
    const result = await run('kit', 'status', 'pg-vault', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ account: 'pg-vault', kitSerial: main.kit.kitSerial, secretVersion: 3, issuedAt: main.kit.issuedAt });
    const human = await run('kit', 'status', 'pg-vault');
    expect(human.stdout).toContain(`serial ${main.kit.kitSerial} (secret version 3`);
    expect(human.stdout).not.toContain(main.kit.sealed);
  });

  it('a sealed.json of the current serial is "current"; after a rotation it is STALE and exits 1', async () => {
    const file = join(work, 'sealed.json');
    writeFileSync(file, JSON.stringify(main.kit));
    const current = await run('kit', 'status', 'pg-vault', '--sealed', file);
    expect(current.code).toBe(0);
    expect(current.stdout).toContain('current');
    served = main.kitAt(4);
    const stale = await run('kit', 'status', 'pg-vault', '--sealed', file);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain(`STALE: this sealed file is serial ${main.kit.kitSerial}, the current one is ${main.kid}.4 (re-export the kit)`);
    expect(stale.stderr).toContain('the envelopes stay valid');
    const staleJson = await run('kit', 'status', 'pg-vault', '--sealed', file, '--json');
    expect(JSON.parse(staleJson.stdout).sealed).toEqual({ file, kitSerial: main.kit.kitSerial, current: false });
  });

  it('a sealed.json of another account is a usage error; nothing is asked', async () => {
    const file = join(work, 'sealed.json');
    writeFileSync(file, JSON.stringify({ ...main.kit, account: 'mysql-vault' }));
    const result = await run('kit', 'status', 'pg-vault', '--sealed', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is the kit of mysql-vault, not of pg-vault');
    expect(sent).toEqual([]);
  });
});

describe('kit --help', () => {
  it('each kit command has a description and an Example', async () => {
    for (const path of [['kit'], ['kit', 'export'], ['kit', 'open'], ['kit', 'status']]) {
      const result = await run(...path, '--help');
      expect(result.code, path.join(' ')).toBe(0);
      expect(result.stdout, path.join(' ')).toContain('Example:');
      expect(result.stdout).toContain('breakglass kit');
    }
    expect((await run('kit', 'open', '--help')).stdout).toContain('--share-file <file>');
    expect((await run('kit', 'export', '--help')).stdout).toContain('--shares <file>');
  });
});
