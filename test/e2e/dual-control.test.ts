/**
 * Cryptographic dual control through the built CLI: key ceremony, a grant that waits for 2 of 3
 * custodians, refused shares, release, verified rotation sealed to the custodians' key, and the
 * offline kit opened with no server. Invariants I3 and I4.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import { encodeShare, loadKeyFile, openWithRootKey } from '../../src/crypto/index.js';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { eventually, tryLogin } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const shortAccount = `  - name: pg-vault-short
    target: prod-pg
    mode: prestaged
    role: bg_vault_short
    policy: p0
    approval: { mode: custodians, threshold: 2, window: 1s }
    custodians: [carol, dave, erin]
`;

const stagingOf = (list: { accounts: { name: string; staging: string }[] }, name: string) => list.accounts.find((a) => a.name === name)?.staging;

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

/**
 * \`extra\` declares more accounts. Nothing in these tests has to happen inside a quorum window:
 * the shares go to requests with a 30 minute window, and the expiry is shown on an account whose
 * 1 s window is over before anyone could act, whatever the load on the machine.
 */
const catalog = (port: number, user: string, window = '30m', offline = false, extra = '') => `targets:
  - { name: prod-pg, type: postgres, host: 127.0.0.1, port: ${port}, database: postgres, user: ${user}, passwordEnv: PG_ADMIN_PASSWORD }
policies:
  - { name: p0, conditions: [outage], approval: { mode: post-hoc }, defaultTtl: 15m, maxTtl: 1h }
accounts:
  - name: pg-vault
    target: prod-pg
    mode: prestaged
    role: bg_vault
    policy: p0
    approval: { mode: custodians, threshold: 2, window: ${window}, offlineAccess: ${offline} }
    custodians: [carol, dave, erin]
${extra}users:
  - { name: alice, roles: [responder] }
  - { name: bob, roles: [incident-owner] }
  - { name: carol, roles: [custodian] }
  - { name: dave, roles: [custodian] }
  - { name: erin, roles: [custodian] }
`;

