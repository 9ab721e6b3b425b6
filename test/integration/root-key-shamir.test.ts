/**
 * The shamir seal (Vault-style): `init --seal shamir` prints k-of-n unseal shares once; the
 * server starts SEALED and answers only health, seal status and unseal until k valid distinct
 * shares arrive; then the full API works. Real store, real server, real CLI.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { initDataDir } from '../../src/app/init.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { auditEvents, call, tempDataDir } from './root-key-support.js';

// Each step runs the built CLI as a child process: a few seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

describe('shamir seal: a sealed server answers only status and unseal', () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close().catch(() => undefined);
  });

  it('K-1 shares keep it sealed, a wrong or repeated share is refused and not counted, K shares unseal and the API works', async () => {
    const dataDir = tempDataDir();
    const init = await initDataDir({ dataDir, seal: { mode: 'shamir', unsealShares: 5, unsealThreshold: 3 } });
    const shares = init.unsealShares!;
    expect(shares).toHaveLength(5);
    expect(init.seal).toBe('shamir');

    // Nothing of a share is stored: only fingerprints and the key check value.
    const descriptor = JSON.parse(readFileSync(join(dataDir, 'root-key.json'), 'utf8'));
    expect(descriptor).toMatchObject({ version: 1, seal: 'shamir', threshold: 3, shares: 5 });
    expect(Object.keys(descriptor).sort()).toEqual(['check', 'fingerprints', 'id', 'seal', 'set', 'shares', 'threshold', 'version']);
    expect(existsSync(join(dataDir, 'root.key'))).toBe(false);
    expect(statSync(join(dataDir, 'root-key.json')).mode & 0o777).toBe(0o600);
    for (const share of shares) expect(readFileSync(join(dataDir, 'root-key.json'), 'utf8')).not.toContain(share.split('.')[1]!);

    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false, schedulerPollMs: 200 });
    servers.push(server);
    const base = server.url;
    const token = init.adminToken;

    expect(server.sealStatus()).toEqual({ sealed: true, mode: 'shamir', threshold: 3, shares: 5, progress: 0 });
    expect(() => server.ctx).toThrow(/sealed/);
    expect(await call(base, 'GET', '/healthz')).toMatchObject({ status: 200 });
    expect(await call(base, 'GET', '/readyz')).toEqual({ status: 503, body: { status: 'sealed' } });
    expect((await call(base, 'GET', '/v1/sys/seal-status')).body).toEqual({ sealed: true, mode: 'shamir', threshold: 3, shares: 5, progress: 0 });
    for (const [method, path] of [['GET', '/v1/accounts'], ['POST', '/v1/apply'], ['GET', '/v1/audit/verify'], ['GET', '/docs'], ['GET', '/openapi.json']] as const) {
      const answer = await call(base, method, path, { token, ...(method === 'POST' ? { body: {} } : {}) });
      expect(answer.status, path).toBe(503);
      expect(answer.body.error.code, path).toBe('sealed');
    }

    const present = (share: string) => call(base, 'POST', '/v1/sys/unseal', { body: { share } });
    expect((await present(shares[0]!)).body).toMatchObject({ sealed: true, progress: 1 });

    const repeated = await present(shares[0]!);
    expect(repeated.status).toBe(409);
    expect(repeated.body.error.message).toMatch(/already presented/);

    const foreign = (await initDataDir({ dataDir: tempDataDir(), seal: { mode: 'shamir', unsealShares: 3, unsealThreshold: 2 } })).unsealShares![0]!;
    const wrong = await present(foreign);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(/another set/);

    const typo = shares[1]!.slice(0, 20) + (shares[1]![20] === 'x' ? 'y' : 'x') + shares[1]!.slice(21);
    expect((await present(typo)).body.error.message).toMatch(/checksum/);
    expect((await present('not a share')).status).toBe(400);
    expect((await call(base, 'POST', '/v1/sys/unseal', { body: {} })).status).toBe(400);

    // Refused shares did not count.
    expect((await call(base, 'GET', '/v1/sys/seal-status')).body.progress).toBe(1);
    expect((await present(shares[3]!)).body).toMatchObject({ sealed: true, progress: 2 });
    expect((await call(base, 'GET', '/v1/accounts', { token })).status).toBe(503);

    expect((await present(shares[4]!)).body).toEqual({ sealed: false, mode: 'shamir', threshold: 3, shares: 5, progress: 0 });
    expect(server.sealStatus().sealed).toBe(false);
    expect(await call(base, 'GET', '/readyz')).toMatchObject({ status: 200 });
    expect(await call(base, 'GET', '/v1/accounts', { token })).toEqual({ status: 200, body: { accounts: [] } });
    expect((await call(base, 'GET', '/v1/accounts')).status).toBe(401);
    expect((await call(base, 'GET', '/v1/audit/verify', { token })).body).toMatchObject({ ok: true });
    expect((await call(base, 'GET', '/v1/sys/seal-status')).body.sealed).toBe(false);
    expect((await call(base, 'GET', '/openapi.json')).body.paths).toHaveProperty(['/v1/sys/unseal']);
    expect((await present(shares[1]!)).body.sealed).toBe(false);
    await server.close();

    const events = await auditEvents(dataDir);
    const unsealed = events.find((e) => e.action === 'root-key.unsealed');
    expect(unsealed?.details).toMatchObject({ mode: 'shamir', threshold: 3, shares: 5, presented: [1, 4, 5], refused: 4 });
    const chain = JSON.stringify(events);
    for (const share of shares) expect(chain).not.toContain(share.split('.')[1]!);

    // A restart is sealed again.
    const again = await startServer({ dataDir, port: 0, host: '127.0.0.1', logger: false });
    servers.push(again);
    expect(again.sealStatus()).toMatchObject({ sealed: true, progress: 0 });
    await again.close();
  });

  it('init refuses a threshold that is not a quorum, before creating anything', async () => {
    const dataDir = tempDataDir();
    await expect(initDataDir({ dataDir, seal: { mode: 'shamir', unsealShares: 3, unsealThreshold: 4 } })).rejects.toMatchObject({ code: 'validation' });
    await expect(initDataDir({ dataDir, seal: { mode: 'keyfile', unsealShares: 3 } })).rejects.toMatchObject({ code: 'validation' });
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('shamir seal from the CLI: init --json, serve, operator seal-status and unseal', () => {
  let server: ServeProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('unseal reads one share from --share-file or stdin, never from argv', async () => {
    const dataDir = tempDataDir();
    const init = runCliProcess(['init', '--data-dir', dataDir, '--seal', 'shamir', '--unseal-shares', '3', '--unseal-threshold', '2', '--json']);
    expect(init.code, init.stderr).toBe(0);
    const printed = JSON.parse(init.stdout) as { adminToken: string; unsealShares: string[] };
    expect(Object.keys(printed).sort()).toEqual(['adminToken', 'unsealShares']);
    expect(printed.unsealShares).toHaveLength(3);

    const port = await freePort();
    server = await serveProcess(dataDir, port);
    const env = { BREAKGLASS_ADDR: server.url, BREAKGLASS_TOKEN: printed.adminToken };
    expect(server.output()).toMatch(/SEALED/);

    const status = runCliProcess(['operator', 'seal-status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ sealed: true, mode: 'shamir', threshold: 2, shares: 3, progress: 0 });

    const sealedCall = runCliProcess(['accounts'], env);
    expect(sealedCall.code).toBe(1);
    expect(sealedCall.stderr).toMatch(/sealed/);

    const file = join(dataDir, '..', 'share-1.txt');
    writeFileSync(file, `${printed.unsealShares[0]}\n`, { mode: 0o600 });
    const first = runCliProcess(['operator', 'unseal', '--share-file', file], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/1 of 2; still sealed/);

    const twoAtOnce = runCliProcess(['operator', 'unseal'], env, `${printed.unsealShares[1]}\n${printed.unsealShares[2]}\n`);
    expect(twoAtOnce.code).toBe(2);
    expect(twoAtOnce.stderr).toMatch(/one unseal share per invocation/);

    const second = runCliProcess(['operator', 'unseal', '--json'], env, `${printed.unsealShares[2]}\n`);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ sealed: false });

    const accounts = runCliProcess(['accounts', '--json'], env);
    expect(accounts.code, accounts.stderr).toBe(0);
    expect(runCliProcess(['operator', 'seal-status'], env).stdout).toMatch(/unsealed/);
    // The shares never reached the server's log.
    for (const share of printed.unsealShares) expect(server.output()).not.toContain(share.split('.')[1]!);
  });
});
