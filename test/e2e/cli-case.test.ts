/**
 * The user story through the built `breakglass` CLI, with the catalog file of the
 * contract, a real server process and a private scram-sha-256 PostgreSQL cluster.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { eventually, tryLogin } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());

const catalog = (port: number, user: string, policy = 'p0') => `targets:
  - name: prod-pg
    type: postgres
    host: 127.0.0.1
    port: ${port}
    database: postgres
    user: ${user}
    passwordEnv: PG_ADMIN_PASSWORD   # read at apply time, stored sealed
policies:
  - name: p0
    conditions: [outage, lockout, security-incident]
    incidentPattern: "^INC-[0-9]+$"
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - name: pg-breakglass
    target: prod-pg
    mode: prestaged
    role: bg_admin
    policy: ${policy}
users:
  - { name: alice, roles: [responder] }
  - { name: bob, roles: [incident-owner] }
`;

describe.skipIf(binaries.skip)('breakglass CLI, a whole case', () => {
  let cluster: PgCluster;
  let server: ServeProcess | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  const cli = (args: string[], token?: string) => runCliProcess(args, { ...env, ...(token ? { BREAKGLASS_TOKEN: token } : {}) });
  const json = (args: string[], token?: string) => {
    const result = cli([...args, '--json'], token);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as any;
  };

  beforeAll(async () => {
    cluster = await startPgCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
    const port = await freePort();
    env = { BREAKGLASS_ADDR: `http://127.0.0.1:${port}`, PG_ADMIN_PASSWORD: cluster.adminPassword, BREAKGLASS_TOKEN: '' };
    const init = cli(['init', '--data-dir', dataDir, '--json']);
    expect(init.code, init.stderr).toBe(0);
    env.BREAKGLASS_TOKEN = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    expect(statSync(join(dataDir, 'root.key')).mode & 0o777).toBe(0o600);
    server = await serveProcess(dataDir, port);
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.stop();
  });

  it('apply → invoke → reveal once → login → end → revoked and rotated → certify → closed → audit verify', async () => {
    const bad = join(dataDir, 'bad.yaml');
    writeFileSync(bad, catalog(cluster.port, cluster.adminUser, 'p9'));
    const refused = cli(['apply', '-f', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('accounts[0].policy: unknown policy "p9"');
    expect(json(['accounts'])).toEqual({ accounts: [] });

    const file = join(dataDir, 'breakglass.yaml');
    writeFileSync(file, catalog(cluster.port, cluster.adminUser));
    const applied = cli(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    const accounts = json(['accounts']);
    expect(accounts.accounts).toEqual([expect.objectContaining({ name: 'pg-breakglass', staging: 'staged' })]);

    // People enrol themselves: the admin issues a one-time code, the user redeems it with no token.
    const enrolled = (user: string): string => {
      const invite = json(['user', 'invite', user]);
      expect(Object.keys(invite).sort()).toEqual(['code', 'expiresAt']);
      const redeemed = runCliProcess(['token', 'redeem', invite.code, '--ttl', '30d', '--json'], { ...env, BREAKGLASS_TOKEN: '' });
      expect(redeemed.code, redeemed.stderr).toBe(0);
      const issued = JSON.parse(redeemed.stdout) as { id: string; token: string; expiresAt: string };
      expect(Object.keys(issued).sort()).toEqual(['expiresAt', 'id', 'token']);
      return issued.token;
    };
    const alice: string = enrolled('alice');
    const bob: string = enrolled('bob');
    // No impersonation: the admin cannot mint a working token for a person.
    const impersonate = cli(['token', 'create', 'bob', '--json']);
    expect(impersonate.code).not.toBe(0);
    expect(impersonate.stderr).toContain('user invite');
    expect(json(['whoami'], bob)).toMatchObject({ user: 'bob', roles: ['incident-owner'] });

    const grant = json(['invoke', 'pg-breakglass', '--condition', 'outage', '--reason', 'primary down', '--incident', 'INC-1', '--ttl', '5m'], alice);
    expect(grant).toMatchObject({ state: 'active' });
    expect(grant.id).toMatch(/^gr_/);
    expect(new Date(grant.expiresAt).toISOString()).toBe(grant.expiresAt);

    const credential = json(['reveal', grant.id], alice);
    expect(Object.keys(credential).sort()).toEqual(['password', 'username']);
    expect(credential.username).toBe('bg_admin');
    const second = cli(['reveal', grant.id, '--json'], alice);
    expect(second.code).not.toBe(0);
    expect(second.stdout + second.stderr).not.toContain(credential.password);

    const session = (await tryLogin(cluster, 'bg_admin', credential.password)) as pg.Client;
    expect(session).toBeInstanceOf(pg.Client);

    expect(cli(['end', grant.id], alice).code).toBe(0);
    const done = await eventually(async () => {
      const shown = json(['grant', 'show', grant.id], alice);
      return shown.state === 'awaiting-certification' ? shown : undefined;
    }, 30_000, 'revocation and rotation');
    expect(done.revokedAt).toBeDefined();
    await expect(session.query('select 1')).rejects.toThrow();
    expect(await tryLogin(cluster, 'bg_admin', credential.password)).toBe('28P01');

    const self = cli(['certify', grant.id, '--necessary', 'yes', '--scoped', 'yes', '--removed', 'yes', '--note', 'mine'], alice);
    expect(self.code).toBe(5);
    const closed = json(['certify', grant.id, '--necessary', 'yes', '--scoped', 'yes', '--removed', 'yes', '--note', 'INC-1 review'], bob);
    expect(closed.state).toBe('closed');
    expect(json(['grant', 'show', grant.id], alice).state).toBe('closed');
    expect(json(['grants']).grants).toHaveLength(1);

    expect(cli(['audit', 'verify']).code).toBe(0);
    const bundle = join(dataDir, 'audit.jsonl');
    expect(cli(['audit', 'export', '--out', bundle]).code).toBe(0);
    expect(readFileSync(bundle, 'utf8')).not.toContain(credential.password);

    // I3: the server's own output never carried the secret.
    expect(server!.output()).not.toContain(credential.password);
    expect(server!.output()).not.toContain(cluster.adminPassword);

    await server!.stop();
    server = undefined;
    // Offline: no server, no database server.
    expect(cli(['audit', 'verify', '--file', bundle]).code).toBe(0);
    expect(cli(['audit', 'verify', '--data-dir', dataDir]).code).toBe(0);

    const db = new Database(join(dataDir, 'breakglass.db'));
    db.prepare(`update audit_events set actor = 'mallory' where seq = 3`).run();
    db.close();
    const broken = cli(['audit', 'verify', '--data-dir', dataDir]);
    expect(broken.code).toBe(3);
    expect(broken.stdout + broken.stderr).toMatch(/seq 3\b/);
  });
});