describe.skipIf(binaries.skip)('dual control, end to end', () => {
  let cluster: PgCluster;
  let server: ServeProcess | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  const tokens: Record<string, string> = {};
  const cli = (args: string[], as?: string) => runCliProcess(args, { ...env, ...(as ? { BREAKGLASS_TOKEN: tokens[as]! } : {}) });
  const json = (args: string[], as?: string) => {
    const r = cli([...args, '--json'], as);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as any;
  };
  /** The admin invites, the user redeems the one-time code (no token needed) for a token of their own. */
  const enrolled = (user: string): string => {
    const redeemed = runCliProcess(['token', 'redeem', json(['user', 'invite', user]).code, '--json'], { ...env, BREAKGLASS_TOKEN: '' });
    expect(redeemed.code, redeemed.stderr).toBe(0);
    return (JSON.parse(redeemed.stdout) as { token: string }).token;
  };
  const shareFile = (name: string, text: string) => {
    const file = join(dataDir, `${name}.share`);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const staged = () => eventually(async () => stagingOf(json(['accounts']), 'pg-vault') === 'staged', 20_000, 'staging sealed to the custodians');

  beforeAll(async () => {
    cluster = await startPgCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'bg-dual-'));
    const port = await freePort();
    env = { BREAKGLASS_ADDR: `http://127.0.0.1:${port}`, PG_ADMIN_PASSWORD: cluster.adminPassword, BREAKGLASS_TOKEN: '' };
    const init = cli(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    tokens['admin'] = env.BREAKGLASS_TOKEN = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    server = await serveProcess(dataDir, port);
    writeFileSync(join(dataDir, 'catalog.yaml'), catalog(cluster.port, cluster.adminUser, '30m', true));
    expect(cli(['apply', '-f', join(dataDir, 'catalog.yaml')]).code).toBe(0);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) tokens[user] = enrolled(user);
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it('I4: a grant waits for 2 of 3 custodians; wrong, foreign and repeated shares count for nothing; the kit opens offline', async () => {
    const { shares } = json(['ceremony', 'pg-vault']);
    expect(Object.keys(shares).sort()).toEqual(['carol', 'dave', 'erin']);
    const files = Object.fromEntries(Object.entries(shares as Record<string, string>).map(([who, text]) => [who, shareFile(who, text)]));
    await staged();

    const grant = json(['invoke', 'pg-vault', '--condition', 'outage', '--reason', 'vault down', '--incident', 'INC-5', '--ttl', '10m'], 'alice');
    expect(grant.state).toBe('awaiting-quorum');
    expect(cli(['reveal', grant.id], 'alice').code).not.toBe(0);

    // A custodian cannot present someone else's share, a corrupt one, or their own twice.
    expect(cli(['share', 'submit', grant.id, '--share-file', files['erin']!], 'dave').code).toBe(5);
    const text = readFileSync(files['carol']!, 'utf8');
    const corrupt = shareFile('corrupt', text.slice(0, 40) + (text[40] === 'A' ? 'B' : 'A') + text.slice(41));
    expect(cli(['share', 'submit', grant.id, '--share-file', corrupt], 'carol').code).toBe(2);
    expect(cli(['share', 'submit', grant.id, '--share-file', files['carol']!], 'alice').code).toBe(5);
    const first = json(['share', 'submit', grant.id, '--share-file', files['carol']!], 'carol');
    expect(first).toMatchObject({ presented: 1, threshold: 2, grant: { state: 'awaiting-quorum' } });
    expect(cli(['share', 'submit', grant.id, '--share-file', files['carol']!], 'carol').code).not.toBe(0);
    expect(json(['grant', 'show', grant.id], 'alice').state).toBe('awaiting-quorum');

    const second = json(['share', 'submit', grant.id, '--share-file', files['dave']!], 'dave');
    expect(second.grant.state).toBe('active');
    const credential = json(['reveal', grant.id], 'alice');
    const session = (await tryLogin(cluster, 'bg_vault', credential.password)) as pg.Client;
    expect(session).toBeInstanceOf(pg.Client);

    expect(cli(['end', grant.id], 'alice').code).toBe(0);
    await eventually(async () => json(['grant', 'show', grant.id], 'alice').state === 'awaiting-certification', 30_000, 'revocation and rotation');
    await expect(session.query('select 1')).rejects.toThrow();
    expect(await tryLogin(cluster, 'bg_vault', credential.password)).toBe('28P01');
    expect(json(['certify', grant.id, '--necessary', 'yes', '--scoped', 'yes', '--removed', 'yes', '--note', 'ok'], 'bob').state).toBe('closed');

    // I3: the server's own output never carried either secret or a share.
    for (const secret of [credential.password, ...Object.values(shares as Record<string, string>).map((t) => t.slice(10, 60))]) {
      expect(server!.output()).not.toContain(secret);
    }

    // The offline kit: k shares open the rotated secret with no server; k-1 do not.
    const kitDir = join(dataDir, 'kit');
    expect(cli(['kit', 'export', 'pg-vault', '--out', kitDir]).code).toBe(0);
    expect(readdirSync(kitDir)).toEqual(expect.arrayContaining(['sealed.json']));
    await server!.stop();
    server = undefined;
    const opened = runCliProcess(['kit', 'open', '--sealed', join(kitDir, 'sealed.json'), '--share-file', files['carol']!, '--share-file', files['erin']!, '--json'], { BREAKGLASS_ADDR: 'http://127.0.0.1:9' });
    expect(opened.code, opened.stderr).toBe(0);
    const rotated = JSON.parse(opened.stdout) as { username: string; password: string };
    expect(rotated.username).toBe('bg_vault');
    expect(rotated.password).not.toBe(credential.password);
    // Offline access: the account stands ready, so the opened secret logs in with Breakglass down.
    const offline = await tryLogin(cluster, 'bg_vault', rotated.password);
    expect(offline).toBeInstanceOf(pg.Client);
    await (offline as pg.Client).end();
    const short = runCliProcess(['kit', 'open', '--sealed', join(kitDir, 'sealed.json'), '--share-file', files['carol']!, '--json']);
    expect(short.code).not.toBe(0);
    expect(short.stdout).not.toContain(rotated.password);

    // I4/I3: the database plus the root key file reveal neither secret.
    for (const file of readdirSync(dataDir).filter((f) => f.startsWith('breakglass.db'))) {
      const bytes = readFileSync(join(dataDir, file));
      expect(bytes.includes(Buffer.from(rotated.password)), file).toBe(false);
      expect(bytes.includes(Buffer.from(credential.password)), file).toBe(false);
    }
    const db = new Database(join(dataDir, 'breakglass.db'), { readonly: true });
    const row = db.prepare('select id, secret_sealed, secret_version from accounts').get() as { id: string; secret_sealed: string; secret_version: number };
    const grantRow = db.prepare('select credential_sealed from grants where id = ?').get(grant.id) as { credential_sealed: string | null };
    db.close();
    expect(grantRow.credential_sealed).toBeNull();
    const rootKey = loadKeyFile(join(dataDir, 'root.key'));
    expect(() => openWithRootKey(rootKey, row.secret_sealed, `account:${row.id}:secret:v${row.secret_version}`)).toThrow();
  });
});

describe.skipIf(binaries.skip)('dual control: ceremonies and windows', () => {
  let cluster: PgCluster;
  let server: ServeProcess;
  let dataDir: string;
  let env: Record<string, string>;
  const tokens: Record<string, string> = {};
  const cli = (args: string[], as?: string) => runCliProcess(args, { ...env, ...(as ? { BREAKGLASS_TOKEN: tokens[as]! } : {}) });
  const json = (args: string[], as?: string) => {
    const r = cli([...args, '--json'], as);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as any;
  };
  /** The admin invites, the user redeems the one-time code (no token needed) for a token of their own. */
  const enrolled = (user: string): string => {
    const redeemed = runCliProcess(['token', 'redeem', json(['user', 'invite', user]).code, '--json'], { ...env, BREAKGLASS_TOKEN: '' });
    expect(redeemed.code, redeemed.stderr).toBe(0);
    return (JSON.parse(redeemed.stdout) as { token: string }).token;
  };

  beforeAll(async () => {
    cluster = await startPgCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'bg-dual2-'));
    const port = await freePort();
    env = { BREAKGLASS_ADDR: `http://127.0.0.1:${port}`, PG_ADMIN_PASSWORD: cluster.adminPassword, BREAKGLASS_TOKEN: '' };
    tokens['admin'] = env.BREAKGLASS_TOKEN = (JSON.parse(cli(['init', '--data-dir', dataDir, '--json']).stdout) as { adminToken: string }).adminToken;
    server = await serveProcess(dataDir, port);
    writeFileSync(join(dataDir, 'catalog.yaml'), catalog(cluster.port, cluster.adminUser, '30m', false, shortAccount));
    expect(cli(['apply', '-f', join(dataDir, 'catalog.yaml')]).code).toBe(0);
    for (const user of ['alice', 'carol', 'dave']) tokens[user] = enrolled(user);
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it('a share encrypted to a custodian\'s own key is opened with their key file only', async () => {
    const keyFile = join(dataDir, 'carol.key');
    const keygen = JSON.parse(cli(['custodian', 'keygen', '--out', keyFile, '--json']).stdout) as { recipient: string };
    writeFileSync(
      join(dataDir, 'catalog.yaml'),
      catalog(cluster.port, cluster.adminUser, '30m', false, shortAccount).replace('{ name: carol, roles: [custodian] }', `{ name: carol, roles: [custodian], recipient: ${keygen.recipient} }`),
    );
    expect(cli(['apply', '-f', join(dataDir, 'catalog.yaml')]).code).toBe(0);
    const shares = json(['ceremony', 'pg-vault']).shares as Record<string, string>;
    expect(shares['carol']).toMatch(/^bgshare1e\.carol\./);
    expect(shares['dave']).toMatch(/^bgshare1\./);
    await eventually(async () => stagingOf(json(['accounts']), 'pg-vault') === 'staged', 20_000, 'staging');
    const grant = json(['invoke', 'pg-vault', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-8', '--ttl', '5m'], 'alice');
    const file = join(dataDir, 'carol-enc.share');
    writeFileSync(file, shares['carol']!);
    expect(cli(['share', 'submit', grant.id, '--share-file', file], 'carol').code).toBe(2);
    const wrongKey = join(dataDir, 'other.key');
    cli(['custodian', 'keygen', '--out', wrongKey]);
    expect(cli(['share', 'submit', grant.id, '--share-file', file, '--identity', wrongKey], 'carol').code).toBe(2);
    expect(json(['share', 'submit', grant.id, '--share-file', file, '--identity', keyFile], 'carol').presented).toBe(1);
    // Offline, the custodian decrypts their share for `kit open` with their own key file.
    const plain = join(dataDir, 'carol-plain.share');
    expect(cli(['custodian', 'decrypt', '--share-file', file, '--identity', keyFile, '--account', 'pg-vault', '--out', plain]).code).toBe(0);
    expect(readFileSync(plain, 'utf8')).toMatch(/^bgshare1\./);
    // The requester withdraws the request: the account is free again.
    expect(json(['cancel', grant.id], 'alice').state).toBe('cancelled');
  });

  it('a new ceremony makes the old shares useless; a request expires when its window closes', async () => {
    const old = json(['ceremony', 'pg-vault']).shares as Record<string, string>;
    const fresh = json(['ceremony', 'pg-vault']).shares as Record<string, string>;
    await eventually(async () => stagingOf(json(['accounts']), 'pg-vault') === 'staged', 20_000, 'staging');
    const file = (name: string, text: string) => {
      const path = join(dataDir, name);
      writeFileSync(path, text);
      return path;
    };
    const grant = json(['invoke', 'pg-vault', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-6', '--ttl', '5m'], 'alice');
    // A share of another account is refused by name, before anything else.
    const foreign = encodeShare({ kid: 'kid-of-another', account: 'pg-other', holder: 'dave', threshold: 2, total: 3, share: randomBytes(33) });
    const wrongAccount = cli(['share', 'submit', grant.id, '--share-file', file('foreign-dave', foreign)], 'dave');
    expect(wrongAccount.code).toBe(2);
    expect(wrongAccount.stderr).toMatch(/for account "pg-other"/);
    const stale = cli(['share', 'submit', grant.id, '--share-file', file('old-dave', old['dave']!)], 'dave');
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/another key ceremony/);
    expect(json(['share', 'submit', grant.id, '--share-file', file('new-dave', fresh['dave']!)], 'dave').presented).toBe(1);
    expect(json(['cancel', grant.id], 'alice').state).toBe('cancelled');

    // A request whose window closes expires, and takes no share after that.
    const short = json(['ceremony', 'pg-vault-short']).shares as Record<string, string>;
    await eventually(async () => stagingOf(json(['accounts']), 'pg-vault-short') === 'staged', 20_000, 'staging');
    const late = json(['invoke', 'pg-vault-short', '--condition', 'outage', '--reason', 'r', '--incident', 'INC-7', '--ttl', '5m'], 'alice');
    expect(late.state).toBe('awaiting-quorum');
    await eventually(async () => json(['grant', 'show', late.id], 'alice').state === 'expired', 30_000, 'quorum window expiry');
    const refused = cli(['share', 'submit', late.id, '--share-file', file('short-dave', short['dave']!)], 'dave');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no longer takes shares/);

    // The chain records who presented shares and who was refused, never a share.
    const bundle = join(dataDir, 'audit.jsonl');
    expect(cli(['audit', 'export', '--out', bundle]).code).toBe(0);
    const text = readFileSync(bundle, 'utf8');
    expect(text).toContain('grant.share-presented');
    expect(text).toContain('grant.share-refused');
    for (const share of [...Object.values(old), ...Object.values(fresh), ...Object.values(short)]) expect(text).not.toContain(share.slice(10, 60));
  });
});
