/**
 * issue 12 (P4): the README's dual-control ceremony, step by step, through the built CLI, with
 * custodians who registered keys: `custodian keygen` → `users[].recipient` → `apply` →
 * `ceremony pg-vault --json > shares.json` → `kit export pg-vault --out kit/ --shares
 * shares.json` → with Breakglass down, `kit open` with the shares as typed from two envelopes
 * and those two custodians' key files.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { eventually, tryLogin } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

/** The README's example, with the recipients the custodians sent (erin has none: plain share). */
const catalog = (port: number, user: string, recipients: Record<string, string>) => `targets:
  - { name: prod-pg, type: postgres, host: 127.0.0.1, port: ${port}, database: postgres, user: ${user}, passwordEnv: PG_ADMIN_PASSWORD }
policies:
  - { name: p0, conditions: [outage], approval: { mode: post-hoc }, defaultTtl: 15m, maxTtl: 1h }
accounts:
  - name: pg-vault
    target: prod-pg
    mode: prestaged
    role: bg_vault
    policy: p0
    approval: { mode: custodians, threshold: 2, offlineAccess: true }
    custodians: [carol, dave, erin]
users:
  - { name: carol, roles: [custodian], recipient: "${recipients['carol']}" }
  - { name: dave, roles: [custodian], recipient: "${recipients['dave']}" }
  - { name: erin, roles: [custodian] }
`;

/** The share as a custodian types it from their printed envelope: the grouped lines, joined. */
function shareFromEnvelope(html: string): string {
  const table = /<table class="share-text">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<td class="mono">([^<]*)<\/td>/g)].map((m) => m[1]).join('\n');
}

describe.skipIf(binaries.skip)('issue 12 (P4): the README ceremony with custodians who registered keys', () => {
  let cluster: PgCluster;
  let server: ServeProcess | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCliProcess(args, env);

  beforeAll(async () => {
    cluster = await startPgCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'bg-p4-ceremony-'));
    const port = await freePort();
    env = { BREAKGLASS_ADDR: `http://127.0.0.1:${port}`, PG_ADMIN_PASSWORD: cluster.adminPassword, BREAKGLASS_TOKEN: '' };
    const init = cli(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    env.BREAKGLASS_TOKEN = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    server = await serveProcess(dataDir, port);
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it('keygen → recipient → ceremony → kit export --shares → kit open with 2 custodians\' key files, no server', async () => {
    // 1. Each custodian who can makes a key pair and sends the printed recipient to the admin.
    const recipients: Record<string, string> = {};
    const keyFiles: Record<string, string> = {};
    for (const holder of ['carol', 'dave']) {
      keyFiles[holder] = join(dataDir, `${holder}.breakglass-custodian.key`);
      const keygen = cli(['custodian', 'keygen', '--out', keyFiles[holder], '--json']);
      expect(keygen.code, keygen.stderr).toBe(0);
      recipients[holder] = (JSON.parse(keygen.stdout) as { recipient: string }).recipient;
    }
    writeFileSync(join(dataDir, 'catalog.yaml'), catalog(cluster.port, cluster.adminUser, recipients));
    const applied = cli(['apply', '-f', join(dataDir, 'catalog.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);

    // 2. breakglass ceremony pg-vault --json > shares.json
    const ceremony = cli(['ceremony', 'pg-vault', '--json']);
    expect(ceremony.code, ceremony.stderr).toBe(0);
    const sharesJson = join(dataDir, 'shares.json');
    writeFileSync(sharesJson, ceremony.stdout, { mode: 0o600 });
    const { shares } = JSON.parse(ceremony.stdout) as { shares: Record<string, string> };
    expect(shares['carol']).toMatch(/^bgshare1e\.carol\./);
    expect(shares['dave']).toMatch(/^bgshare1e\.dave\./);
    expect(shares['erin']).toMatch(/^bgshare1\./);
    await eventually(async () => {
      const list = JSON.parse(cli(['accounts', '--json']).stdout) as { accounts: { name: string; staging: string }[] };
      return list.accounts.find((a) => a.name === 'pg-vault')?.staging === 'staged';
    }, 30_000, 'staging sealed to the custodians');

    // 3. breakglass kit export pg-vault --out kit/ --shares shares.json
    const kitDir = join(dataDir, 'kit');
    const exported = cli(['kit', 'export', 'pg-vault', '--out', kitDir, '--shares', sharesJson]);
    expect(exported.code, exported.stderr).toBe(0);

    // Breakglass is down: two custodians type their share from their envelope and bring their key file.
    await server!.stop();
    server = undefined;
    const typed: Record<string, string> = {};
    for (const holder of ['carol', 'dave']) {
      typed[holder] = join(dataDir, `share-${holder}.txt`);
      const share = shareFromEnvelope(readFileSync(join(kitDir, `envelope-${holder}.html`), 'utf8'));
      expect(share.replace(/\s+/g, '')).toBe(shares[holder]);
      writeFileSync(typed[holder], `${share}\n`, { mode: 0o600 });
    }
    const open = (...extra: string[]) =>
      runCliProcess(['kit', 'open', '--sealed', join(kitDir, 'sealed.json'), '--share-file', typed['carol']!, '--share-file', typed['dave']!, ...extra, '--json'], { BREAKGLASS_ADDR: 'http://127.0.0.1:9' });
    expect(open().code).toBe(2); // encrypted shares without the custodians' key files
    const opened = open('--identity', keyFiles['carol']!, '--identity', keyFiles['dave']!);
    expect(opened.code, opened.stderr).toBe(0);
    const credential = JSON.parse(opened.stdout) as { username: string; password: string; warnings?: string[] };
    expect(credential.username).toBe('bg_vault');
    expect(credential.warnings).toBeUndefined();
    // offlineAccess: the opened credential logs in on the real server.
    const session = await tryLogin(cluster, 'bg_vault', credential.password);
    expect(session).toBeInstanceOf(pg.Client);
    await (session as pg.Client).end();
  });
});
